"""Shared vocabulary of all graders: completion text, think/summary split, verdicts.

Every reward in this package is a pure function in TRL's shape
``reward(completions, **columns) -> list[float | None]`` (``None`` = not applicable), so one
implementation serves batch scoring of stored rollouts and GRPO training.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any, Sequence

from schemas.verdict import Verdict  # noqa: F401  (re-exported: rewards speak verdicts)


def completion_text(completion: Any) -> str:
    """The assistant text of one completion, in TRL's standard or conversational format.

    >>> completion_text("hi")
    'hi'
    >>> completion_text([{"role": "assistant", "content": "hi"}])
    'hi'
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence):
        return "".join(str(m.get("content") or "") for m in completion if isinstance(m, dict))
    return str(completion)


def completion_texts(completions: Sequence[Any]) -> list[str]:
    """``completion_text`` over a batch."""
    return [completion_text(c) for c in completions]


_THINK_END = re.compile(r"</think>", re.IGNORECASE)
_R1_SPECIAL = "|special_token|"


def split_think(text: str) -> tuple[str, str]:
    """Split a completion into (reasoning, summary).

    Understands R1-Zero's ``<think>…</think>`` and R1's readable cold-start format
    ``|special_token|<reasoning>|special_token|<summary>``. With neither marker the whole
    text is treated as reasoning and the summary is empty.

    >>> split_think("<think>a</think> b")
    ('a', 'b')
    >>> split_think("|special_token|a|special_token|b")
    ('a', 'b')
    """
    if _R1_SPECIAL in text:
        parts = text.split(_R1_SPECIAL)
        if len(parts) >= 3:
            return parts[1].strip(), _R1_SPECIAL.join(parts[2:]).strip()
    if text.isascii():  # O(1) check; lower() keeps every index of an ASCII text, so str.rfind decides
        low = text.lower()
        end = low.rfind("</think>")
        if end < 0:
            return text.strip(), ""
        start = low.rfind("<think>", 0, end)
        reasoning = text[start + len("<think>"):end] if start >= 0 else text[:end]
        return reasoning.strip(), text[end + len("</think>"):].strip()
    m = None
    for m in _THINK_END.finditer(text):  # noqa: B007  (the last match is wanted)
        pass
    if m is not None:
        head = text[: m.start()]
        start = head.lower().rfind("<think>")
        reasoning = head[start + len("<think>"):] if start >= 0 else head
        return reasoning.strip(), text[m.end():].strip()
    return text.strip(), ""


KERNEL_MIN_TEXTS = 256
"""Batches this large go through the compiled kernel (``text_kernel``: language, line and format
checks); smaller ones are not worth loading it (~0.5 s once per process, from numba's disk cache)."""
KERNEL_ENV = "R1_FACTORY_KERNEL"


def use_kernel(n: int) -> bool:
    """Whether a batch of ``n`` texts goes through ``text_kernel``: large enough, numba importable,
    and not switched off with ``R1_FACTORY_KERNEL=0`` (to compare against the Python paths, which
    give the same values: the kernel hands back every row it does not model)."""
    return n >= KERNEL_MIN_TEXTS and os.environ.get(KERNEL_ENV, "1") != "0" and _numba_installed()


@functools.lru_cache(maxsize=1)
def _numba_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("numba") is not None


_LAST_THINK_END = re.compile(r".*</think>", re.IGNORECASE | re.DOTALL)  # greedy: backtracks from the end
_NON_SPACE = re.compile(r"\S")  # re's \S is "not str.isspace()": what strip() would keep


def has_text(text: str, start: int = 0, end: int | None = None) -> bool:
    """``text[start:end].strip() != ""``, without copying the slice (a CoT is ~4k characters).

    >>> has_text("<think>   </think>", 7, 10), has_text("ab", 1)
    (False, True)
    """
    return _NON_SPACE.search(text, start, len(text) if end is None else end) is not None


def has_summary(text: str) -> bool:
    """``split_think(text)[1] != ""``, without lower-casing or slicing the reasoning.

    >>> has_summary("<think>a</think> 4"), has_summary("<think>a</THINK>  "), has_summary("no markers")
    (True, False, False)
    """
    if _R1_SPECIAL in text:
        return bool(split_think(text)[1])
    m = _LAST_THINK_END.match(text)
    return m is not None and has_text(text, m.end())


def broadcast(value: Any, n: int, name: str) -> list[Any]:
    """Accept a per-row list or a single value for a column; error clearly on a length mismatch."""
    if value is None:
        return [None] * n
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return [value] * n
    if len(value) != n:
        raise ValueError(f"column {name!r} has {len(value)} values for {n} completions")
    return list(value)
