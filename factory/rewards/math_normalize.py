"""Normalize answers and read them as numbers, tuples, choices or text, so most pairs never reach SymPy."""

from __future__ import annotations

import re
from dataclasses import dataclass
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
_FRAC = re.compile(r"^\\frac\s*(?:\{([^{}]+)\}|(\d))\s*(?:\{([^{}]+)\}|(\d))$")
_SLASH = re.compile(r"^([^/]+)/([^/]+)$")
_CHOICE_GOLD = re.compile(r"^\(?([A-J])\)?$")
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


@dataclass(frozen=True)
class Num:
    """A rational value; ``exact`` is False for a decimal literal (it may be a rounding)."""

    value: Fraction
    exact: bool = True
    percent: bool = False


@dataclass(frozen=True)
class Seq:
    """A tuple, interval, set or bare list: ``open``/``close`` are ``(``, ``[``, ``{`` or ``""``."""

    open: str
    close: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Choice:
    """A multiple-choice letter."""

    letter: str


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
    return _squash(_spaced(s))


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


def read(raw: str) -> tuple[str, Num | Seq | Choice | Text | str]:
    """``(normalize(raw), classify(raw))`` with one normalization pass."""
    spaced = _spaced(raw)
    norm = _squash(spaced)
    return norm, _kind(spaced, norm)


def _kind(spaced: str, norm: str) -> Num | Seq | Choice | Text | str:
    num = parse_number(spaced)
    if num is not None:
        return num
    choice = _CHOICE_GOLD.match(norm)
    if choice:
        return Choice(choice.group(1))
    seq = _parse_seq(norm)
    if seq is not None:
        return seq
    if _is_text(spaced):
        return Text(_text_key(spaced), any(c.isdigit() for c in spaced))
    return norm


def parse_number(s: str) -> Num | None:
    """An exact rational from an integer, decimal, ``1,000``, ``\\frac{a}{b}``, ``a/b``, a percent or
    a number with a unit; ``None`` for anything else."""
    s = s.strip()
    percent = bool(_PERCENT_TAIL.search(s))
    if percent:
        s = _PERCENT_TAIL.sub("", s)
    value = _rational(re.sub(r"\s+", "", s))
    if value is None and not percent:
        unitless = _UNIT_TAIL.sub("", s)
        if unitless != s:
            value = _rational(re.sub(r"\s+", "", unitless))
    if value is None:
        return None
    return Num(value[0], value[1], percent)


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
    s = _NULL_DELIMS.sub("", s)
    s = _SIZING.sub("", s)
    s = _SPACING.sub(" ", s)
    s = _FRAC_VARIANTS.sub(r"\\frac", s)
    s = _DEGREES.sub("", s)
    for _ in range(2):
        s = _TEXT_WRAP.sub(r"\1", s)
    s = s.replace("{,}", ",").replace("\\%", "%").replace("\\{", "{").replace("\\}", "}")
    s = s.replace("\\$", "").strip().rstrip(".").strip()
    lhs = _LHS.match(s) if s.count("=") <= 1 else None
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
    frac = _FRAC.match(s) or _SLASH.match(s)
    if not frac:
        return None
    parts = [p for p in frac.groups() if p is not None]
    num, den = _rational(parts[0]), _rational(parts[1])
    if num is None or den is None or den[0] == 0:
        return None
    return sign * num[0] / den[0], num[1] and den[1]


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


__all__ = ["MAX_ANSWER_CHARS", "Choice", "Num", "Seq", "Text", "classify", "gold_answer", "normalize"]
