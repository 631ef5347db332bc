"""The `factory` command line: a typer app whose command groups register on import, each a thin wrapper over factory.api."""

from factory.cli import build, recipe, train  # noqa: F401,E402  (register build/score/generate/demo, recipe and train commands)
from factory.cli.app import app  # noqa: F401
