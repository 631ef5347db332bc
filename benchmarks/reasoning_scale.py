"""The reasoning builder at full size: 2.4M scored rollouts from the scripted teacher → 600k samples.

Each stage runs in its own subprocess so its time and peak RSS are its own:
problems (1.2M procedural math) → curated (exact dedup) → rollouts (600k prompts × 4) →
scored (accuracy + language + readability) → filter (the SQL model) + SFT formatting.
Targets (issue): peak RSS under 4 GB per stage, the filtering stage under 60 s on 2 cores.

Run: .venv/bin/python benchmarks/reasoning_scale.py [--prompts 600000] [--store DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAWS = {"wrong_rate": 0.3, "mixed_language_rate": 0.05, "overlong_rate": 0.02, "broken_tags_rate": 0.02,
         "code_in_cot_rate": 0.02, "long_paragraph_rate": 0.02}

STAGE = """
import json, sys, time, resource
sys.path.insert(0, {root!r})
from factory.api.build import BuildOptions, run_build
from factory.store.store import Store
store = Store({store!r})
t0 = time.perf_counter()
res = run_build(store, {builder!r}, json.loads({config!r}), name={name!r}, parents=json.loads({parents!r}),
                options=BuildOptions(quiet=True))
print(json.dumps({{"ref": res.snapshot.ref, "rows": res.snapshot.num_rows, "seconds": time.perf_counter() - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def stage(store: str, builder: str, config: dict, name: str, parents: dict | None = None) -> dict:
    code = STAGE.format(root=str(ROOT), store=store, builder=builder, config=json.dumps(config), name=name,
                        parents=json.dumps(parents or {}))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{builder} failed:\n{out.stderr[-3000:]}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["children_rss_mb"] = children
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=600_000)
    ap.add_argument("--problems", type=int, default=1_200_000)
    ap.add_argument("--store", default=None)
    args = ap.parse_args()
    store = args.store or tempfile.mkdtemp(prefix="reasoning-scale-")
    gen = {"samples_per_prompt": 4, "max_tokens": 4096, "prompts_per_shard": 20_000, "limit": args.prompts,
           "backend_options": FLAWS}
    rows = []
    t_all = time.perf_counter()
    p = stage(store, "problems", {"n": args.problems, "options": {"code_share": 0.0}}, "problems")
    rows.append(("problems", p))
    c = stage(store, "curated", {"decontaminate_against": [], "near_min_words": 10_000}, "curated",
              {"problems": p["ref"]})
    rows.append(("curated (exact dedup)", c))
    r = stage(store, "rollouts", gen, "reasoning-rollouts", {"problems": c["ref"]})
    rows.append(("rollouts (scripted teacher)", r))
    s = stage(store, "scored", {"rewards": ["accuracy", "language", "readability"]}, "reasoning-scored", {"rollouts": r["ref"]})
    rows.append(("scored", s))
    j = stage(store, "judged", {}, "reasoning-judged", {"scored": s["ref"]})
    rows.append(("judged (rows without a rule)", j))
    cfg = {"target": 600_000, "max_per_problem": 2, "generate": gen, "score": {"rewards": ["accuracy", "language", "readability"]}}
    f = stage(store, "reasoning", cfg, "reasoning", {"curated": c["ref"]})
    rows.append(("filter + format (reasoning)", f))
    print(f"{'stage':32} {'rows':>12} {'seconds':>9} {'peak RSS MB':>12} {'max RSS incl. workers':>22}")
    worker = 0.0
    for label, res in rows:
        grew = res["children_rss_mb"] > worker  # RUSAGE_CHILDREN is a running maximum over all stages
        worker = max(worker, res["children_rss_mb"])
        print(f"{label:32} {res['rows']:>12,} {res['seconds']:>9.1f} {res['rss_mb']:>12,.0f} "
              f"{(f'{worker:,.0f}' if grew else '-'):>22}")
    print(f"total {time.perf_counter() - t_all:,.0f} s; store {store}")


if __name__ == "__main__":
    main()
