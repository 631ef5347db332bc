"""What each page shows, computed from manifests and the engine: snapshot summaries, lineage, rollout rows.

Pages read only manifests and Parquet through the locked engine; nothing here writes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from factory.store.lineage import LineageNode, lineage
from factory.store.models import all_models
from factory.store.snapshot import REJECTS, Snapshot
from factory.store.store import Store
from factory.view.engine import Engine

TEXT_COLUMNS = ("completion", "messages")
FILTERS = ("verdict", "reason", "domain")
_THINK = re.compile(r"\s*(?:<think>)?(.*?)</think>(.*)", re.DOTALL)
_ANSWER = re.compile(r"\s*<answer>(.*?)</answer>\s*", re.DOTALL)
_SPECIAL = "|special_token|"


def quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def view_name(snap: Snapshot, split: str) -> str:
    """The catalog view of one split of one snapshot (``name@id`` or ``name@id__split``)."""
    return quote(snap.ref if split == snap.default_split else f"{snap.ref}__{split}")


def split_completion(text: str | None, reasoning: str | None = None) -> tuple[str | None, str]:
    """(reasoning, answer): a separate reasoning column wins, then ``<think>…</think>``, then R1's special tokens.

    >>> split_completion("<think>2+2=4</think><answer>4</answer>")
    ('2+2=4', '4')
    >>> split_completion("|special_token|hmm|special_token|42")
    ('hmm', '42')
    >>> split_completion("just text")
    (None, 'just text')
    """
    text = text or ""
    if reasoning:
        return reasoning, text
    if text.startswith(_SPECIAL) and text.count(_SPECIAL) >= 2:
        _, think, answer = text.split(_SPECIAL, 2)
        return think.strip(), answer.strip()
    m = _THINK.match(text)
    if m:
        answer = m.group(2).strip()
        a = _ANSWER.fullmatch(answer)
        return m.group(1).strip(), (a.group(1).strip() if a else answer)
    return None, text


# -- snapshots ------------------------------------------------------------------------------
def snapshot_rows(store: Store, q: str = "") -> list[dict[str, Any]]:
    """The list page: newest first, filtered by a case-insensitive substring of name, kind or builder."""
    out = []
    for s in reversed(store.list()):
        m = s.manifest
        hay = " ".join(str(x) for x in (s.ref, s.kind, m.get("builder"), m.get("description", ""))).lower()
        if q and q.lower() not in hay:
            continue
        out.append({"ref": s.ref, "name": s.name, "id": s.id, "kind": s.kind, "rows": s.num_rows,
                    "builder": f"{m.get('builder')}@{m.get('builder_version')}", "created": s.created_at[:19],
                    "synthetic": bool(m.get("synthetic")), "rejects": sum((m.get("rejects") or {}).values())})
    return out


def card_body(snap: Snapshot) -> str:
    """The card text without its YAML header (shown as-is: it is Markdown written for the Hub)."""
    path = snap.path / "README.md"
    text = path.read_text() if path.exists() else ""
    if text.startswith("---"):
        end = text.find("\n---", 3)
        text = text[end + 4:] if end > 0 else text
    return text.strip()


def text_column(snap: Snapshot) -> str | None:
    names = [c["name"] for c in snap.manifest.get("schema", [])]
    return next((c for c in TEXT_COLUMNS if c in names), None)


def plot_kinds(snap: Snapshot) -> list[str]:
    """Which view plots apply to a snapshot (same rules as the card plots, plus metrics tables)."""
    schema = {c["name"]: c["type"] for c in snap.manifest.get("schema", [])}
    kinds = []
    if snap.manifest.get("rejects"):
        kinds.append("funnel")
    if "pass_rate" in schema or {"n_correct", "k"} <= set(schema):
        kinds.append("pass_rate")
    if "step" in schema and snap.kind == "rollouts":
        kinds.append("curves")
    if metric_columns(snap) and snap.num_rows <= 1000 and not {"step", "problem_id"} & set(schema):
        kinds.append("metrics")
    return kinds


def metric_columns(snap: Snapshot) -> list[str]:
    """Numeric columns of a small table (a recipe report, eval results): drawn as grouped bars."""
    numeric = ("double", "float", "int", "decimal")
    skip = {"k", "n", "rows", "sample_idx", "seed", "step", "n_correct", "difficulty"}
    return [c["name"] for c in snap.manifest.get("schema", [])
            if any(t in c["type"] for t in numeric) and c["name"] not in skip]


# -- lineage --------------------------------------------------------------------------------
@dataclass
class GraphNode:
    key: str
    label: str
    sub: str
    href: str | None
    level: int
    parents: list[str] = field(default_factory=list)


def lineage_graph(store: Store, snap: Snapshot | None, model: dict[str, Any] | None = None) -> list[GraphNode]:
    """Nodes by level: the model (if any) on top, then the snapshot, its parents, ..., sources at the bottom."""
    nodes: dict[str, GraphNode] = {}
    top = 0
    if model is not None:
        data = str(model.get("data_ref") or "")
        nodes["model"] = GraphNode("model", str(model.get("path")), f"model · {model.get('trainer')}", None, 0, [data])
        top = 1

    def walk(node: LineageNode, level: int) -> None:
        prev = nodes.get(node.ref)
        if prev is not None:
            prev.level = max(prev.level, level)
        s = node.snapshot
        sub = f"{s.kind or 'table'} · {s.num_rows:,} rows" if s else "deleted from the store"
        n = nodes.setdefault(node.ref, GraphNode(node.ref, node.ref, sub, f"/s/{node.ref}" if s else None, level))
        n.parents = [p.ref for p in node.parents] + [f"source:{k}" for k in node.sources]
        for k, fp in node.sources.items():
            key = f"source:{k}"
            src = nodes.setdefault(key, GraphNode(key, k, f"source · {fp[:12]}", None, level + 1))
            src.level = max(src.level, level + 1)
        for p in node.parents:
            walk(p, level + 1)

    if snap is not None:
        walk(lineage(store, snap), top)
    return sorted(nodes.values(), key=lambda n: (n.level, n.key))


def lineage_svg(nodes: list[GraphNode]) -> str:
    """A layered SVG: one row per level, edges child → parent, each snapshot a link to its page."""
    w, h, gap_x, gap_y = 250, 46, 20, 50
    levels: dict[int, list[GraphNode]] = {}
    for n in nodes:
        levels.setdefault(n.level, []).append(n)
    width = max((len(v) for v in levels.values()), default=1) * (w + gap_x) + gap_x
    pos = {}
    for lvl, row in levels.items():
        x0 = (width - len(row) * (w + gap_x) + gap_x) / 2
        for i, n in enumerate(row):
            pos[n.key] = (x0 + i * (w + gap_x), gap_y / 2 + lvl * (h + gap_y))
    height = (max(levels, default=0) + 1) * (h + gap_y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="{width:.0f}" height="{height:.0f}">']
    for n in nodes:
        for p in n.parents:
            if p in pos:
                (x1, y1), (x2, y2) = pos[n.key], pos[p]
                parts.append(f'<line x1="{x1 + w / 2:.0f}" y1="{y1 + h:.0f}" x2="{x2 + w / 2:.0f}" y2="{y2:.0f}" '
                             'class="edge"/>')
    for n in nodes:
        x, y = pos[n.key]
        cls = "node" + (" model" if n.key == "model" else " source" if n.key.startswith("source:") else "")
        box = (f'<rect x="{x:.0f}" y="{y:.0f}" width="{w}" height="{h}" rx="6" class="{cls}"/>'
               f'<text x="{x + 8:.0f}" y="{y + 18:.0f}" class="label">{html.escape(_short(n.label, 34))}</text>'
               f'<text x="{x + 8:.0f}" y="{y + 36:.0f}" class="sub">{html.escape(n.sub)}</text>')
        parts.append(f'<a href="{html.escape(n.href)}">{box}</a>' if n.href else box)
    return "\n".join(parts + ["</svg>"])


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def find_model(store: Store, key: str) -> dict[str, Any] | None:
    """A model record by its path or the path's last component."""
    for m in all_models(store):
        path = str(m.get("path", ""))
        if key in (path, path.rstrip("/").rsplit("/", 1)[-1]):
            return m
    return None


