"""--executor ray: shards on Ray actors give the same snapshot as the local executor, resume alike, and score."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

ray = pytest.importorskip("ray", reason="the ray executor needs Ray: pip install 'r1-factory[ray]'")

from factory import api
from factory.api.build import BuildOptions, run_build  # noqa: E402
from factory.generate.backends.scripted import ScriptedTeacherBackend  # noqa: E402
from factory.generate.generation import GenerateConfig, GenerationTask  # noqa: E402
from factory.store import Store, executors  # noqa: E402
from factory.store.writer import SplitWriter  # noqa: E402

CFG = GenerateConfig(samples_per_prompt=4, prompts_per_shard=16, backend_options={"wrong_rate": 0.25})
RAY = BuildOptions(executor="ray", executor_options={"num_workers": 2})
KEY = [("problem_id", "ascending"), ("sample_idx", "ascending")]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The local executor's snapshot, the baseline every Ray run must equal."""
    store = Store(tmp_path_factory.mktemp("local") / "store")
    run_build(store, "problems", {"n": 120})
    return api.generate(store, "problems", CFG).snapshot


def rows_of(snap):
    return snap.to_arrow().drop_columns(["latency_s"]).sort_by(KEY)  # latency: wall clock, differs per run


def must_not_run_locally(*args, **kwargs):
    raise AssertionError("the local executor ran, not Ray")


def test_ray_executor_gives_the_local_snapshot(local_ray, reference, tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "run_local", must_not_run_locally)
    store = Store(tmp_path / "store")
    run_build(store, "problems", {"n": 120})
    snap = api.generate(store, "problems", CFG, options=RAY).snapshot
    assert snap.id == reference.id  # the executor is how, not what: it is not part of the id
    assert len(snap.files()) == len(reference.files()) == 8
    assert rows_of(snap).equals(rows_of(reference))

    # the scored stage runs on top of Ray-made rollouts, with the same rewards as ever
    monkeypatch.undo()  # scoring is CPU-bound: the local executor runs it in worker processes
    scored = api.score(store, snap.ref).snapshot
    table = scored.to_arrow()
    assert scored.num_rows == 480 and scored.manifest["parents"]["rollouts"] == snap.ref
    accuracy = table.column("reward_accuracy").to_pylist()
    assert 0 < sum(a == 1.0 for a in accuracy) < 480  # wrong_rate=0.25: some right, some wrong


def test_ray_resumes_a_run_the_local_executor_left_unfinished(local_ray, reference, tmp_path, monkeypatch):
    store = Store(tmp_path / "store")
    run_build(store, "problems", {"n": 120})
    real, calls = ScriptedTeacherBackend.generate, []

    def crash_on_third_shard(self, requests, params):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return real(self, requests, params)

    monkeypatch.setattr(ScriptedTeacherBackend, "generate", crash_on_third_shard)
    with pytest.raises(RuntimeError, match="simulated crash"):
        api.generate(store, "problems", CFG)
    monkeypatch.undo()
    (work,) = store.work_dirs()
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (work / "data").glob("train-*.parquet")}
    assert sorted(kept) == ["train-00000.parquet", "train-00001.parquet"]

    snap = api.generate(store, "problems", CFG, options=RAY).snapshot
    assert rows_of(snap).equals(rows_of(reference))
    for shard, name in enumerate(sorted(kept)):  # the finished parts were kept, not regenerated
        st = (snap.path / "data" / f"train-{shard:05d}-of-00008.parquet").stat()
        assert (st.st_ino, st.st_mtime_ns) == kept[name]


def test_ray_workers_write_parts_and_report_their_counters(local_ray, reference, tmp_path):
    problems = Store(reference.path.parents[1]).get("problems")
    task = GenerationTask([str(p) for p in problems.files()], CFG)
    sw = SplitWriter(tmp_path, "train", "rollouts", max_rows=10**6, max_bytes=2**30, quiet=True)
    done: dict[int, int] = {}
    executors.run_ray(sw, [1, 3, 4, 7], task, done.__setitem__, num_workers=2)
    assert done == {1: 64, 3: 64, 4: 64, 7: 32}  # 16 prompts x 4 samples; the last shard has 8 prompts
    assert sorted(p.name for p in sw.data_dir.iterdir()) == [f"train-{k:05d}.parquet" for k in (1, 3, 4, 7)]
    tokens = sum(pc.sum(pq.read_table(p, columns=["completion_tokens"]).column(0)).as_py()
                 for p in sw.data_dir.iterdir())
    assert task.backend is None  # the driver never built an engine: the actors did
    assert task.stats() == {"generated_tokens": tokens}  # the actors' counters reached the driver


def test_ray_executor_rejects_zero_workers(local_ray, tmp_path):
    store = Store(tmp_path / "store")
    run_build(store, "problems", {"n": 20})
    bad = BuildOptions(executor="ray", executor_options={"num_workers": 0})
    with pytest.raises(ValueError, match="num_workers=0"):
        api.generate(store, "problems", CFG, options=bad)
