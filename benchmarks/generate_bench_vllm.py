"""``generate_bench.py --backend vllm``: the factory's throughput as a share of raw ``LLM.generate``.

One ``vllm.LLM`` serves both paths, alternated ``--repeats`` times, best of each:
  (a) raw: ``LLM.generate`` on the r1_zero-rendered prompts, ``SamplingParams(n=samples, seed)``;
  (b) factory: ``api.generate`` with that engine injected (per-sample seeds, shards, Parquet written).
The ratio (b)/(a) of generated tokens per second is the claim (target >= 0.9); both lines are printed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 0.9


def _model_dir(args: argparse.Namespace, root: Path) -> str:
    if args.model:
        return args.model
    from tests.support.tiny_models import VLLM_CPU_SHAPE, make_tiny_causal_lm

    return str(make_tiny_causal_lm(root / "tiny-lm", **VLLM_CPU_SHAPE))


def run_vllm(args: argparse.Namespace) -> None:
    from vllm import LLM
    from vllm import SamplingParams as VSP

    from factory import api
    from factory.api.build import BuildOptions, run_build
    from factory.generate.backends.model_checks import engine_defaults, has_cuda
    from factory.generate.generation import GenerateConfig
    from factory.generate.templates import get_template
    from factory.store.store import Store

    root = Path(tempfile.mkdtemp(prefix="generate-bench-vllm-"))
    try:
        model = _model_dir(args, root)
        engine_kwargs = {"model": model, "seed": 0, **engine_defaults(not has_cuda(), {})}
        llm = LLM(**engine_kwargs)
        store = Store(root / "store")
        problems = run_build(store, "problems", {"n": args.prompts}).snapshot
        cfg = GenerateConfig(backend="vllm", model=model, template="r1_zero", samples_per_prompt=args.samples,
                             temperature=1.0, top_p=1.0, max_tokens=args.max_tokens, seed=0,
                             prompts_per_shard=args.prompts_per_shard)
        template = get_template("r1_zero")
        prompts = [template.to_request(r).prompt for r in problems.to_arrow().to_pylist()]
        sp = VSP(n=args.samples, temperature=1.0, top_p=1.0, max_tokens=args.max_tokens, seed=0)
        raw, fac = [], []
        for i in range(args.repeats):
            t0 = time.perf_counter()
            outs = llm.generate(prompts, sp, use_tqdm=False)
            raw.append((sum(len(c.token_ids) for o in outs for c in o.outputs), time.perf_counter() - t0))
            t0 = time.perf_counter()
            res = api.generate(store, "problems", cfg, output=f"bench-{i}",
                               options=BuildOptions(quiet=True, backend={"engine": llm}))
            fac.append((sum(res.snapshot.to_arrow().column("completion_tokens").to_pylist()), time.perf_counter() - t0))
            shutil.rmtree(res.snapshot.path)
        _report(args, model, raw, fac)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _report(args: argparse.Namespace, model: str, raw: list, fac: list) -> None:
    (ta, wa), (tb, wb) = min(raw, key=lambda r: r[1]), min(fac, key=lambda r: r[1])
    ra, rb = ta / wa, tb / wb
    print(f"vLLM {model}: {args.prompts:,} prompts x {args.samples} samples x {args.max_tokens} tokens, "
          f"best of {args.repeats}")
    print(f"(a) raw LLM.generate:               {wa:6.2f} s {ra:>10,.0f} tok/s ({ta:,} tokens)")
    print(f"(b) factory api.generate -> Parquet: {wb:6.2f} s {rb:>10,.0f} tok/s ({tb:,} tokens)")
    print(f"ratio (b)/(a): {rb / ra:.2f}  target >= {TARGET_RATIO}: {'PASS' if rb / ra >= TARGET_RATIO else 'FAIL'}")