# -- rollouts -------------------------------------------------------------------------------
def reject_sources(store: Store, snap: Snapshot) -> list[Snapshot]:
    """Children of ``snap`` whose ``rejects`` split names rows by problem_id/sample_idx (reasons to join)."""
    out = []
    for child in store.list():
        if snap.ref in child.parents.values() and child.has_split(REJECTS):
            import pyarrow.parquet as pq

            files = child.files(REJECTS)
            if files and {"problem_id", "sample_idx", "reason"} <= set(pq.read_schema(files[0]).names):
                out.append(child)
    return out


@dataclass
class RolloutSource:
    """A split to view, its columns, and (if any) a child's rejects view that names each row's reason."""

    view: str
    names: list[str]
    rejects: str | None

    @property
    def filters(self) -> list[str]:
        return [c for c in FILTERS if c in self.names or (c == "reason" and self.rejects)]


def rollout_source(store: Store, snap: Snapshot, split: str) -> RolloutSource:
    names = [c["name"] for c in snap.manifest.get("schema", [])] if split == snap.default_split else None
    if names is None:
        import pyarrow.parquet as pq

        names = pq.read_schema(snap.files(split)[0]).names
    keyed = {"problem_id", "sample_idx"} <= set(names)
    children = [] if "reason" in names or not keyed else reject_sources(store, snap)
    return RolloutSource(view_name(snap, split), names, view_name(children[-1], REJECTS) if children else None)


