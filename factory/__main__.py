"""``python -m factory``: the same CLI as the ``factory`` console script."""

from factory.cli.app import app

app(prog_name="factory")
