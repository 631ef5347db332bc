"""Decide answer pairs without SymPy when exact or numeric reasoning suffices (the common case)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

from factory.rewards.base import Verdict
from factory.rewards.math_extract import MAX_ANSWER_CHARS
from factory.rewards.math_normalize import (
    Choice,
    Num,
    Seq,
    Text,
    Union,
    classify,
    infinity_key,
    pred_choice,
    read,
)
from factory.rewards.math_numeric import SimpleExpr, compile_latex, evaluate, exact_value, sample_points

_C, _W = Verdict.CORRECT, Verdict.WRONG
DECIMAL_DIGITS = 4
"""A decimal stands for an exact value it rounds or truncates (``0.3333`` for 1/3) only when it has
at least this many significant digits; a shorter one (``0.33``) is taken as exact. This is the
grader's only tolerance; it is configurable and enters the grader version."""
_EXPLICIT = re.compile(r"^([a-zA-Z])=([^=<>]+)$")
_FLOAT_SAME, _FLOAT_APART = 1e-13, 1e-6
"""Simple irrational expressions whose float values agree to 1e-13 (relative) are equal; beyond
1e-6 they differ; in between math-verify decides. Exact rationals never go through floats."""
_BIG_LITERAL = re.compile(r"\d{7}")
_MAX_DEN_VS_IRRATIONAL = 10_000
"""An exact rational with a larger denominator is never found equal to an irrational expression by
floats (355/113 is close to pi)."""
_EMPTY_ARG = re.compile(r"\\(?:[dtc]?frac|sqrt|text|mathrm|boxed|overline|mathbf)\s*\{\s*\}")
_DANGLING = re.compile(r"(?:[+*/^_=]|\\(?:cdot|times|div|frac|dfrac|sqrt|pm))\s*$|^\s*[*/^_=]")
_INT = re.compile(r"-?\d{1,300}$")
_FRAC_CMD = re.compile(r"\\[dtc]?frac(?![a-zA-Z])")


@functools.lru_cache(maxsize=1 << 14)
def gold_status(gold: str) -> Verdict | None:
    """``UNVERIFIABLE`` for a gold that is empty, oversized, has no letter or digit, is malformed
    (unbalanced braces or brackets, an empty or missing command argument, a dangling operator);
    ``None`` when it may be fine (math-verify may still reject it).

    >>> gold_status(r"\\frac{}{}"), gold_status("(1,2"), gold_status(r"\\frac{1}"), gold_status("[0,1)")
    (<Verdict.UNVERIFIABLE: 'unverifiable'>, <Verdict.UNVERIFIABLE: 'unverifiable'>, \
<Verdict.UNVERIFIABLE: 'unverifiable'>, None)
    """
    if len(gold) > MAX_ANSWER_CHARS or not any(c.isalnum() for c in gold):
        return Verdict.UNVERIFIABLE
    if gold.count("{") - gold.count("\\{") != gold.count("}") - gold.count("\\}"):
        return Verdict.UNVERIFIABLE
    bare = gold.replace("\\{", "").replace("\\}", "").replace("\\left.", "").replace("\\right.", "")
    if bare.count("(") + bare.count("[") != bare.count(")") + bare.count("]"):
        return Verdict.UNVERIFIABLE
    if _EMPTY_ARG.search(gold) or _DANGLING.search(gold) or not _fracs_complete(gold):
        return Verdict.UNVERIFIABLE
    return None


def _fracs_complete(s: str) -> bool:
    """Every ``\\frac`` has two arguments (a brace group or one character each)."""
    for m in _FRAC_CMD.finditer(s):
        i = m.end()
        for _ in range(2):
            while i < len(s) and s[i] == " ":
                i += 1
            if i >= len(s) or s[i] in "}^_=+-*/)],":
                return False
            if s[i] == "{":
                depth, j = 0, i
                while j < len(s):
                    depth += {"{": 1, "}": -1}.get(s[j], 0)
                    if depth == 0:
                        break
                    j += 1
                i = j + 1
            elif s[i] == "\\":
                cmd = re.match(r"\\[a-zA-Z]+", s[i:])
                i += cmd.end() if cmd else 2
            else:
                i += 1
    return True


