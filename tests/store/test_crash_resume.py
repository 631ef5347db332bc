"""kill -9 in the middle of a 2M-row sharded write, then rerun: exact rows, no duplicates, no partial snapshot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import duckdb

from factory.store.store import Store
from tests.support.paths import ROOT

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import pyarrow as pa
    from factory.store.store import Store

    N, B = 2_000_000, 50_000

    def batches():
        for i, start in enumerate(range(0, N, B)):
            ids = np.arange(start, start + B)
            yield pa.RecordBatch.from_pydict({
                "problem_id": pa.array(ids.astype(str)),
                "prompt": pa.array(np.char.add("What is ", ids.astype(str))),
                "answer": pa.array((ids * 7 % 1000).astype(str)),
            })
            print(f"batch {i}", flush=True)

    store = Store(sys.argv[1])
    with store.begin("big", "feed01", kind="problems", max_rows_per_file=200_000) as sb:
        sb.write("train", batches())
        sb.commit(builder="crash-test", builder_version="1")
    print("committed", flush=True)
    """
)


def _run(root, kill_after_batch=None):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(root)], stdout=subprocess.PIPE, text=True,
                            cwd=str(ROOT))
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if kill_after_batch is not None and line.strip() == f"batch {kill_after_batch}":
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    return proc.returncode, lines


def test_kill9_mid_write_then_resume(tmp_path):
    root = tmp_path / "store"
    rc, lines = _run(root, kill_after_batch=13)  # parts of 4 batches: 3 finished, one in flight
    assert rc == -signal.SIGKILL
    store = Store(root)
    assert store.list() == []  # no partial snapshot is ever visible
    work = root / ".work" / "big@feed01" / "data"
    finished = sorted(p.name for p in work.iterdir() if not p.name.startswith("."))
    assert finished[:3] == ["train-00000.parquet", "train-00001.parquet", "train-00002.parquet"]

    rc, lines = _run(root)
    assert rc == 0 and lines[-1] == "committed"
    # the resumed run generated every batch again but skipped writing the finished rows
    (snap,) = store.list()
    assert snap.num_rows == 2_000_000
    files = [str(p) for p in snap.files()]
    total, distinct, lo, hi = duckdb.connect().execute(
        f"select count(*), count(distinct problem_id), min(problem_id::int), max(problem_id::int) from read_parquet({files})"
    ).fetchone()
    assert (total, distinct, lo, hi) == (2_000_000, 2_000_000, 0, 1_999_999)
    assert not (root / ".work" / "big@feed01").exists()
