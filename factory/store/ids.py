"""Content-addressed snapshot ids: same inputs give the same id, so a rebuild is a cache hit."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any

ID_LEN = 12
_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]*)(?:@(?P<id>[0-9a-f]{4,64}))?$")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, dataclasses and tuples normalised) used for hashing."""

    def default(o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return dataclasses.asdict(o)
        if isinstance(o, (set, frozenset)):
            return sorted(o)
        if hasattr(o, "isoformat"):
            return o.isoformat()
        return str(o)

    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=default, ensure_ascii=False)


def snapshot_id(
    builder: str,
    version: str,
    config: Any,
    parents: dict[str, str] | None = None,
    sources: dict[str, str] | None = None,
) -> str:
    """Hash of builder name + VERSION + resolved config + parent ids + source fingerprints.

    >>> snapshot_id("problems", "1.0.0", {"n": 3}) == snapshot_id("problems", "1.0.0", {"n": 3})
    True
    >>> snapshot_id("problems", "1.0.0", {"n": 3}) == snapshot_id("problems", "1.0.1", {"n": 3})
    False
    """
    payload = canonical_json(
        {"builder": builder, "version": version, "config": config, "parents": parents or {}, "sources": sources or {}}
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:ID_LEN]


def parse_ref(ref: str) -> tuple[str, str | None]:
    """Split ``name`` or ``name@id`` (id may be a unique prefix).

    >>> parse_ref("reasoning@3fa2c1")
    ('reasoning', '3fa2c1')
    >>> parse_ref("cold-start")
    ('cold-start', None)
    """
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"bad snapshot reference {ref!r}: expected NAME or NAME@ID (letters, digits, _ . -)")
    return m.group("name"), m.group("id")


def check_name(name: str) -> str:
    """Validate a snapshot name (it becomes a folder and a SQL view)."""
    name_, id_ = parse_ref(name)
    if id_ is not None:
        raise ValueError(f"snapshot name {name!r} must not contain '@'")
    return name_


def sql_names(name: str) -> list[str]:
    """The catalog's view names of a snapshot name: itself, and with ``-`` as ``_`` (no quotes needed).

    >>> sql_names("cold-start")
    ['cold-start', 'cold_start']
    """
    alias = name.replace("-", "_")
    return [name] if alias == name else [name, alias]


def check_view_aliases(name: str, existing: list[str]) -> None:
    """Refuse a new snapshot name whose SQL views would collide with an existing name's.

    ``c_d`` collides with ``c-d`` (both are the view ``c_d``); ``x__rejects`` with ``x``, whose
    split views are ``x__<split>``. The catalog would have to drop one of them.

    >>> check_view_aliases("c_d", ["c-d"])
    Traceback (most recent call last):
    ...
    factory.errors.InputError: snapshot name 'c_d' collides with the existing snapshot 'c-d' in SQL (view c_d); choose another name
    """
    from factory.errors import InputError

    mine = sql_names(name)
    for other in existing:
        if other == name:
            continue
        theirs = sql_names(other)
        for a in mine:
            for b in theirs:
                if a == b or a.startswith(b + "__") or b.startswith(a + "__"):
                    view = a if a == b else min(a, b, key=len) + "__…"
                    raise InputError(f"snapshot name {name!r} collides with the existing snapshot {other!r} in SQL "
                                     f"(view {view}); choose another name")
