"""Lookup of named, versioned objects (prompt templates, judge prompts) by ``name`` or ``name@version``."""

from __future__ import annotations

from typing import Any, Mapping


def lookup(registry: Mapping[str, Any], name: str, what: str) -> Any:
    """The object registered as ``name``; a pinned ``@version`` must be the one this code has.

    >>> class T: version, ref = "1.0.0", "t@1.0.0"
    >>> lookup({"t": T}, "t@1.0.0", "template") is T
    True
    """
    base, _, version = name.partition("@")
    if base not in registry:
        raise ValueError(f"unknown {what} {name!r}; known {what}s: {sorted(registry)}")
    obj = registry[base]
    if version and version != obj.version:
        raise ValueError(f"{what} {name!r}: this code has {obj.ref}; use {obj.ref} "
                         f"or check out the code version that had {name}")
    return obj
