"""The R1 recipe in miniature: a thin caller of ``factory recipe`` that prints its report and wall time.

Usage: ``python benchmarks/tiny_r1.py [--store DIR] [--preset full|smoke] [--backend transformers|vllm]``

Everything — the base model pretrained from scratch, R1-Zero, cold start, SFT, reasoning RL,
rejection sampling, the SFT mix, the reward model, all-scenario RL, distillation and the evals —
runs through the builders and trainers (``factory.api.recipe``); this script only times it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default=None, help="store folder (default: a temporary one)")
    p.add_argument("--preset", default="full", choices=("full", "smoke"))
    p.add_argument("--backend", default="transformers", help="generation backend of data stages and evals")
    args = p.parse_args()

    from factory.api.recipe import recipe
    from factory.api.recipe_report import markdown
    from factory.store.store import Store

    store = Store(args.store or Path(tempfile.mkdtemp(prefix="tiny-r1-")) / "store")
    t0 = time.perf_counter()
    ctx, report = recipe(store, args.preset, backend=args.backend, log=lambda m: print("·", m, flush=True))
    print(markdown(report))
    print(f"\nwall {time.perf_counter() - t0:.0f} s; store {store.root}; models in {ctx.work}")


if __name__ == "__main__":
    main()
