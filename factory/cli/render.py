"""Rich rendering of results: tables for listings and queries, a tree for lineage."""

from __future__ import annotations

from typing import Any, Sequence

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from factory.store.lineage import LineageNode
from factory.store.snapshot import Snapshot

console = Console()


def snapshots_table(snaps: Sequence[Snapshot]) -> Table:
    t = Table(title="snapshots", show_lines=False)
    for col, kw in (("name", {"style": "bold", "no_wrap": True}), ("id", {"no_wrap": True}),
                    ("rows", {"justify": "right", "no_wrap": True}), ("created", {"no_wrap": True}),
                    ("builder", {}), ("parents", {})):
        t.add_column(col, **kw)
    for s in snaps:
        m = s.manifest
        t.add_row(s.name, s.id, f"{s.num_rows:,}", s.created_at[5:16].replace("T", " "),
                  f"{m.get('builder')}@{m.get('builder_version')}", "\n".join(s.parents.values()) or "-")
    return t


def rows_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
               max_cell: int = 80) -> Table:
    t = Table(title=title)
    for i, c in enumerate(columns):
        t.add_column(str(c), overflow="fold", no_wrap=i == 0)
    for r in rows:
        t.add_row(*[_cell(v, max_cell) for v in r])
    return t


def print_tables(manifest: dict[str, Any]) -> None:
    """Print the result tables a builder noted in its manifest (the eval metrics table)."""
    for title, table in (manifest.get("tables") or {}).items():
        console.print(rows_table(table["columns"], table["rows"], title=title))
        if table.get("note"):
            console.print(f"[dim]{table['note']}[/dim]")


def _cell(v: Any, max_cell: int) -> str:
    if v is None:
        return "[dim]null[/dim]"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    s = str(v).replace("[", r"\[")
    return s if len(s) <= max_cell else s[: max_cell - 1] + "…"


def lineage_tree(node: LineageNode) -> Tree:
    def label(n: LineageNode) -> str:
        if n.model is not None:
            return f"[cyan]model[/cyan] {n.ref[len('model:'):]}  {n.model.get('trainer')} on {n.model.get('data_ref')}"
        if n.snapshot is None:
            return f"[red]{n.ref}[/red] (deleted)"
        m = n.snapshot.manifest
        return f"[bold]{n.ref}[/bold]  {m.get('builder')}@{m.get('builder_version')}  {n.snapshot.num_rows:,} rows"

    tree = Tree(label(node))

    def add(t: Tree, n: LineageNode) -> None:
        for name, fp in n.sources.items():
            t.add(f"[green]source[/green] {name}: {fp}")
        for p in n.parents:
            add(t.add(label(p)), p)

    add(tree, node)
    return tree


def schema_table(snap: Snapshot) -> Table:
    t = Table(title="schema")
    t.add_column("column")
    t.add_column("type")
    for c in snap.manifest.get("schema", []):
        t.add_row(c["name"], c["type"])
    return t


def splits_table(snap: Snapshot) -> Table:
    t = Table(title="splits")
    for c in ("split", "rows", "files", "bytes"):
        t.add_column(c, justify="right" if c != "split" else "left")
    for split, info in snap.manifest.get("splits", {}).items():
        t.add_row(split, f"{info['rows']:,}", str(len(info["files"])), f"{info.get('bytes', 0):,}")
    return t


def counts_table(title: str, counts: dict[str, Any], key: str = "reason", value: str = "rows") -> Table:
    t = Table(title=title)
    t.add_column(key)
    t.add_column(value, justify="right")
    for k, v in counts.items():
        t.add_row(str(k), f"{v:,}" if isinstance(v, int) else str(v))
    return t
