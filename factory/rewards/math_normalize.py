"""Normalize answers and read them as numbers, tuples, choices or text, so most pairs never reach SymPy."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from fractions import Fraction

from factory.rewards.math_extract import MAX_ANSWER_CHARS, last_boxed

_NULL_DELIMS = re.compile(r"\\(?:left|right)\.")
_SIZING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])")
_SPACING = re.compile(r"\\[,;:!]|\\q?quad(?![a-zA-Z])|\\displaystyle|\\(?:hspace|vspace)\{[^{}]*\}|~")
_FRAC_VARIANTS = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\circ(?![a-zA-Z])|\\degree(?![a-zA-Z])")
_TEXT_WRAP = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox|operatorname)\s*\{([^{}]*)\}"
)
_LHS = re.compile(r"^[a-zA-Z](?:_\{?[a-zA-Z0-9]+\}?)?\s*(?:=|\\in(?![a-zA-Z]))\s*(?=\S)")
_UNIT_WORDS = (
    r"units?|sq(?:uare)?\s*units?|cm|mm|km|m|meters?|metres?|centimeters?|kilometers?|inch(?:es)?|in|"
    r"feet|foot|ft|yards?|miles?|mph|kg|g|grams?|kilograms?|pounds?|lbs?|ounces?|oz|liters?|litres?|ml|l|"
    r"seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?|years?|"
    r"degrees?|deg|radians?|rad|dollars?|cents?|euros?|people|students|ways|points|times"
)
_UNIT_TAIL = re.compile(r"(?<=[\d}.\s])\s*(?:\\?\$\s*)?(?:%s)(?:\^?\{?[23]\}?)?\s*$" % _UNIT_WORDS, re.I)
_PERCENT_TAIL = re.compile(r"\s*(?:\\?%|percent|pct)\s*$", re.I)
_INT = r"\d+"
_DEC = r"(?:\d+\.\d*|\.\d+)"
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_PLAIN_NUM = re.compile(r"^(?:%s|%s)$" % (_DEC, _INT))
_PLAIN_SIGNED = re.compile(r"-?(?:%s|%s)$" % (_DEC, _INT))
_MIXED = re.compile(
    r"^([+-]?)\s*(\d+)\s*(?:\\frac\s*(?:\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}|(\d)(\d))|\s(?=\d+\s*/)(\d+)\s*/\s*(\d+))$"
)
_MANTISSA = re.compile(r"([\d,]*)\.(\d+)")
_EXPONENT = re.compile(r"[eE]([+-]?\d+)|10\^\{?([+-]?\d+)")
_THOUSAND_GAP = re.compile(r"(?<=\d)[ \t]+(?=\d{3}(?!\d))")
_DIGIT_GAP = re.compile(r"\d\s+[\d.]")
_REPEATING = re.compile(r"^(\d*)\.(\d*)(?:\\overline\{(\d+)\}|\\dot\{?(\d)\}?|\((\d+)\))$")
_SCIENTIFIC = re.compile(
    r"^(?:(\d+(?:\.\d*)?|\.\d+)[eE]([+-]?\d+)|(?:(\d+(?:\.\d*)?|\.\d+)(?:\\times|\\cdot|\*|x))?10\^(?:\{([+-]?\d+)\}|(\d)))$"
)
_FRAC = re.compile(r"^\\frac\s*(?:\{([^{}]+)\}|(\d))\s*(?:\{([^{}]+)\}|(\d))$")
_SLASH = re.compile(r"^([^/]+)/([^/]+)$")
_CHOICE_GOLD = re.compile(r"^\(?([A-J])\)?$")
_CHOICE_TEXT = re.compile(r"^\(([A-J])\)\s*(\S.*)$|^([A-J])[.:)]\s+(\S.*)$")
_EMPTY_SET = frozenset(("{}", "\\varnothing", "∅", "\\emptyset", "\\O", "\\{\\}", "\\text{nosolution}"))
_OP = r"(<=|>=|<|>|\\leq(?:slant)?|\\geq(?:slant)?|\\le|\\ge|≤|≥)"
_OPS = {"<": ("<", False), ">": (">", False), "<=": ("<", True), ">=": (">", True), "≤": ("<", True),
        "≥": (">", True), "\\le": ("<", True), "\\leq": ("<", True), "\\leqslant": ("<", True),
        "\\ge": (">", True), "\\geq": (">", True), "\\geqslant": (">", True)}
_INEQ_RIGHT = re.compile(r"^([a-zA-Z])%s(.+)$" % _OP)
_INEQ_LEFT = re.compile(r"^(.+?)%s([a-zA-Z])$" % _OP)
_INEQ_CHAIN = re.compile(r"^(.+?)%s([a-zA-Z])%s(.+)$" % (_OP, _OP))
_UNIT_DECOR = re.compile(
    r"(?<=[\d}\s])\s*\\(?:text|mathrm|textrm|mbox|textnormal)\s*\{\s*[A-Za-z][A-Za-z .]*\}(?:\s*\^\s*\{?[23]\}?)?\s*$"
)
_CHOICE_PRED = re.compile(r"^\(?([A-Ja-j])\)?(?:[.:)]|\s|$)")
_WORD = re.compile(r"[A-Za-z]{3,}")
_OPERATOR = re.compile(r"[\^_=+*/\\]")
_MATH_WORDS = frozenset(
    "sin cos tan cot sec csc log exp sqrt max min gcd lcm det arcsin arccos arctan sinh cosh tanh "
    "infty inf lim mod pmod frac cdot times div pm mp leq geq neq cup cap emptyset varnothing pi "
    "alpha beta gamma delta theta lambda sigma omega phi".split()
)
_INFINITY = re.compile(r"\\infty|∞|\binf(?:inity)?\b|\boo\b")
_MAX_ITEMS = 64
_CMD_GAP = re.compile(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])")
_WS = re.compile(r"\s+")
_HEDGE_WORD = re.compile(r"\{\s*(?:or|and)\s*\}")


@dataclass(frozen=True)
class Num:
    """A rational value; ``exact`` is False for a decimal literal (it may be a rounding), which then
    has ``places`` decimal places and ``digits`` significant digits (0: unknown, compare exactly)."""

    value: Fraction
    exact: bool = True
    percent: bool = False
    places: int = field(default=0, compare=False, repr=False)
    digits: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Seq:
    """A tuple, interval, set or bare list: ``open``/``close`` are ``(``, ``[``, ``{`` or ``""``."""

    open: str
    close: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Choice:
    """A multiple-choice letter, with the option's text when the gold spells it (``(B) 12``)."""

    letter: str
    text: str = field(default="", repr=False)


@dataclass(frozen=True)
class Union:
    """A union of intervals (``(-\\infty,1)\\cup(2,\\infty)``), compared as a set of intervals."""

    parts: tuple[Seq, ...]


@dataclass(frozen=True)
class Text:
    """A word answer, compared case-, space- and punctuation-insensitively."""

    key: str
    has_digits: bool


def gold_answer(gold: str) -> str:
    """The answer part of a stored gold: the last ``\\boxed{}`` of a full solution, else the gold."""
    boxed = last_boxed(gold) if "\\boxed" in gold or "\\fbox" in gold else None
    return (boxed if boxed is not None else gold).strip()


def normalize(s: str) -> str:
    """Canonical spelling of an answer: delimiters, sizing, spacing, ``\\dfrac``, degrees and text
    wrappers removed; whitespace removed; a leading ``x =`` dropped before a constant.

    >>> normalize(r"$x = \\left( \\dfrac{1}{2}, 3 \\right)$")
    '(\\\\frac{1}{2},3)'
    >>> normalize(r"90^\\circ")
    '90'
    """
    return _canonical(_squash(_spaced(s)))


def classify(raw: str) -> Num | Seq | Choice | Text | str:
    """Read an answer as a number, a sequence, a choice letter or text; else its normalized string.

    >>> classify("1,000")
    Num(value=Fraction(1000, 1), exact=True, percent=False)
    >>> classify("3,2")
    Seq(open='', close='', items=('3', '2'))
    >>> classify(r"\\text{(B)}")
    Choice(letter='B')
    """
    return read(raw)[1]


@functools.lru_cache(maxsize=1 << 16)
def read(raw: str) -> tuple[str, Num | Seq | Choice | Text | str]:
    """``(normalize(raw), classify(raw))`` with one normalization pass (memoized: golds and common
    answers repeat across a batch's samples)."""
    spaced = _spaced(raw)
    norm = _canonical(_squash(spaced))
    return norm, _kind(spaced, norm)


def _kind(spaced: str, norm: str) -> Num | Seq | Choice | Union | Text | str:
    num = parse_number(spaced)
    if num is not None:
        return num
    choice = _CHOICE_GOLD.match(norm)
    if choice:
        return Choice(choice.group(1))
    option = _CHOICE_TEXT.match(spaced)
    if option:
        return Choice(option.group(1) or option.group(3), (option.group(2) or option.group(4)).strip())
    if "\\cup" in norm:
        union = _parse_union(norm)
        if union is not None:
            return union
    seq = _parse_seq(norm)
    if seq is not None:
        return seq
    if _is_text(spaced):
        return Text(_text_key(spaced), any(c.isdigit() for c in spaced))
    return norm


def _canonical(norm: str) -> str:
    """One spelling for the empty set, and inequalities in one variable as intervals."""
    if norm in _EMPTY_SET:
        return "\\emptyset"
    if any(op in norm for op in ("<", ">", "\\le", "\\ge", "≤", "≥")):
        parts = [as_interval(p) for p in norm.split("\\cup")]
        if all(parts):
            return "\\cup".join(parts)  # type: ignore[arg-type]
    return norm


def as_interval(norm: str) -> str | None:
    """``x>2`` -> ``(2,\\infty)``, ``-1\\le x<3`` -> ``[-1,3)`` (normalized input); None otherwise.

    >>> as_interval(r"x\\geq2"), as_interval("1<x<5"), as_interval("x+1>2")
    ('[2,\\\\infty)', '(1,5)', None)
    """
    norm = norm.replace(" ", "")
    m = _INEQ_CHAIN.match(norm)
    if m and _constant(m.group(1)) and _constant(m.group(5)):
        lo, op1, op2, hi = m.group(1), _OPS[m.group(2)], _OPS[m.group(4)], m.group(5)
        if op1[0] != op2[0]:
            return None
        if op1[0] == ">":
            lo, hi, op1, op2 = hi, lo, op2, op1
        return ("[" if op1[1] else "(") + f"{lo},{hi}" + ("]" if op2[1] else ")")
    m = _INEQ_RIGHT.match(norm)
    if m and _constant(m.group(3)):
        op, bound = _OPS[m.group(2)], m.group(3)
    else:
        m = _INEQ_LEFT.match(norm)
        if not (m and _constant(m.group(1))):
            return None
        flipped = _OPS[m.group(2)]
        op, bound = ("<" if flipped[0] == ">" else ">", flipped[1]), m.group(1)
    if op[0] == ">":
        return ("[" if op[1] else "(") + bound + ",\\infty)"
    return "(-\\infty," + bound + ("]" if op[1] else ")")


def _constant(s: str) -> bool:
    return bool(s) and not re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", s)) and not re.search(r"[<>≤≥]", s)


def _parse_union(norm: str) -> Union | None:
    parts = [_parse_seq(p) for p in norm.split("\\cup")]
    if len(parts) < 2 or any(p is None or not p.open for p in parts):
        return None
    return Union(tuple(parts))  # type: ignore[arg-type]


def parse_number(s: str) -> Num | None:
    """An exact rational from an integer, decimal, ``1,000``, ``\\frac{a}{b}``, ``a/b``, a mixed
    number (``2\\frac{1}{2}``, ``2 1/2``), a repeating decimal (``0.\\overline{3}``, ``0.(3)``),
    e-notation or ``\\times 10^k``, a percent or a number with a unit; ``None`` for anything else.

    >>> parse_number(r"2\\frac{1}{2}").value, parse_number("0.(3)").value, parse_number("1.5e3").value
    (Fraction(5, 2), Fraction(1, 3), Fraction(1500, 1))
    """
    s = s.strip()
    if _PLAIN_SIGNED.match(s):
        return Num(Fraction(s)) if "." not in s else Num(Fraction(s), False, False, *_precision(s))
    percent = bool(_PERCENT_TAIL.search(s))
    if percent:
        s = _PERCENT_TAIL.sub("", s)
    value = _spaced_rational(s)
    if value is None and not percent:
        unitless = _UNIT_TAIL.sub("", s)
        if unitless != s:
            value = _spaced_rational(unitless)
    if value is None:
        return None
    places, digits = (0, 0) if value[1] else _precision(s)
    return Num(value[0], value[1], percent, places, digits)


def _precision(s: str) -> tuple[int, int]:
    """(decimal places, significant digits) of a decimal literal such as ``0.0250`` or ``1.5e-3``."""
    m = _MANTISSA.search(s)
    if m is None or "/" in s or "frac" in s:
        return 0, 0
    whole, frac = m.group(1).replace(",", "").lstrip("0"), m.group(2)
    digits = len((whole + frac).lstrip("0")) if whole else len(frac.lstrip("0"))
    exp = _EXPONENT.search(s, m.end())
    return len(frac) - (int(exp.group(1) or exp.group(2)) if exp else 0), digits


def _spaced_rational(s: str) -> tuple[Fraction, bool] | None:
    """``_rational`` of a string that may still hold spaces: a space may only group thousands
    (``1 000``) or separate a mixed number's whole part (``2 1/2``); ``2 3`` is not a number."""
    s = s.strip()
    mixed = _MIXED.match(s)
    if mixed:
        sign, whole = mixed.group(1), int(mixed.group(2))
        num = int(mixed.group(3) or mixed.group(5) or mixed.group(7))
        den = int(mixed.group(4) or mixed.group(6) or mixed.group(8))
        if den == 0 or num >= den:
            return None  # 11 7/6 or 4 0/0: not a mixed number, and no other reading is safe
        value = whole + Fraction(num, den)
        return (-value if sign == "-" else value), True
    s = _THOUSAND_GAP.sub("", s)
    if _DIGIT_GAP.search(s):
        return None
    return _rational(_WS.sub("", s))


def pred_choice(raw: str) -> str | None:
    """The choice letter a prediction names (``B``, ``(b)``, ``B) 42``), if any."""
    m = _CHOICE_PRED.match(_spaced(raw).strip())
    return m.group(1).upper() if m else None


def _squash(spaced: str) -> str:
    """Remove whitespace, except one space that ends a command before a letter (``\\sin x``)."""
    s = _CMD_GAP.sub("\\1\x01", spaced)
    return _WS.sub("", s).replace("\x01", " ")


def _spaced(raw: str) -> str:
    """``normalize`` without removing whitespace (units and words need it)."""
    s = raw.strip().rstrip(".").strip().strip("$").strip()
    if s.startswith("\\(") and s.endswith("\\)") or s.startswith("\\[") and s.endswith("\\]"):
        s = s[2:-2]
    if "\\" in s or "~" in s:  # most answers are plain: skip the LaTeX clean-up
        s = _NULL_DELIMS.sub("", s)
        s = _SIZING.sub("", s)
        s = _SPACING.sub(" ", s)
        s = _FRAC_VARIANTS.sub(r"\\frac", s)
        if not _HEDGE_WORD.search(s):
            s = _UNIT_DECOR.sub("", s)  # "5 \\text{ apples}" -> "5"
        for _ in range(2):
            s = _TEXT_WRAP.sub(r"\1", s)
        s = s.replace("\\%", "%").replace("\\{", "{").replace("\\}", "}").replace("\\$", "")
    if "^" in s or "°" in s or "\\" in s:
        s = _DEGREES.sub("", s)
    s = s.replace("{,}", ",").strip().rstrip(".").strip()
    lhs = _LHS.match(s) if "=" in s and s.count("=") <= 1 or "\\in" in s else None
    if lhs and not re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", s[lhs.end():])):
        s = s[lhs.end():]  # "x = 3" -> "3", but "y = 2x+3" stays an equation for math-verify
    return s


def _rational(s: str) -> tuple[Fraction, bool] | None:
    """(value, exact) for a compact numeric string; ``None`` if it is not one."""
    if len(s) > 200 or not s:
        return None
    sign = 1
    while s[:1] in "+-" and s:
        sign = -sign if s[0] == "-" else sign
        s = s[1:]
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if _PLAIN_NUM.match(s):
        return sign * Fraction(s), "." not in s
    special = _repeating(s) or _scientific(s)
    if special is not None:
        return sign * special[0], special[1]
    frac = _FRAC.match(s) or _SLASH.match(s)
    if not frac:
        return None
    parts = [p for p in frac.groups() if p is not None]
    num, den = _rational(parts[0]), _rational(parts[1])
    if num is None or den is None or den[0] == 0:
        return None
    return sign * num[0] / den[0], num[1] and den[1]


def _repeating(s: str) -> tuple[Fraction, bool] | None:
    """``0.1\\overline{6}``, ``0.1(6)``, ``0.\\dot{3}`` = 1/6, 1/6, 1/3, exactly."""
    m = _REPEATING.match(s)
    if not m:
        return None
    whole, fixed, rep = m.group(1) or "0", m.group(2), m.group(3) or m.group(4) or m.group(5)
    scale = 10 ** len(fixed)
    value = int(whole) + Fraction(int(fixed or "0"), scale) + Fraction(int(rep), scale * (10 ** len(rep) - 1))
    return value, True


def _scientific(s: str) -> tuple[Fraction, bool] | None:
    """``1.5e3``, ``1.5E-3``, ``1.5\\times10^{3}``, ``3\\cdot 10^{-2}``, ``10^{5}`` (exponent within ±400)."""
    m = _SCIENTIFIC.match(s)
    if not m:
        return None
    mantissa, exp = m.group(1) or m.group(3) or "1", m.group(2) or m.group(4) or m.group(5)
    if abs(int(exp)) > 400:
        return None
    return Fraction(mantissa) * Fraction(10) ** int(exp), "." not in mantissa


def _parse_seq(norm: str) -> Seq | None:
    """A bracketed or bare comma-separated list with at least two items (top-level commas only)."""
    open_, close, body = "", "", norm
    if len(norm) >= 2 and norm[0] in "([{" and norm[-1] in ")]}":
        open_, close, body = norm[0], norm[-1], norm[1:-1]
        if (open_ == "{") != (close == "}"):
            return None
    items = _split_top(body)
    if items is None or len(items) < 2 or len(items) > _MAX_ITEMS or not all(items):
        return None
    return Seq(open_, close, tuple(items))


def _split_top(body: str) -> list[str] | None:
    """Split at commas outside brackets; ``None`` if brackets do not balance."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    return items if depth == 0 else None


def _is_text(spaced: str) -> bool:
    """True if the answer holds a word of 3+ letters that is not LaTeX or a math function, and no
    operator (``x^2+abc`` is algebra, ``Evelyn`` is text)."""
    if _OPERATOR.search(spaced):
        return False
    bare = re.sub(r"\\[a-zA-Z]+", " ", spaced)
    return any(w.lower() not in _MATH_WORDS for w in _WORD.findall(bare))


def _text_key(spaced: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", spaced.lower())


def infinity_key(item: str) -> str | None:
    """``oo``/``-oo`` for the spellings of infinity, else ``None``."""
    m = _INFINITY.fullmatch(item.lstrip("+-"))
    if not m:
        return None
    return "-oo" if item.startswith("-") else "oo"


__all__ = ["MAX_ANSWER_CHARS", "Choice", "Num", "Seq", "Text", "Union", "as_interval", "classify", "gold_answer",
           "normalize"]
