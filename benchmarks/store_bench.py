"""Store benchmark: write a 10M-row synthetic rollouts snapshot, then group-by SQL over it.

Reports wall time and peak RSS per phase (target: peak RSS under 2 GB).
Run: .venv/bin/python benchmarks/store_bench.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from factory.sql import query as sqlmod  # noqa: E402
from factory.store.store import Store  # noqa: E402

WORDS = np.array("wait let me check the sum again so x equals then we verify this step and the answer is".split())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rollout_batches(rows: int, batch: int = 200_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    phrases = np.array([" ".join(rng.choice(WORDS, 24)) for _ in range(4096)])
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        idx = np.arange(start, start + n)
        r = np.random.default_rng([seed, start])
        tokens = r.integers(200, 8000, n)
        yield from pa.Table.from_pydict({
            "problem_id": pa.array(np.char.add("p", (idx // 8).astype(str))),
            "sample_idx": pa.array((idx % 8).astype(np.int32)),
            "completion": pa.array(np.char.add(np.char.add(phrases[r.integers(0, len(phrases), n)], " so the answer is "),
                                               r.integers(0, 10**6, n).astype(str))),
            "model": pa.array(np.array(["r1-zero", "r1", "distill-7b"])[r.integers(0, 3, n)]),
            "finish_reason": pa.array(np.where(tokens > 7800, "length", "stop")),
            "completion_tokens": pa.array(tokens.astype(np.int32)),
            "temperature": pa.array(np.full(n, 0.6, np.float32)),
        }).combine_chunks().to_batches()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--store", default=None)
    args = ap.parse_args()
    root = Path(args.store or tempfile.mkdtemp(prefix="store-bench-"))
    store = Store(root)
    t0 = time.perf_counter()
    with store.begin("rollouts-bench", f"{args.rows:012x}", kind="rollouts") as sb:
        sb.write("train", rollout_batches(args.rows))
        snap = sb.commit(builder="store_bench", builder_version="1")
    t_write = time.perf_counter() - t0
    rss_write = peak_rss_mb()
    q = ("select model, finish_reason, count(*) as n, avg(completion_tokens) as mean_tokens, "
         "count(distinct problem_id) as problems from rollouts_bench group by all order by all")
    t0 = time.perf_counter()
    cols, rows, _ = sqlmod.query_rows(store, q, limit=100)
    t_query = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = sqlmod.export_query(store, "select * from rollouts_bench where finish_reason = 'length'", "parquet",
                            root / "export.parquet")
    t_export = time.perf_counter() - t0
    rss_total = peak_rss_mb()
    print(f"rows: {snap.num_rows:,}  files: {len(snap.files())}  size: {sum(p.stat().st_size for p in snap.files()) / 2**20:,.0f} MiB")
    print(f"write:   {t_write:6.1f} s  {snap.num_rows / t_write:,.0f} rows/s  peak RSS {rss_write:,.0f} MB")
    print(f"group-by:{t_query:6.1f} s  ({len(rows)} groups)")
    print(f"export:  {t_export:6.1f} s  ({n:,} rows streamed to parquet)")
    print(f"peak RSS overall: {rss_total:,.0f} MB (target < 2048 MB)")
    for r in rows[:6]:
        print("  ", dict(zip(cols, r)))
    if not args.store:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
