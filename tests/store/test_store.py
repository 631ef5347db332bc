"""Snapshot store: ids, atomic publication, resume, Hub layout readable without the project."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from factory.errors import InputError, SnapshotNotFound
from factory.store.ids import snapshot_id


def problems_batch(start: int, n: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "problem_id": [f"p{i}" for i in range(start, start + n)],
            "prompt": [f"What is {i}+1?" for i in range(start, start + n)],
            "answer": [str(i + 1) for i in range(start, start + n)],
        }
    )


def write(store, name="problems", id_="abc123", n=10, batch=4, **kw):
    with store.begin(name, id_, kind="problems", **kw) as sb:
        sb.write("train", (problems_batch(i, min(batch, n - i)) for i in range(0, n, batch)))
        return sb.commit(builder="test", builder_version="1.0.0", config={"n": n})


def test_same_inputs_same_id():
    a = snapshot_id("b", "1.0.0", {"n": 1, "m": [1, 2]}, {"p": "p@1"}, {"s": "f"})
    b = snapshot_id("b", "1.0.0", {"m": [1, 2], "n": 1}, {"p": "p@1"}, {"s": "f"})
    assert a == b
    assert a != snapshot_id("b", "1.0.0", {"n": 2, "m": [1, 2]}, {"p": "p@1"}, {"s": "f"})
    assert a != snapshot_id("b", "1.0.0", {"n": 1, "m": [1, 2]}, {"p": "p@2"}, {"s": "f"})
    assert a != snapshot_id("b", "1.0.0", {"n": 1, "m": [1, 2]}, {"p": "p@1"}, {"s": "g"})


def test_write_publish_read(store):
    snap = write(store, n=10)
    assert snap.path == store.root / "problems" / "abc123"
    assert snap.num_rows == 10
    files = snap.manifest["splits"]["train"]["files"]
    assert files == ["data/train-00000-of-00001.parquet"]
    assert not (store.root / ".work" / "problems@abc123").exists()
    assert store.get("problems").ref == "problems@abc123"
    assert store.get("problems@abc1").id == "abc123"
    df = snap.scan().collect()
    assert df["problem_id"].to_list()[:3] == ["p0", "p1", "p2"]
    assert snap.to_arrow().num_rows == 10
    assert snap.load_dataset()["answer"][0] == "1"
    m = json.loads((snap.path / "manifest.json").read_text())
    for key in ("name", "id", "builder", "builder_version", "config", "parents", "code_version", "created_at",
                "schema", "splits"):
        assert key in m


def test_rows_split_into_several_files(store):
    snap = write(store, n=25, batch=5, max_rows_per_file=10)
    files = snap.manifest["splits"]["train"]["files"]
    assert files == [f"data/train-{i:05d}-of-00003.parquet" for i in range(3)]
    assert snap.scan().collect().height == 25


def test_hub_loader_reads_the_folder(store):
    import datasets

    snap = write(store, n=6)
    with store.begin("problems", "def456", kind="problems") as sb:
        sb.write("train", [problems_batch(0, 4)])
        sb.write("test", [problems_batch(4, 2)])
        sb.write_rejects([pa.RecordBatch.from_pydict({"problem_id": ["x"], "reason": ["too_long"]})])
        snap = sb.commit(builder="t", builder_version="1")
    ds = datasets.load_dataset(str(snap.path))
    assert set(ds) == {"train", "test"}
    assert ds["train"].num_rows == 4 and ds["test"].num_rows == 2
    rej = datasets.load_dataset(str(snap.path), "rejects")
    assert rej["train"]["reason"] == ["too_long"]
    assert snap.manifest["rejects"] == {"too_long": 1}


def test_resume_skips_finished_parts(store):
    calls = []

    def batches():
        for i in range(0, 30, 5):
            calls.append(i)
            if i == 20 and len(calls) < 10:
                raise RuntimeError("crash")
            yield problems_batch(i, 5)

    with pytest.raises(RuntimeError):
        with store.begin("problems", "r1", kind="problems", max_rows_per_file=10) as sb:
            sb.write("train", batches())
    assert store.list() == []  # nothing half-written is visible
    with store.begin("problems", "r1", kind="problems", max_rows_per_file=10) as sb:
        assert sb.resumed
        sb.write("train", batches())
        snap = sb.commit(builder="t", builder_version="1")
    ids = snap.scan().collect()["problem_id"].to_list()
    assert ids == [f"p{i}" for i in range(30)]


def test_write_shards_skips_done_shards(store):
    made = []

    def shard(k):
        made.append(k)
        if k == 2 and made.count(2) == 1:
            raise RuntimeError("crash")
        yield problems_batch(k * 3, 3)

    with pytest.raises(RuntimeError):
        with store.begin("problems", "s1", kind="problems") as sb:
            sb.write_shards("train", 4, shard)
    with store.begin("problems", "s1", kind="problems") as sb:
        sb.write_shards("train", 4, shard)
        snap = sb.commit(builder="t", builder_version="1")
    assert made == [0, 1, 2, 2, 3]
    assert snap.num_rows == 12


def test_schema_errors_name_the_column(store):
    bad = pa.RecordBatch.from_pydict({"problem_id": ["a"], "answer": ["1"]})
    with pytest.raises(InputError, match="missing column 'prompt'"):
        with store.begin("problems", "e1", kind="problems") as sb:
            sb.write("train", [bad])
    bad = pa.RecordBatch.from_pydict({"problem_id": ["a"], "prompt": ["p"], "difficulty": ["hard"]})
    with pytest.raises(InputError, match="'difficulty' has type string, expected int32"):
        with store.begin("problems", "e2", kind="problems") as sb:
            sb.write("train", [bad])


def test_unknown_snapshot_is_clear(store):
    write(store)
    with pytest.raises(SnapshotNotFound, match="unknown snapshot 'nope'.*known: problems"):
        store.get("nope")
    with pytest.raises(SnapshotNotFound):
        store.get("problems@ffff")


def test_latest_is_newest(store):
    write(store, id_="aaaa01")
    write(store, id_="0000b2")
    assert store.get("problems").id == "0000b2"
    assert [s.id for s in store.list("problems")] == ["aaaa01", "0000b2"]


def test_concurrent_builds_of_one_snapshot_do_not_collide(store):
    """Two builds of the same snapshot at once: one writes, the other waits on the lock and reuses it."""
    import threading

    from factory.api.build import run_build

    results, errors = [], []

    def go():
        try:
            results.append(run_build(store, "problems", {"n": 20_000, "seed": 7}))
        except Exception as e:  # noqa: BLE001 - surfaced below
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {r.snapshot.ref for r in results} == {results[0].snapshot.ref}
    assert sorted(r.cached for r in results) == [False, True]
    assert results[0].snapshot.num_rows == 20_000 and len(store.list("problems")) == 1


def test_large_rows_get_row_groups_of_bounded_size(tmp_path, monkeypatch):
    """A reader decodes whole row groups, so a part of long texts is cut into groups of at most
    ROW_GROUP_BYTES; short rows keep ROW_GROUP_ROWS per group."""
    import pyarrow.parquet as pq

    from factory.store import writer

    monkeypatch.setattr(writer, "ROW_GROUP_BYTES", 64 * 1024)
    long_rows = pa.RecordBatch.from_pydict({"text": ["x" * 1000] * 1000})
    writer.write_one_shard(tmp_path, "train", None, 0, [long_rows])
    writer.write_one_shard(tmp_path, "short", None, 0, [pa.RecordBatch.from_pydict({"n": list(range(1000))})])
    meta = pq.ParquetFile(next(tmp_path.glob("train-*.parquet"))).metadata
    assert meta.num_rows == 1000 and meta.num_row_groups >= 15
    assert max(meta.row_group(g).num_rows for g in range(meta.num_row_groups)) * long_rows.nbytes / 1000 <= 64 * 1024
    assert pq.ParquetFile(next(tmp_path.glob("short-*.parquet"))).metadata.num_row_groups == 1


def test_row_files_are_read_in_the_consumers_batch_size(tmp_path):
    import pyarrow.parquet as pq

    from factory.store.row_files import read_row_file

    pq.write_table(pa.table({"n": list(range(1000))}), tmp_path / "rows.parquet")
    sizes = [b.num_rows for b in read_row_file(tmp_path / "rows.parquet", 300)]
    assert sizes == [300, 300, 300, 100]