def rollout_query(src: RolloutSource, filters: dict[str, str]) -> tuple[str, list]:
    """(SQL, params) selecting the rows that pass the viewer's filters, in snapshot order.

    Reasons from a child's rejects filter by a semi-join on the row key (then ordered by key,
    since a join does not keep file order); without that filter no join runs at all."""
    where, params, order = [], [], ""
    for col in FILTERS:
        value = filters.get(col)
        if not value:
            continue
        if col in src.names:
            where.append(f"{quote(col)} is null" if value == "(none)" else f"{quote(col)} = ?")
            params += [] if value == "(none)" else [value]
        elif col == "reason" and src.rejects:
            keys = f"(select problem_id, sample_idx from {src.rejects}" + (" where reason = ?)" if value != "(none)"
                                                                           else ")")
            where.append(f"(problem_id, sample_idx) {'not in' if value == '(none)' else 'in'} {keys}")
            params += [] if value == "(none)" else [value]
            order = " order by problem_id, sample_idx"
    sql = f"select * from {src.view} as v" + (f" where {' and '.join(where)}" if where else "") + order
    return sql, params


def attach_reasons(engine: Engine, src: RolloutSource, rows: list[dict[str, Any]]) -> None:
    """Look up the reject reason of the shown rows only (a handful of keys, not a join over the table)."""
    if not src.rejects or not rows:
        return
    ids = sorted({str(r["problem_id"]) for r in rows})
    marks = ", ".join("?" * len(ids))
    _, found = engine.rows(f"select problem_id, sample_idx, any_value(reason) from {src.rejects} "
                           f"where problem_id in ({marks}) group by all", ids)
    reasons = {(p, i): r for p, i, r in found}
    for r in rows:
        r["reason"] = reasons.get((r["problem_id"], r["sample_idx"]))


def filter_values(engine: Engine, src: RolloutSource) -> dict[str, list[str]]:
    """Distinct values (top 50) of each filter, for the viewer's drop-downs."""
    out = {}
    for col in src.filters:
        table = src.view if col in src.names else src.rejects
        _, rows = engine.rows(f"select coalesce(cast({quote(col)} as varchar), '(none)') as v, count(*) as n "
                              f"from {table} as s group by 1 order by n desc limit 50")
        out[col] = [r[0] for r in rows]
    return out


def as_sample(row: dict[str, Any]) -> dict[str, Any]:
    """One row as the viewer shows it: reasoning and answer apart, verdict and rewards picked out."""
    text = row.get("completion")
    if text is None and isinstance(row.get("messages"), list):
        text = next((m.get("content") for m in reversed(row["messages"]) if m.get("role") == "assistant"), "")
    reasoning, answer = split_completion(text, row.get("reasoning"))
    rewards = {k: v for k, v in row.items() if (k.startswith("reward") or k in ("correct", "format_ok",
               "language_consistency", "advantage")) and v is not None}
    shown = {"completion", "messages", "reasoning", "prompt", "verdict", "reason"} | set(rewards)
    meta = {k: v for k, v in row.items() if k not in shown and v is not None and len(str(v)) < 200}
    return {"reasoning": reasoning, "answer": answer, "verdict": row.get("verdict"), "reason": row.get("reason"),
            "rewards": rewards, "meta": meta, "prompt": row.get("prompt"), "problem_id": row.get("problem_id"),
            "sample_idx": row.get("sample_idx")}
