"""Shared pieces of the procedural task generators: the output record, prompt rendering, gold formatting."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from string import Formatter
from typing import NamedTuple

import numpy as np

LANGUAGES = ("en", "zh")  # index = the language code a generator receives


class Generated(NamedTuple):
    """Columns for ``m`` problems of one task kind (lists of length ``m``).

    ``answer`` is None for code tasks and ``tests`` is None for math tasks.
    """

    prompt: list[str]
    answer: list[str] | None
    tests: list[str] | None
    metadata: list[str]
    difficulty: np.ndarray


def render(templates: Sequence[Sequence[str]], lang: np.ndarray, variant: np.ndarray, **fields: Sequence) -> list[str]:
    """Fill a per-language template (picked by ``variant``) for every item.

    Args:
        templates: ``templates[language][k]`` is a ``str.format`` template with the ``fields`` names.
        lang: per-item language index into :data:`LANGUAGES`.
        variant: per-item phrasing choice (taken modulo the number of phrasings).
        fields: per-item values, one sequence per template field.

    >>> render([["{a}+{b}=?"], ["{a}加{b}等于几？"]], np.array([0, 1]), np.array([0, 0]), a=[1, 2], b=[3, 4])
    ['1+3=?', '2加4等于几？']
    """
    names = tuple(fields)
    columns = [np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
               for values in fields.values()]
    out = np.empty(len(lang), dtype=object)
    pick = lang.astype(np.int64) * 64 + variant  # one group per (language, phrasing)
    for key in np.unique(pick).tolist():
        rows = np.flatnonzero(pick == key)
        phrasings = templates[key // 64]
        fill = _positional(phrasings[(key % 64) % len(phrasings)], names).format
        out[rows] = list(map(fill, *(col[rows].tolist() for col in columns)))
    return out.tolist()


@lru_cache(maxsize=None)
def _positional(template: str, names: tuple[str, ...]) -> str:
    """``"{a} and {b}"`` -> ``"{0} and {1}"`` so templates can be filled with ``map`` (fast)."""
    parts = []
    for literal, field, spec, conversion in Formatter().parse(template):
        parts.append(literal.replace("{", "{{").replace("}", "}}"))
        if field is not None:
            parts.append("{" + str(names.index(field)) + (f"!{conversion}" if conversion else "")
                         + (f":{spec}" if spec else "") + "}")
    return "".join(parts)


def fraction_text(num: int, den: int) -> str:
    """A reduced fraction as math graders expect it: ``3``, ``-\\frac{3}{4}``.

    >>> fraction_text(-3, 4), fraction_text(6, 1)
    ('-\\\\frac{3}{4}', '6')
    """
    if den == 1:
        return str(num)
    return f"{'-' if num < 0 else ''}\\frac{{{abs(num)}}}{{{den}}}"


def reduce(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduce fractions elementwise and move signs to the numerator."""
    g = np.gcd(num, den)
    g[g == 0] = 1
    num, den = num // g, den // g
    sign = np.where(den < 0, -1, 1)
    return num * sign, den * sign


def ordinal(n: int) -> str:
    """English ordinal: 1st, 2nd, 3rd, 11th, 22nd.

    >>> [ordinal(k) for k in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '101st']
    """
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return str(n) + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def levels(rng: np.random.Generator, m: int) -> np.ndarray:
    """Draw a difficulty level 1..5 per item; generators size numbers and term counts from it."""
    return rng.integers(1, 6, size=m)
