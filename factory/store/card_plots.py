"""Plots for dataset cards and the web view: filter funnel, pass-rate histogram, per-step curves, metrics.

One implementation draws both: ``factory view`` shows these figures as SVG and a snapshot's
card embeds them as PNG files under ``plots/`` (so the Hub page shows them after publish).
The PNG is written at commit, after the id is fixed, so the id never depends on the image;
fixed fonts, size, DPI and no ``Software`` metadata make a rebuild byte-identical.
Which plots a snapshot gets follows from its data, not its name:

- ``funnel``: rows removed by each filter (the manifest's ``rejects``), from input to kept;
- ``pass_rate``: a ``pass_rate`` (or ``n_correct``/``k``) column: the difficulty histogram;
- ``curves``: a rollouts table with a ``step`` column (GRPO): accuracy, reward, length per step.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

PLOTS = "plots"
STYLE = {"font.family": "DejaVu Sans", "font.size": 9, "svg.fonttype": "none", "svg.hashsalt": "r1-factory",
         "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100, "savefig.dpi": 100}
COLOR, ACCENT = "#3b6ea5", "#c0504d"


@contextmanager
def _figure(rows: int = 1, height: float = 3.2) -> Iterator[Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.4, height * rows if rows > 1 else height), layout="constrained")
        yield fig


def to_png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def to_svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return buf.getvalue()


def funnel_stages(manifest: dict[str, Any]) -> list[tuple[str, int]]:
    """(stage, rows left) from input to kept: each reject reason removes its rows, largest first.

    >>> funnel_stages({"rejects": {"wrong": 3, "too_long": 1}, "splits": {"train": {"rows": 6}}})
    [('input', 10), ('- wrong', 7), ('- too_long', 6), ('kept', 6)]
    """
    rejects = manifest.get("rejects") or {}
    kept = sum(v["rows"] for k, v in manifest.get("splits", {}).items() if k != "rejects")
    left = kept + sum(rejects.values())
    stages = [("input", left)]
    for reason, n in rejects.items():
        left -= n
        stages.append((f"- {reason}", left))
    return stages + [("kept", kept)]


def funnel_figure(title: str, stages: Sequence[tuple[str, int]]) -> Any:
    with _figure(height=0.9 + 0.32 * len(stages)) as fig:
        ax = fig.subplots()
        labels, values = [s for s, _ in stages][::-1], [n for _, n in stages][::-1]
        colors = [ACCENT if lab.startswith("- ") else COLOR for lab in labels]
        ax.barh(range(len(values)), values, color=colors)
        ax.set_yticks(range(len(values)), labels)
        top = max(values) if values else 1
        for i, v in enumerate(values):
            ax.text(v + top * 0.01, i, f"{v:,}", va="center", fontsize=8)
        ax.set_xlim(0, top * 1.15 or 1)
        ax.set_xlabel("rows")
        ax.set_title(f"{title}: filter funnel")
        return fig


def histogram_figure(title: str, pass_rates: Sequence[float], k: int | None = None,
                     weights: Sequence[int] | None = None) -> Any:
    """Pass rate per prompt; with ``k`` samples the bins are the k+1 possible rates (``weights``: counts per value)."""
    with _figure() as fig:
        ax = fig.subplots()
        bins = [(i - 0.5) / k for i in range(k + 2)] if k else [i / 10 for i in range(11)]
        ax.hist([float(x) for x in pass_rates], bins=bins, weights=weights, color=COLOR, edgecolor="white")
        ax.set_xlabel("pass rate under the policy" + (f" (k={k})" if k else ""))
        ax.set_ylabel("prompts")
        total = sum(weights) if weights is not None else len(pass_rates)
        ax.set_title(f"{title}: pass-rate histogram ({total:,} prompts)")
        return fig


def curves_figure(title: str, steps: Sequence[int], series: dict[str, Sequence[float | None]]) -> Any:
    """One panel per series (accuracy, reward, length) against the training step."""
    names = list(series) or ["(no metric)"]
    with _figure(rows=len(names), height=1.7) as fig:
        axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
        for ax, name in zip(axes, names):
            ys = series.get(name, [])
            ax.plot(list(steps), [float("nan") if y is None else y for y in ys], color=COLOR, marker=".", lw=1.2)
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
        axes[-1].set_xlabel("step")
        axes[0].set_title(f"{title}: per step")
        return fig


def metrics_figure(title: str, labels: Sequence[str], metrics: dict[str, Sequence[float | None]]) -> Any:
    """Grouped bars: one group per row label (checkpoint / stage), one bar per metric."""
    with _figure() as fig:
        ax = fig.subplots()
        names = list(metrics)
        width = 0.8 / max(len(names), 1)
        for j, name in enumerate(names):
            xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(labels))]
            ax.bar(xs, [0.0 if v is None else float(v) for v in metrics[name]], width, label=name)
        ax.set_xticks(range(len(labels)), [str(x) for x in labels], rotation=20, ha="right")
        if names:
            ax.legend(fontsize=7, frameon=False)
        ax.set_title(f"{title}: metrics")
        ax.grid(alpha=0.3, axis="y")
        return fig


# -- card plots: computed from the work folder at commit ------------------------------------
def _columns(files: Sequence[Path]) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(files[0]).names if files else []


def _pass_rates(files: Sequence[Path], names: list[str]) -> tuple[list[float], int | None]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    cols = [c for c in ("pass_rate", "n_correct", "k") if c in names]
    rates: list[float] = []
    ks: set[int] = set()
    for f in files:
        t = pq.read_table(f, columns=cols)
        if "pass_rate" in cols:
            rates += t.column("pass_rate").to_pylist()
        else:
            rates += pc.divide(t.column("n_correct").cast("double"), t.column("k").cast("double")).to_pylist()
        if "k" in cols:
            ks.update(x for x in t.column("k").to_pylist() if x)
    return [r for r in rates if r is not None], (ks.pop() if len(ks) == 1 else None)


def step_series(files: Sequence[Path], names: list[str]) -> tuple[list[int], dict[str, list[float | None]]]:
    """Mean accuracy, reward and completion length per step, aggregated file by file (bounded memory)."""
    import pyarrow.parquet as pq

    wanted = [c for c in ("reward_accuracy", "reward", "completion_tokens") if c in names]
    sums: dict[int, list[float]] = {}
    counts: dict[int, list[int]] = {}
    for f in files:
        t = pq.read_table(f, columns=["step", *wanted])
        agg = t.group_by("step").aggregate([(c, "sum") for c in wanted] + [(c, "count") for c in wanted])
        for row in agg.to_pylist():
            s = sums.setdefault(row["step"], [0.0] * len(wanted))
            n = counts.setdefault(row["step"], [0] * len(wanted))
            for i, c in enumerate(wanted):
                s[i] += row[f"{c}_sum"] or 0.0
                n[i] += row[f"{c}_count"]
    steps = sorted(sums)
    label = {"reward_accuracy": "accuracy", "reward": "reward", "completion_tokens": "length (tokens)"}
    series = {label[c]: [sums[s][i] / counts[s][i] if counts[s][i] else None for s in steps]
              for i, c in enumerate(wanted)}
    return steps, series


def card_plots(folder: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """Render the plots that apply to this snapshot into ``folder/plots``; returns {title: relative path}."""
    name = manifest["name"]
    splits = {k: v for k, v in manifest.get("splits", {}).items() if k != "rejects"}
    first = next(iter(splits.values()), {"files": []})
    files = [folder / f for f in first["files"]]
    names = _columns(files)
    figures: dict[str, tuple[str, Any]] = {}
    if manifest.get("rejects"):
        figures["filter funnel"] = ("funnel.png", lambda: funnel_figure(name, funnel_stages(manifest)))
    if "pass_rate" in names or {"n_correct", "k"} <= set(names):
        figures["pass-rate histogram"] = ("pass_rate.png", lambda: histogram_figure(name, *_pass_rates(files, names)))
    if "step" in names and manifest.get("kind") == "rollouts":
        figures["training curves"] = ("curves.png", lambda: curves_figure(name, *step_series(files, names)))
    out: dict[str, str] = {}
    for title, (fname, make) in figures.items():
        (folder / PLOTS).mkdir(exist_ok=True)
        (folder / PLOTS / fname).write_bytes(to_png(make()))
        out[title] = f"{PLOTS}/{fname}"
    return out
