"""Lineage: walk parents down to sources, find what is still referenced (for gc)."""

from __future__ import annotations

from dataclasses import dataclass, field

from factory.errors import SnapshotNotFound
from factory.store.snapshot import Snapshot
from factory.store.store import Store


@dataclass
class LineageNode:
    ref: str
    snapshot: Snapshot | None  # None when the parent was deleted from the store
    parents: list["LineageNode"] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def lineage(store: Store, snap: Snapshot, _seen: set[str] | None = None) -> LineageNode:
    """The tree of ``snap``'s parents, recursively, with each node's source fingerprints."""
    seen = _seen if _seen is not None else set()
    node = LineageNode(snap.ref, snap, sources=dict(snap.manifest.get("sources", {})))
    seen.add(snap.ref)
    for pref in snap.parents.values():
        try:
            parent = store.get(pref)
        except SnapshotNotFound:
            node.parents.append(LineageNode(pref, None))
            continue
        node.parents.append(lineage(store, parent, seen) if pref not in seen else LineageNode(pref, parent))
    return node


def referenced(store: Store) -> set[str]:
    """Refs kept by gc: the latest of every name, and every ancestor of a kept snapshot."""
    snaps = store.list()
    by_ref = {s.ref: s for s in snaps}
    latest = {s.name: s.ref for s in snaps}
    keep: set[str] = set()
    todo = list(latest.values())
    while todo:
        ref = todo.pop()
        if ref in keep:
            continue
        keep.add(ref)
        if ref in by_ref:
            todo.extend(by_ref[ref].parents.values())
    return keep
