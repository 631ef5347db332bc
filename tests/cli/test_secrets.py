"""Secrets never sit on argv or in a config: keys come from the environment or a file."""

from __future__ import annotations

from typer.testing import CliRunner

from factory.api.build import run_build
from factory.cli.app import app
from factory.errors import FactoryError
from factory.generate.backends.base import make_backend


def test_a_key_on_the_command_line_is_refused_without_echoing_it(store):
    for cmd in (["generate", "problems.jsonl", "--backend", "openai"], ["build", "rollouts"]):
        res = CliRunner().invoke(app, ["--store", str(store.root), *cmd, "--runtime", "api_key=sk-live-123"])
        assert res.exit_code == 1
        assert "OPENAI_API_KEY" in res.output and "api_key_file" in res.output
        assert "sk-live-123" not in res.output


def test_the_openai_backend_reads_its_key_from_a_file_or_the_environment(tmp_path, monkeypatch):
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-file\n")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert make_backend("openai", "m", api_key_file=str(key_file))._headers["Authorization"] == "Bearer sk-from-file"
    backend = make_backend("openai", "m")
    assert backend._headers["Authorization"] == "Bearer sk-from-env"
    assert "sk-from-env" not in str(backend.info())


def test_a_secret_in_a_config_is_refused_before_anything_is_built(store):
    import pytest

    with pytest.raises(FactoryError, match="backend_options.api_key holds a secret"):
        run_build(store, "rollouts", {"backend_options": {"api_key": "sk-x"}})
    assert store.list() == []
