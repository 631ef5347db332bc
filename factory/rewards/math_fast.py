"""Decide answer pairs without SymPy when exact or numeric reasoning suffices (the common case)."""

from __future__ import annotations

import re
from fractions import Fraction

from factory.rewards.base import Verdict
from factory.rewards.math_extract import MAX_ANSWER_CHARS
from factory.rewards.math_normalize import (
    Choice,
    Num,
    Seq,
    Text,
    classify,
    infinity_key,
    pred_choice,
    read,
)
from factory.rewards.math_numeric import SimpleExpr, compile_latex, evaluate, sample_points

_C, _W = Verdict.CORRECT, Verdict.WRONG
_REL_TOL = Fraction(1, 10_000)
"""Decimals farther apart than this are WRONG here; nearer ones go to math-verify's rounding rules."""
_EXPLICIT = re.compile(r"^([a-zA-Z])=([^=<>]+)$")
_FLOAT_SAME, _FLOAT_APART = 1e-10, 1e-6
"""Simple expressions whose float values agree to 1e-10 (relative) are equal; beyond 1e-6 they
differ; in between math-verify decides."""


def gold_status(gold: str) -> Verdict | None:
    """``UNVERIFIABLE`` for a gold that is empty, oversized, has no letter or digit, or has
    unbalanced braces; ``None`` when it may be fine (math-verify may still reject it)."""
    if len(gold) > MAX_ANSWER_CHARS or not any(c.isalnum() for c in gold):
        return Verdict.UNVERIFIABLE
    if gold.count("{") - gold.count("\\{") != gold.count("}") - gold.count("\\}"):
        return Verdict.UNVERIFIABLE
    return None


def fast_verdict(pred: str | None, gold: str) -> Verdict | None:
    """Verdict for ``(extracted answer, gold answer)`` when exact reasoning suffices, else ``None``.

    ``None`` means "ask math-verify". A missing prediction is WRONG once the gold is known to be
    readable here (number, tuple, choice, text); otherwise the gold must still be checked.

    >>> fast_verdict("0.5", r"\\frac{1}{2}")
    <Verdict.CORRECT: 'correct'>
    >>> fast_verdict("3.2", "3,2")
    <Verdict.WRONG: 'wrong'>
    >>> fast_verdict(r"\\sqrt{12}", r"2\\sqrt{3}")
    <Verdict.CORRECT: 'correct'>
    >>> fast_verdict("(x+1)^2", "x^2+2x+1")
    <Verdict.CORRECT: 'correct'>
    >>> fast_verdict("3x - y + 5 = 0", "y = 3x + 5") is None
    True
    """
    status = gold_status(gold)
    if status is not None:
        return status
    g_norm, g = read(gold)
    p_norm, p = read(pred) if pred is not None and len(pred) <= MAX_ANSWER_CHARS else ("", None)
    if not p_norm:
        return _W if not isinstance(g, str) else None
    if p_norm == g_norm:
        return _C
    return compare(p, g, pred)


def compare(p, g, pred_raw: str | None = None) -> Verdict | None:
    """Compare classified values (see ``classify``); ``None`` when undecidable here."""
    if isinstance(g, Choice):
        letter = p.letter if isinstance(p, Choice) else pred_choice(pred_raw or "")
        return _C if letter == g.letter else _W
    if isinstance(g, Text):
        if isinstance(p, Text) and p.key == g.key:
            return _C
        return None if g.has_digits else _W
    if isinstance(g, Num):
        return _compare_num(p, g)
    if isinstance(g, Seq):
        return _compare_seq(p, g)
    if isinstance(p, Choice) or (isinstance(p, Text) and not p.has_digits):
        return _W
    explicit_p, explicit_g = _EXPLICIT.match(str(p)), _EXPLICIT.match(str(g))
    if explicit_p and explicit_g:  # y = f(x) vs y = g(x): same equation iff f = g
        same_var = explicit_p.group(1) == explicit_g.group(1)
        return _float_verdict(explicit_p.group(2), explicit_g.group(2)) if same_var else None
    return _float_verdict(p, g)


def _compare_num(p, g: Num) -> Verdict | None:
    if isinstance(p, Num):
        return _num_verdict(p, g)
    if isinstance(p, (Seq, Choice)) or (isinstance(p, Text) and not p.has_digits):
        return _W
    return _float_verdict(p, g)


