"""View benchmark: `factory view` over a 10M-row scored rollouts snapshot — time to first page and server RSS.

Writes the snapshot (synthetic rows from tests/support/view_store.py), starts the real server
(`python -m factory view`) in its own process, and times over HTTP: the first page of filtered
queries in the SQL console, a deep page, an aggregate, the rollout viewer with filters, and the
per-step plot. Baseline, same run: the same filtered query straight on a DuckDB catalog
connection in this process (what `factory sql` does), so the ratio is the view's own overhead.
The server's peak RSS is its kernel high-water mark (VmHWM; target < 1 GB).
Run: .venv/bin/python benchmarks/view_bench.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from factory.sql.catalog import Catalog  # noqa: E402
from factory.store.store import Store  # noqa: E402
from tests.support.view_store import make_view_store  # noqa: E402

FILTERED = ("select problem_id, sample_idx, verdict, domain, completion_tokens, completion from rollouts "
            "where verdict = 'wrong' and domain = 'code' and completion_tokens > 900")
SELECTIVE = "select * from rollouts where problem_id = 'p-2400000'"
AGGREGATE = "select domain, verdict, count(*) as n, avg(completion_tokens) as mean_tokens from rollouts group by all"


def hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    """Best of ``repeat`` wall times (first call included in the list), and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def start_server(store: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "factory", "--store", str(store), "view", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/sql", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start: {proc.stderr.read().decode()[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the temporary store")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="view-bench-"))
    try:
        t0 = time.perf_counter()
        snaps = make_view_store(Store(tmp / "store"), rollouts=args.rows)
        print(f"wrote {args.rows:,} scored rollouts (+ small snapshots) in {time.perf_counter() - t0:.1f} s")

        con = Catalog(Store(tmp / "store")).connect()
        base_s, _ = timed(lambda: con.execute(f"select * from ({FILTERED}) limit 51").fetchall())
        con.close()

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = start_server(tmp / "store", port)
        url = f"http://127.0.0.1:{port}"
        idle = rss_mb(proc.pid)
        client = httpx.Client(base_url=url, timeout=120)

        def sql(q: str, page: int = 0):
            r = client.post("/api/sql", json={"sql": q, "page": page}).json()
            assert "error" not in r, r
            return r

        rows = []
        first_s, first = timed(lambda: sql(FILTERED))
        rows.append(("SQL console: first page of a filtered query", first_s, f"{len(first['rows'])} rows"))
        deep_s, deep = timed(lambda: sql(FILTERED, page=1000))
        rows.append(("SQL console: page 1,000 of it (OFFSET 50,000)", deep_s, f"{len(deep['rows'])} rows"))
        sel_s, sel = timed(lambda: sql(SELECTIVE))
        rows.append(("SQL console: one prompt's rows by id", sel_s, f"{len(sel['rows'])} rows"))
        agg_s, agg = timed(lambda: sql(AGGREGATE))
        rows.append(("SQL console: group by over all rows", agg_s, f"{len(agg['rows'])} groups"))
        ref = snaps["rollouts"].ref
        view_s, _ = timed(lambda: client.get(f"/rollouts/{ref}", params={"verdict": "wrong", "domain": "code"}))
        rows.append(("rollout viewer: filtered row + filter menus", view_s, ""))
        group_s, _ = timed(lambda: client.get(f"/rollouts/{ref}", params={"mode": "group", "i": 1000}))
        rows.append(("rollout viewer: one prompt's k samples, row 1,001", group_s, ""))
        exp_s, exp = timed(lambda: client.get("/api/export", params={"sql": FILTERED, "format": "parquet"}), 1)
        rows.append(("export Parquet (row cap 100,000)", exp_s, f"{len(exp.content) / 2**20:.1f} MB"))
        peak = hwm_mb(proc.pid)
        client.close()
        proc.terminate()
        proc.wait(timeout=30)

        print(f"\n{'what':<52} {'seconds':>8}  result")
        print(f"{'baseline: same query, DuckDB in-process (factory sql)':<52} {base_s:>8.3f}")
        for what, secs, res in rows:
            print(f"{what:<52} {secs:>8.3f}  {res}")
        print(f"\nfirst page of a filtered query over {args.rows:,} rows: {first_s:.3f} s "
              f"({first_s / base_s:.2f}x the in-process DuckDB baseline)")
        print(f"server RSS: idle {idle:.0f} MB, peak {peak:.0f} MB (target < 1024 MB): "
              f"{'OK' if peak < 1024 else 'OVER'}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
