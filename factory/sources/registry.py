"""The source registry: a short spec string or dict names a source kind and its options.

It lives apart from ``base`` so the base class knows none of its subclasses."""

from __future__ import annotations

import urllib.parse
from typing import Any, Mapping

from factory.sources.base import Source, one_line
from factory.sources.files import FileSource
from factory.sources.general import GeneralSource
from factory.sources.hf import HFSource
from factory.sources.procedural import ProceduralSource
from factory.sources.reasoning_gym import ReasoningGymSource


def source_from_spec(spec: str | Mapping[str, Any] | Source) -> Source:
    """Build a source from a short string or a dict.

    Args:
        spec: a string — ``"procedural:n=1000,seed=0"`` (any :class:`ProceduralConfig` field,
            weights as ``languages=en:0.7|zh:0.3``), ``"hf:ORG/NAME"`` (options as a query:
            ``"hf:openai/gsm8k?name=main&split=test"``), ``"files:PATH"`` or a bare path to a
            .jsonl/.json/.parquet/.csv file, a glob or a folder — or a dict
            ``{"kind": "files" | "hf" | "procedural", ...}`` holding that source's keyword
            arguments, e.g. ``{"kind": "hf", "path": "openai/gsm8k", "split": "train",
            "mapping": {"question": "prompt"}}``. A Source is returned as is.

    Returns:
        The source.

    Raises:
        ValueError: the spec names an unknown kind or option.
    """
    if isinstance(spec, Source):
        return spec
    if isinstance(spec, Mapping):
        return _from_dict(dict(spec))
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"source spec {spec!r} is empty; use e.g. 'procedural:n=1000', 'hf:ORG/NAME' or a file path")
    head, _, rest = spec.partition(":")
    if head == "procedural":
        options = dict(_pair(item, spec) for item in rest.split(",") if item.strip())
        return _from_dict({"kind": "procedural", **options})
    if head == "hf":
        path, _, query = rest.partition("?")
        return _from_dict({"kind": "hf", "path": path, **dict(urllib.parse.parse_qsl(query))})
    if head == "files":
        return _from_dict({"kind": "files", "path": rest})
    if head == "reasoning-gym":
        return _from_dict({"kind": "reasoning-gym", "tasks": rest})
    return _from_dict({"kind": "files", "path": spec})


def _pair(item: str, spec: str) -> tuple[str, str]:
    key, eq, value = item.partition("=")
    if not eq:
        raise ValueError(f"source spec {spec!r}: option {item!r} is not key=value, e.g. 'procedural:n=1000,seed=0'")
    return key.strip(), value.strip()


def _from_dict(options: dict[str, Any]) -> Source:
    kinds = {"files": FileSource, "hf": HFSource, "procedural": ProceduralSource.from_options, "general": GeneralSource,
             "reasoning-gym": ReasoningGymSource}
    kind = options.pop("kind", None)
    if kind not in kinds:
        raise ValueError(f"source kind {kind!r} is unknown; use one of {sorted(kinds)}")
    try:
        return kinds[kind](**options)
    except TypeError as e:
        raise ValueError(f"bad options for a {kind} source: {one_line(e)}") from None