def _readings(x) -> list[SimpleExpr | float] | None:
    """A number's float value(s) (both for a percent) or a simple expression; None otherwise."""
    if isinstance(x, Num):
        return [float(x.value), float(x.value / 100)] if x.percent else [float(x.value)]
    expr = compile_latex(x) if isinstance(x, str) else None
    return None if expr is None else [expr]


def _float_verdict(p, g) -> Verdict | None:
    """Compare simple expressions by value: at 3 sample points when they have variables
    (``(x+1)^2`` vs ``x^2+2x+1``). A clear difference at a point is WRONG; agreement everywhere
    is CORRECT; anything else (or an unreadable side) is left to math-verify."""
    ps, gs = _readings(p), _readings(g)
    if not ps or not gs:
        return None
    names = frozenset().union(*(r.variables for r in ps + gs if isinstance(r, SimpleExpr)))
    verdicts = {_points_verdict(a, b, names) for a in ps for b in gs}
    if _C in verdicts:
        return _C
    return _W if verdicts == {_W} else None


def _points_verdict(a: SimpleExpr | float, b: SimpleExpr | float, names: frozenset[str]) -> Verdict | None:
    pairs = []
    for env in sample_points(names) if names else [{}]:
        va = a if isinstance(a, float) else evaluate(a, env)
        vb = b if isinstance(b, float) else evaluate(b, env)
        if va is not None and vb is not None:
            pairs.append((va, vb))
    if not pairs or (names and len(pairs) < 2):
        return None
    if any(abs(x - y) / max(1.0, abs(x), abs(y)) > _FLOAT_APART for x, y in pairs):
        return _W
    # floor-free relative test, so tiny values (1/2^99 vs 1/2^98) go to the exact comparison
    same = all(x == y or abs(x - y) <= _FLOAT_SAME * max(abs(x), abs(y)) for x, y in pairs)
    return _C if same else None


def _num_verdict(p: Num, g: Num) -> Verdict | None:
    """Equal (allowing ``50%`` = 50 = 0.5, as math-verify does) → CORRECT; exact and unequal → WRONG."""
    golds = {g.value, g.value / 100} if g.percent else {g.value}
    preds = {p.value, p.value / 100} if p.percent else {p.value}
    if golds & preds:
        return _C
    if p.exact and g.exact:
        return _W
    gap = min(abs(a - b) / max(1, abs(b)) for a in preds for b in golds)
    return _W if gap > _REL_TOL else None


def _compare_seq(p, g: Seq) -> Verdict | None:
    if isinstance(p, (Num, Choice)) or (isinstance(p, Text) and not p.has_digits):
        return _W
    if not isinstance(p, Seq):
        return None
    if len(p.items) != len(g.items):
        return _W
    mode = _seq_mode(p, g)
    if mode == "wrong":
        return _W
    if mode is None:
        return None
    if mode == "ordered":
        return _all_items(_item_verdict(a, b) for a, b in zip(p.items, g.items))
    return _unordered(p.items, g.items)


def _seq_mode(p: Seq, g: Seq) -> str | None:
    """How two sequences compare: ``ordered``, ``unordered``, ``wrong`` (brackets differ) or None."""
    if "{" in (p.open, g.open):
        return "unordered" if p.open == g.open or "" in (p.open, g.open) else None
    if g.open == "":
        return {"": "unordered", "(": "unordered"}.get(p.open)
    if p.open == "":
        return "ordered" if g.open == "(" and g.close == ")" else None
    if (p.open, p.close) != (g.open, g.close):
        return "wrong"
    return "ordered"


def _item_verdict(a: str, b: str) -> Verdict | None:
    if a == b:
        return _C
    inf_a, inf_b = infinity_key(a), infinity_key(b)
    if inf_a or inf_b:
        return _C if inf_a == inf_b else _W
    va, vb = classify(a), classify(b)
    if isinstance(va, Num) and isinstance(vb, Num):
        return _num_verdict(va, vb)
    if isinstance(va, (Num, str)) and isinstance(vb, (Num, str)):
        return _float_verdict(va, vb)
    return None


def _all_items(verdicts) -> Verdict | None:
    result = _C
    for v in verdicts:
        if v is _W:
            return _W
        if v is None:
            result = None
    return result


def _unordered(ps: tuple[str, ...], gs: tuple[str, ...]) -> Verdict | None:
    """Multiset match; decided only when every item pair is decidable."""
    remaining = list(ps)
    for g in gs:
        verdicts = [_item_verdict(p, g) for p in remaining]
        if None in verdicts:
            return None
        if _C not in verdicts:
            return _W
        remaining.pop(verdicts.index(_C))
    return _C
