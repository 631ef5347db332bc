"""`--executor ray` options reach the executor; a Ray address that does not answer fails fast."""

from __future__ import annotations

import socket
import time

import pytest
from typer.testing import CliRunner

from factory.cli.app import app
from factory.store import executors


def test_gpus_per_replica_reaches_the_ray_actors(store, monkeypatch):
    seen = {}

    def fake_run_ray(sw, todo, task, on_done, **options):
        seen.update(options)
        raise RuntimeError("stop here")

    monkeypatch.setattr(executors, "run_ray", fake_run_ray)
    cli = CliRunner()
    assert cli.invoke(app, ["--store", str(store.root), "build", "problems", "--set", "n=4"]).exit_code == 0
    res = cli.invoke(app, ["--store", str(store.root), "generate", "problems", "--executor", "ray",
                           "--gpus-per-replica", "1", "--num-workers", "3", "--ray-address", "auto", "-n", "1"])
    assert "stop here" in res.output
    assert seen == {"address": "auto", "num_workers": 3, "num_gpus_per_worker": 1.0}


def test_a_ray_address_that_does_not_answer_fails_within_a_bound():
    pytest.importorskip("ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port} does not answer"):
        executors._init_ray(f"127.0.0.1:{port}", 1, connect_timeout_s=5)
    assert time.monotonic() - start < 10
