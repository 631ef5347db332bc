"""The recipe's report: per checkpoint held-out pass@1 ± std, maj@k, format-ok and length; per GRPO run its curves.

Every figure is SQL over snapshots the recipe wrote — the eval builder's scored stage and each
GRPO run's rollouts snapshot — and the table itself is published as the ``recipe-report``
snapshot (its parents: every eval and rollouts snapshot), so ``factory sql`` reproduces it.
The stage effects R1 claims are stated as measured, with the difference in standard errors.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from factory.store.ids import snapshot_id

REPORT_VERSION = "1.0.0"
# (claim, before, after, metric): R1's intended effect of a stage, as the report checks it
EFFECTS = (
    ("R1-Zero raises format-ok above the base", "base", "r1-zero", "format_ok"),
    ("R1-Zero raises accuracy above the base", "base", "r1-zero", "pass@1"),
    ("SFT on the rejection-sampled mix beats SFT on the cold start alone", "sft-cold-start", "sft-mix-base", "pass@1"),
    ("distilling the student beats training it by RL alone (R1 §4.1)", "student-rl", "student-distill", "pass@1"),
)


def _files(store, ref: str, split: str = "train") -> str:
    return "[" + ", ".join(f"'{p}'" for p in store.get(ref).files(split)) + "]"


def checkpoint_metrics(store, eval_ref: str) -> dict[str, Any]:
    """pass@1 (mean over the k sample indices) ± its std across them, format-ok, mean tokens, maj@k."""
    snap = store.get(eval_ref)
    scored = next(ref for name, ref in snap.manifest["parents"].items() if name.endswith("-scored"))
    sql = f"""
        with per_sample as (
            select sample_idx, avg(correct::int) as acc from read_parquet({_files(store, scored)}) group by sample_idx)
        select (select avg(acc) from per_sample), (select coalesce(stddev_samp(acc), 0) from per_sample),
               avg(coalesce(format_ok, false)::int), avg(completion_tokens), count(distinct problem_id)
        from read_parquet({_files(store, scored)})"""
    pass1, std, fmt, tokens, problems = duckdb.sql(sql).fetchall()[0]
    metrics = (snap.manifest.get("metrics") or [{}])[0]
    maj = next((metrics[k] for k in ("maj@k", "cons@k") if metrics.get(k) is not None), None)
    return {"pass@1": pass1, "std": std, "maj@k": maj, "format_ok": fmt, "mean_tokens": tokens, "problems": problems,
            "k": metrics.get("k"), "eval": eval_ref}


def grpo_curve(store, rollouts_ref: str, buckets: int = 6) -> list[dict[str, Any]]:
    """Accuracy and completion length per step, in at most ``buckets`` step ranges (R1's Figures 2 and 3)."""
    files = _files(store, rollouts_ref)
    steps = duckdb.sql(f"select max(step) from read_parquet({files})").fetchall()[0][0] or 1
    width = max(1, -(-steps // buckets))
    sql = f"""select min(step) as first_step, max(step) as last_step, avg(reward_accuracy) as accuracy,
                     avg(completion_tokens) as mean_tokens, count(*) as rollouts
              from read_parquet({files}) group by (step - 1) // {width} order by 1"""
    cols, rows = ["first_step", "last_step", "accuracy", "mean_tokens", "rollouts"], duckdb.sql(sql).fetchall()
    return [dict(zip(cols, r)) for r in rows]


def _model_info(path: str) -> dict[str, Any]:
    manifest = Path(path) / "factory_manifest.json"
    return json.loads(manifest.read_text()) if manifest.exists() else {}


def collect(ctx, stages) -> dict[str, Any]:
    """Metrics of every evaluated checkpoint and curves of every GRPO run that has run."""
    rows, curves = [], {}
    for s in stages:
        if not s.eval_template or s.name not in ctx.outputs:
            continue
        info = _model_info(ctx.outputs[s.name])
        row = {"checkpoint": s.name, "trainer": info.get("trainer"), "data": info.get("data_ref"),
               "template": s.eval_template, "train_s": ctx.seconds.get(s.name)}
        if f"eval-{s.name}" in ctx.outputs:
            row.update(checkpoint_metrics(ctx.store, ctx.outputs[f"eval-{s.name}"]))
        rows.append(row)
        if info.get("rollouts_ref"):
            curves[s.name] = {"rollouts": info["rollouts_ref"], "curve": grpo_curve(ctx.store, info["rollouts_ref"])}
    by = {r["checkpoint"]: r for r in rows}
    effects = [_effect(claim, by.get(a), by.get(b), m) for claim, a, b, m in EFFECTS]
    return {"checkpoints": rows, "curves": curves, "effects": [e for e in effects if e]}


def _effect(claim: str, before: dict | None, after: dict | None, metric: str) -> dict | None:
    if not before or not after or before.get(metric) is None or after.get(metric) is None:
        return None
    delta = after[metric] - before[metric]
    n = max(1, (after.get("k") or 1))
    se = ((before.get("std") or 0) ** 2 + (after.get("std") or 0) ** 2) ** 0.5 / n ** 0.5 if metric == "pass@1" else 0
    held = delta > 2 * se if se else delta > 0
    return {"claim": claim, "before": before["checkpoint"], "after": after["checkpoint"], "metric": metric,
            "from": before[metric], "to": after[metric], "delta": delta, "holds": bool(held)}


def _num(v: Any, digits: int = 3) -> str:
    return "—" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def markdown(report: dict[str, Any]) -> str:
    """The report as the README shows it: the checkpoint table, the effects, then the GRPO curves."""
    lines = ["| checkpoint | trained on | held-out pass@1 ± std | maj@k | format ok | mean tokens | train s |",
             "|---|---|---|---|---|---|---|"]
    for r in report["checkpoints"]:
        p1 = f"{_num(r.get('pass@1'))} ± {_num(r.get('std'))}" if r.get("pass@1") is not None else "—"
        lines.append(f"| {r['checkpoint']} | {r.get('data') or '—'} | {p1} | {_num(r.get('maj@k'))} | "
                     f"{_num(r.get('format_ok'))} | {_num(r.get('mean_tokens'), 1)} | {_num(r.get('train_s'), 0)} |")
    lines += ["", "| R1's claim | measured | holds |", "|---|---|---|"]
    for e in report["effects"]:
        lines.append(f"| {e['claim']} | {e['metric']} {e['before']} {e['from']:.3f} → {e['after']} {e['to']:.3f} "
                     f"({e['delta']:+.3f}) | {'yes' if e['holds'] else 'no'} |")
    for stage, c in report["curves"].items():
        lines += ["", f"GRPO `{stage}` (SQL over `{c['rollouts']}`):", "",
                  "| steps | accuracy | mean tokens |", "|---|---|---|"]
        lines += [f"| {p['first_step']}–{p['last_step']} | {_num(p['accuracy'])} | {_num(p['mean_tokens'], 1)} |"
                  for p in c["curve"]]
    return "\n".join(lines)


def write_report(ctx, stages) -> dict[str, Any]:
    """Collect the report, publish it as the ``recipe-report`` snapshot and write ``<work>/report.md``."""
    report = collect(ctx, stages)
    if not report["checkpoints"]:
        return report
    parents = {r["eval"].split("@")[0]: r["eval"] for r in report["checkpoints"] if r.get("eval")}
    parents.update({c["rollouts"].split("@")[0]: c["rollouts"] for c in report["curves"].values()})
    config = {"preset": dataclasses.asdict(ctx.preset), "backend": ctx.backend, "eval_backend": ctx.eval_backend}
    id_ = snapshot_id("recipe-report", REPORT_VERSION, config, parents)
    if ctx.store.find("recipe-report", id_) is None:
        cols = ["checkpoint", "trainer", "data", "template", "pass@1", "std", "maj@k", "format_ok", "mean_tokens",
                "problems", "k", "eval", "train_s"]
        table = pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in report["checkpoints"]])
        curve = pa.Table.from_pylist([{"run": s, **p} for s, c in report["curves"].items() for p in c["curve"]]
                                     or [{"run": None}])
        with ctx.store.begin("recipe-report", id_, kind=None) as sb:
            sb.write("train", table.to_batches())
            sb.write("curves", curve.to_batches())
            sb.commit(builder="factory.api.recipe", builder_version=REPORT_VERSION, config=config, parents=parents,
                      effects=report["effects"], models={s: o for s, o in ctx.outputs.items() if o.startswith("/")},
                      description=f"R1 recipe report ({ctx.preset.name} preset), "
                                  f"{datetime.now(timezone.utc):%Y-%m-%d}")
    (ctx.work / "report.md").write_text(markdown(report) + "\n")
    return report
