"""The view's plots: the card figures (factory.store.card_plots) fed by aggregates DuckDB computes.

Drawn server-side as SVG so the page and the Hub card show the same figure and the view
needs no JavaScript charting library; the engine aggregates (group by step, by pass rate),
so a plot never pulls raw rows into Python.
"""

from __future__ import annotations

from factory.store import card_plots as cp
from factory.store.snapshot import Snapshot
from factory.view.engine import Engine
from factory.view.pages import metric_columns, quote, view_name

KINDS = {"funnel": "filter funnel", "pass_rate": "pass-rate histogram", "curves": "per-step curves",
         "metrics": "metrics per checkpoint"}


def plot_svg(engine: Engine, snap: Snapshot, kind: str) -> str:
    """The SVG of plot ``kind`` for ``snap``; ValueError for a kind that does not apply."""
    if kind not in KINDS:
        raise ValueError(f"unknown plot {kind!r}: choose one of {', '.join(KINDS)}")
    return cp.to_svg(_figure(engine, snap, kind))


def _figure(engine: Engine, snap: Snapshot, kind: str):
    names = [c["name"] for c in snap.manifest.get("schema", [])]
    src = view_name(snap, snap.default_split)
    if kind == "funnel":
        if not snap.manifest.get("rejects"):
            raise ValueError(f"{snap.ref} removed no rows: it has no filter funnel")
        return cp.funnel_figure(snap.name, cp.funnel_stages(snap.manifest))
    if kind == "pass_rate":
        if "pass_rate" in names:
            expr = "pass_rate"
        elif {"n_correct", "k"} <= set(names):
            expr = "n_correct::double / nullif(k, 0)"
        else:
            raise ValueError(f"{snap.ref} has no pass_rate (or n_correct and k) column")
        k_sql = "count(distinct k), max(k)" if "k" in names else "0, null"
        _, krow = engine.rows(f"select {k_sql} from {src}")
        k = krow[0][1] if krow and krow[0][0] == 1 else None
        _, rows = engine.rows(f"select {expr} as r, count(*) from {src} where {expr} is not null group by 1 order by 1")
        return cp.histogram_figure(snap.name, [r[0] for r in rows], k, [r[1] for r in rows])
    if kind == "curves":
        if "step" not in names:
            raise ValueError(f"{snap.ref} has no step column")
        wanted = [(c, lab) for c, lab in (("reward_accuracy", "accuracy"), ("reward", "reward"),
                                          ("completion_tokens", "length (tokens)")) if c in names]
        aggs = ", ".join(f"avg({quote(c)})" for c, _ in wanted) or "count(*)"
        _, rows = engine.rows(f"select step, {aggs} from {src} group by step order by step")
        labels = [lab for _, lab in wanted] or ["rollouts"]
        return cp.curves_figure(snap.name, [r[0] for r in rows], {lab: [r[i + 1] for r in rows]
                                                                  for i, lab in enumerate(labels)})
    metrics = metric_columns(snap)
    if not metrics:
        raise ValueError(f"{snap.ref} has no numeric metric columns")
    label = next((c for c in ("checkpoint", "stage", "model", "benchmark", "name") if c in names), None)
    cols = ", ".join(quote(c) for c in metrics)
    lab_sql = f"cast({quote(label)} as varchar)" if label else "cast(row_number() over () as varchar)"
    _, rows = engine.rows(f"select {lab_sql}, {cols} from {src} limit 40")
    return cp.metrics_figure(snap.name, [r[0] for r in rows], {m: [r[i + 1] for r in rows]
                                                              for i, m in enumerate(metrics)})
