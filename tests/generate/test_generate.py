"""factory generate: exact rows, content-addressed ids, and resume after kill -9 without re-spending tokens."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from factory import api
from factory.api.build import BuildOptions, run_build
from factory.generate.backends.scripted import ScriptedTeacherBackend
from factory.generate.generation import GenerateConfig, GenerationProgress, GenerationTask, ProblemReader
from factory.store.store import Store
from tests.support.paths import ROOT  # noqa: E402

NONDETERMINISTIC = ["latency_s"]  # wall-clock time per sample: the one column two runs may differ in
CFG = GenerateConfig(samples_per_prompt=4, prompts_per_shard=32)


def rows_of(snap) -> pa.Table:
    key = [("problem_id", "ascending"), ("sample_idx", "ascending")]
    return snap.to_arrow().drop_columns(NONDETERMINISTIC).sort_by(key)


def check_complete(snap, problem_ids: list[str], samples: int) -> None:
    """Exactly prompts x samples rows: every (problem_id, sample_idx) once, every problem present."""
    files = [str(p) for p in snap.files()]
    total, distinct, problems, lo, hi = duckdb.connect().execute(
        "select count(*), count(distinct (problem_id, sample_idx)), count(distinct problem_id), "
        f"min(sample_idx), max(sample_idx) from read_parquet({files})").fetchone()
    assert (total, distinct, problems, lo, hi) == (len(problem_ids) * samples, len(problem_ids) * samples,
                                                   len(problem_ids), 0, samples - 1)
    got = duckdb.connect().execute(f"select distinct problem_id from read_parquet({files})").fetchall()
    assert sorted(r[0] for r in got) == sorted(problem_ids)


@pytest.fixture
def problems(store):
    return run_build(store, "problems", {"n": 200}).snapshot


def test_generate_from_snapshot_exact_rows_and_cache_hit(store, problems):
    res = api.generate(store, "problems", CFG)
    snap = res.snapshot
    assert not res.cached and snap.kind == "rollouts" and snap.manifest["parents"] == {"problems": problems.ref}
    check_complete(snap, problems.to_arrow().column("problem_id").to_pylist(), 4)
    assert len(snap.files()) == 7  # ceil(200 / 32) shards, one part each
    assert snap.manifest["synthetic"] is True and snap.manifest["generation"]["sampling"]["n"] == 4
    # gold columns ride along for scoring, joined back to the right problem
    joined = duckdb.connect().execute(
        f"select count(*) from read_parquet({[str(p) for p in snap.files()]}) r "
        f"join read_parquet({[str(p) for p in problems.files()]}) p using (problem_id) "
        "where r.answer is not distinct from p.answer and r.prompt = p.prompt").fetchone()[0]
    assert joined == 800

    again = api.generate(store, "problems", CFG)
    assert again.cached and again.snapshot.ref == snap.ref


def test_generate_from_jsonl_file(store, tmp_path):
    path = tmp_path / "questions.jsonl"
    ids = [f"q{i:03d}" for i in range(37)]
    path.write_text("".join(json.dumps({"problem_id": i, "prompt": f"What is {n} + {n}?", "answer": str(2 * n)}) + "\n"
                            for n, i in enumerate(ids)))
    snap = api.generate(store, str(path), GenerateConfig(samples_per_prompt=3, prompts_per_shard=10)).snapshot
    check_complete(snap, ids, 3)
    assert store.get(snap.manifest["parents"]["problems"]).num_rows == 37


def test_same_config_same_id_and_data_changed_param_new_id(store, problems, tmp_path):
    first = api.generate(store, "problems", CFG).snapshot
    other = Store(tmp_path / "other")
    run_build(other, "problems", {"n": 200})
    second = api.generate(other, "problems", CFG).snapshot
    assert second.id == first.id
    assert rows_of(second).equals(rows_of(first))

    refs = {first.ref}
    for change in ({"temperature": 0.7}, {"top_p": 0.9}, {"max_tokens": 4096}, {"seed": 1},
                   {"samples_per_prompt": 2}, {"template": "r1_zero"}, {"backend_options": {"wrong_rate": 0.5}}):
        refs.add(api.generate(store, "problems", GenerateConfig(**{**CFG.__dict__, **change})).snapshot.ref)
    assert len(refs) == 8  # every sampling / model setting is part of the id


def test_interrupted_run_resumes_without_regenerating_finished_shards(store, problems, monkeypatch):
    calls: list[int] = []
    real = ScriptedTeacherBackend.generate

    def counting(self, requests, params):
        calls.append(len(requests))
        if len(calls) == 3 and not getattr(counting, "crashed", False):
            counting.crashed = True
            raise RuntimeError("simulated crash in shard 2")
        return real(self, requests, params)

    monkeypatch.setattr(ScriptedTeacherBackend, "generate", counting)
    with pytest.raises(RuntimeError, match="simulated crash"):
        api.generate(store, "problems", CFG)
    assert store.list("rollouts") == []  # nothing half-published
    (work,) = store.work_dirs()
    finished = sorted(p.name for p in (work / "data").iterdir() if not p.name.startswith("."))
    assert finished == ["train-00000.parquet", "train-00001.parquet"]

    calls.clear()
    snap = api.generate(store, "problems", CFG).snapshot
    assert calls == [32, 32, 32, 32, 8]  # shards 2..6 only: 136 prompts, not 200
    check_complete(snap, problems.to_arrow().column("problem_id").to_pylist(), 4)


def test_problem_reader_crosses_files_and_row_groups(tmp_path):
    files = []
    for f, (start, n) in enumerate([(0, 25), (25, 40)]):
        path = tmp_path / f"p{f}.parquet"
        pq.write_table(pa.table({"problem_id": [f"p{i}" for i in range(start, start + n)]}), path, row_group_size=7)
        files.append(str(path))
    reader = ProblemReader(files)
    assert reader.num_rows == 65
    for start, stop in [(0, 7), (5, 30), (24, 26), (60, 65), (0, 65), (64, 80)]:
        got = reader.read(start, stop).column("problem_id").to_pylist()
        assert got == [f"p{i}" for i in range(start, min(stop, 65))]
    assert reader.read(70, 80).num_rows == 0


def test_task_counts_tokens_merges_worker_stats_and_pickles_light(problems):
    task = GenerationTask([str(p) for p in problems.files()], CFG)
    batches = [b for shard in range(task.num_shards()) for b in task(shard)]
    tokens = sum(pc.sum(b.column("completion_tokens")).as_py() for b in batches)
    assert sum(b.num_rows for b in batches) == 800 and task.stats() == {"generated_tokens": tokens}
    task.absorb(0, {"generated_tokens": 5, "cost_usd": 0.25})
    task.absorb(0, {"generated_tokens": 7, "cost_usd": 0.5})  # counters are cumulative per worker
    task.absorb(1, {"generated_tokens": 1})
    assert task.stats() == {"generated_tokens": tokens + 8, "cost_usd": 0.5}
    clone = pickle.loads(pickle.dumps(task))  # what a Ray actor receives: the recipe, no engine
    assert clone.backend is None and clone.stats() == {"generated_tokens": 0} and clone.config == CFG


def test_progress_summary_shows_cost_and_eta():
    bar = GenerationProgress("org/model", 1000, completed=200, quiet=True)
    assert bar.summary().startswith("200/1k - rows/s - tok/s eta -:--:--")
    bar.shard_done(300, {"generated_tokens": 45_000, "cost_usd": 1.5})
    line = bar.summary()
    assert line.startswith("500/1k ") and "$1.50" in line and " eta " in line
    bar.shard_done(500, {"generated_tokens": 90_000, "cost_usd": 3.25})
    assert "1k/1k" in bar.summary() and "$3.25 in " in bar.summary()


def test_progress_line_shows_rates_tokens_and_eta(store, problems, monkeypatch):
    from rich.console import Console

    import factory.progress

    out = io.StringIO()
    monkeypatch.setattr(factory.progress, "console", Console(file=out, width=80, force_terminal=False))
    api.generate(store, "problems", CFG, options=BuildOptions(quiet=False))
    last = out.getvalue().strip().splitlines()[-1]
    assert "800/800" in last and "rows/s" in last and "tok/s" in last and " in 0:00:" in last
    assert len(last) <= 80  # fits a default terminal: numbers never wrap


# -- kill -9 a real CLI run, then rerun it -------------------------------------------------------

N_PROBLEMS, SAMPLES, PER_SHARD = 20_000, 4, 100


def _cli(root: Path, problems: Path) -> list[str]:
    # the console-script entry point (factory = factory.cli.app:app), started from this interpreter
    return [sys.executable, "-c", "from factory.cli.app import app; app(prog_name='factory')", "--store", str(root),
            "generate", str(problems), "--backend", "scripted", "--model", "scripted-teacher",
            "--samples-per-prompt", str(SAMPLES), "--temperature", "0.6", "--top-p", "0.95",
            "--max-tokens", "32768", "--prompts-per-shard", str(PER_SHARD), "--output", "rollouts", "--quiet"]


def _parts(root: Path) -> list[Path]:
    return sorted(p for p in root.glob(".work/rollouts@*/data/train-*.parquet"))


def _fingerprint(path: Path) -> tuple[int, int, str]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def test_kill9_mid_generation_then_rerun_finishes_exactly_once(tmp_path):
    problems = tmp_path / "problems.jsonl"
    ids = [f"p{i:05d}" for i in range(N_PROBLEMS)]
    problems.write_text("".join(json.dumps({"problem_id": i, "prompt": f"Compute {n} * 3.", "answer": str(3 * n),
                                            "domain": "math"}) + "\n" for n, i in enumerate(ids)))
    root = tmp_path / "store"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(_cli(root, problems), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_parts(root)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)  # poll for the condition; the assertion never depends on a sleep
    os.kill(proc.pid, signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before it could be killed: {err[-2000:]}"

    before = {p.name: _fingerprint(p) for p in _parts(root)}
    num_shards = N_PROBLEMS // PER_SHARD
    assert 2 <= len(before) < num_shards
    assert Store(root).list("rollouts") == []  # no half snapshot is visible

    rerun = subprocess.run(_cli(root, problems), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "resuming an interrupted build" in rerun.stdout
    (snap,) = Store(root).list("rollouts")
    check_complete(snap, ids, SAMPLES)
    assert len(snap.files()) == num_shards
    for name, fingerprint in before.items():  # finished shards kept: same file, never rewritten
        shard = int(name.split("-")[1].split(".")[0])
        assert _fingerprint(snap.path / "data" / f"train-{shard:05d}-of-{num_shards:05d}.parquet") == fingerprint