def fast_verdict(pred: str | None, gold: str, digits: int = DECIMAL_DIGITS) -> Verdict | None:
    """Verdict for ``(extracted answer, gold answer)`` when exact reasoning suffices, else ``None``.

    ``None`` means "ask math-verify". A missing prediction is WRONG once the gold is known to be
    readable here (number, tuple, choice, text); otherwise the gold must still be checked.
    ``digits`` is the decimal tolerance (see ``DECIMAL_DIGITS``).

    >>> fast_verdict("0.5", r"\\frac{1}{2}")
    <Verdict.CORRECT: 'correct'>
    >>> fast_verdict("3.2", "3,2")
    <Verdict.WRONG: 'wrong'>
    >>> fast_verdict(r"\\sqrt{12}", r"2\\sqrt{3}")
    <Verdict.CORRECT: 'correct'>
    >>> fast_verdict("(x+1)^2", "x^2+2x+1")
    <Verdict.CORRECT: 'correct'>
    >>> fast_verdict("10^{20}", "10^{20}+1")
    <Verdict.WRONG: 'wrong'>
    >>> fast_verdict("3x - y + 5 = 0", "y = 3x + 5")
    <Verdict.CORRECT: 'correct'>
    >>> fast_verdict(r"\\sin^{-1} x", r"\\arcsin x") is None
    True
    """
    if pred is not None and _INT.match(pred) and _INT.match(gold):  # the common case, decided at once
        return _C if int(pred) == int(gold) else _W
    status = gold_status(gold)
    if status is not None:
        return status
    g_norm, g = read(gold)
    p_norm, p = read(pred) if pred is not None and len(pred) <= MAX_ANSWER_CHARS else ("", None)
    if not p_norm:
        return _W if not isinstance(g, str) else None
    if p_norm == g_norm:
        return _C
    return compare(p, g, pred, digits)


def compare(p, g, pred_raw: str | None = None, digits: int = DECIMAL_DIGITS) -> Verdict | None:
    """Compare classified values (see ``classify``); ``None`` when undecidable here."""
    if isinstance(g, Choice):
        letter = p.letter if isinstance(p, Choice) else pred_choice(pred_raw or "")
        if letter is None and g.text and pred_raw is not None:
            return _C if fast_verdict(pred_raw, g.text, digits) is _C else _W  # "12" for "(B) 12"
        return _C if letter == g.letter else _W
    if isinstance(g, Text):
        if isinstance(p, Text) and p.key == g.key:
            return _C
        return None if g.has_digits else _W
    if isinstance(g, Num):
        return _compare_num(p, g, digits)
    if isinstance(g, Seq):
        return _compare_seq(p, g, digits)
    if isinstance(g, Union):
        return _compare_union(p, g, digits)
    if isinstance(p, (Choice, Union)) or (isinstance(p, Text) and not p.has_digits):
        return _W
    explicit_p, explicit_g = _EXPLICIT.match(str(p)), _EXPLICIT.match(str(g))
    if explicit_p and explicit_g:  # y = f(x) vs y = g(x): same equation iff f = g
        same_var = explicit_p.group(1) == explicit_g.group(1)
        return _float_verdict(explicit_p.group(2), explicit_g.group(2), digits) if same_var else None
    if isinstance(p, str) and isinstance(g, str) and p.count("=") == 1 and g.count("=") == 1:
        return _equation_verdict(p, g)
    return _float_verdict(p, g, digits)


def _equation_verdict(p: str, g: str) -> Verdict | None:
    """``2x - y + 3 = 0`` and ``y = 2x + 3`` are one equation: ``lhs - rhs`` of one is a nonzero
    constant times the other's at every sample point. Anything else is left to math-verify."""
    fp, fg = (compile_latex("({})-({})".format(*side.split("="))) for side in (p, g))
    if fp is None or fg is None or _BIG_LITERAL.search(p + g):
        return None
    ratios = []
    for env in sample_points(fp.variables | fg.variables, 4):
        a, b = evaluate(fp, env), evaluate(fg, env)
        if a is None or b is None or not b or not a:
            return None
        ratios.append(a / b)
    same = all(abs(r - ratios[0]) <= _FLOAT_SAME * 1e3 * abs(ratios[0]) for r in ratios)
    return _C if same and fp.variables and fp.variables == fg.variables else None


def _compare_num(p, g: Num, digits: int) -> Verdict | None:
    if isinstance(p, (Seq, Choice, Union)) or (isinstance(p, Text) and not p.has_digits):
        return _W
    return _float_verdict(p, g, digits)


@dataclass(frozen=True)
class _Value:
    """One reading of an answer: an exact rational (possibly a decimal approximation of one), or
    a simple expression to evaluate in floats."""

    rational: Fraction | None = None
    approx: bool = False
    places: int = 0
    expr: SimpleExpr | None = None
    big: bool = False


def _readings(x, digits: int) -> list[_Value] | None:
    """A number's value(s) (both for a percent) or a simple expression's; None when unreadable."""
    if isinstance(x, Num):
        approx = not x.exact and x.digits >= digits
        out = [_Value(x.value, approx, x.places)]
        return out + [_Value(x.value / 100, approx, x.places + 2)] if x.percent else out
    expr = compile_latex(x) if isinstance(x, str) else None
    if expr is None:
        return None
    exact = exact_value(expr)
    if exact is not None:
        return [_Value(exact[0])]
    return [_Value(expr=expr, big=bool(_BIG_LITERAL.search(x)))]


def _float_verdict(p, g, digits: int = DECIMAL_DIGITS) -> Verdict | None:
    """Compare two readable answers by value. Two rationals compare exactly (a decimal with enough
    digits may stand for the value it rounds or truncates); expressions are evaluated in floats,
    at 3 sample points when they have variables (``(x+1)^2`` vs ``x^2+2x+1``). A clear difference
    is WRONG; agreement is CORRECT where floats can be trusted; anything else is left to math-verify."""
    ps, gs = _readings(p, digits), _readings(g, digits)
    if not ps or not gs:
        return None
    exprs = [r.expr for r in ps + gs if r.expr is not None]
    names = frozenset().union(*(e.variables for e in exprs))
    verdicts = {_value_verdict(a, b, names) for a in ps for b in gs}
    if _C in verdicts:
        return _C
    return _W if verdicts == {_W} else None


def _value_verdict(a: _Value, b: _Value, names: frozenset[str]) -> Verdict | None:
    if a.rational is not None and b.rational is not None:
        if a.rational == b.rational:
            return _C
        if a.approx or b.approx:
            coarse, fine = (a, b) if a.approx and (not b.approx or a.places <= b.places) else (b, a)
            return _C if _rounds_to(coarse, fine.rational) else _W
        return _W
    rational = a if a.rational is not None else b if b.rational is not None else None
    if rational is not None and not names:
        other = b if rational is a else a
        value = evaluate(other.expr, {})  # type: ignore[arg-type]
        if value is None:
            return None
        if rational.approx:
            return _C if _rounds_to(rational, value) else _W
        verdict = _points_verdict(float(rational.rational), value, names)  # type: ignore[arg-type]
        trusted = rational.rational.denominator <= _MAX_DEN_VS_IRRATIONAL and not other.big  # type: ignore[union-attr]
        return None if verdict is _C and not trusted else verdict
    verdict = _points_verdict(_side(a), _side(b), names)
    return None if verdict is _C and (a.big or b.big) else verdict


def _side(v: _Value) -> SimpleExpr | float:
    return float(v.rational) if v.rational is not None else v.expr  # type: ignore[return-value]


def _rounds_to(approx: _Value, value: Fraction | float) -> bool:
    """True if the decimal ``approx`` is ``value`` rounded or truncated to its decimal places."""
    d = approx.rational
    step = Fraction(1, 10**approx.places) if approx.places >= 0 else Fraction(10 ** -approx.places)
    if isinstance(value, float):
        d, step = float(d), float(step) * (1 + 1e-9)  # type: ignore[arg-type,assignment]
    gap = abs(value - d)  # type: ignore[operator]
    if gap <= step / 2:
        return True
    return (value >= 0) == (d >= 0) and abs(d) <= abs(value) and gap < step  # type: ignore[operator]


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
    # floor-free relative test, so tiny values go to the exact comparison
    same = all(x == y or abs(x - y) <= _FLOAT_SAME * max(abs(x), abs(y)) for x, y in pairs)
    return _C if same else None


def _compare_seq(p, g: Seq, digits: int) -> Verdict | None:
    if isinstance(p, (Num, Choice, Union)) or (isinstance(p, Text) and not p.has_digits):
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
        return _all_items(_item_verdict(a, b, digits) for a, b in zip(p.items, g.items))
    return _unordered(p.items, g.items, digits)


def _compare_union(p, g: Union, digits: int) -> Verdict | None:
    """Unions of intervals are equal when their intervals match one to one (in any order)."""
    if isinstance(p, (Num, Choice, Seq)) or (isinstance(p, Text) and not p.has_digits):
        return _W
    if not isinstance(p, Union):
        return None
    if len(p.parts) != len(g.parts):
        return _W
    remaining = list(p.parts)
    for part in g.parts:
        verdicts = [_compare_seq(q, part, digits) for q in remaining]
        if _C not in verdicts:
            return None if None in verdicts else _W
        remaining.pop(verdicts.index(_C))
    return _C


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


def _item_verdict(a: str, b: str, digits: int) -> Verdict | None:
    if a == b:
        return _C
    inf_a, inf_b = infinity_key(a), infinity_key(b)
    if inf_a or inf_b:
        return _C if inf_a == inf_b else _W
    va, vb = classify(a), classify(b)
    if isinstance(va, (Num, str)) and isinstance(vb, (Num, str)):
        return _float_verdict(va, vb, digits)
    return None


def _all_items(verdicts) -> Verdict | None:
    result = _C
    for v in verdicts:
        if v is _W:
            return _W
        if v is None:
            result = None
    return result


def _unordered(ps: tuple[str, ...], gs: tuple[str, ...], digits: int) -> Verdict | None:
    """Multiset match; decided only when every item pair is decidable."""
    remaining = list(ps)
    for g in gs:
        verdicts = [_item_verdict(p, g, digits) for p in remaining]
        if None in verdicts:
            return None
        if _C not in verdicts:
            return _W
        remaining.pop(verdicts.index(_C))
    return _C
