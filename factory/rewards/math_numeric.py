"""Evaluate simple LaTeX as floats (at sample points for variables), so most symbolic pairs skip SymPy.

A tiny recursive-descent parser over a closed grammar: numbers, single-letter variables, ``e``,
``+ - * / \\cdot \\times``, implicit products, ``^``, ``\\frac``, ``\\sqrt`` (and ``\\sqrt[n]``),
``\\pi``, brackets and common functions read the way latex2sympy reads them. Anything else
(``i``, subscripts, relations, ``\\sin^{-1}``, unbraced multi-digit arguments whose reading is
ambiguous) means "not simple" (``None``), and so does any value beyond ``MAX_MAGNITUDE``. Floats
cannot hang: a huge power overflows and is rejected.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction

_TOKEN = re.compile(r"\s*(\d+\.\d*|\.\d+|\d+|\\[a-zA-Z]+|[a-zA-Z]|[-+*/^(){}\[\]])")
_GREEK = frozenset(r"\alpha \beta \gamma \theta \lambda \mu \phi \varphi \sigma \omega \rho \tau".split())
_RESERVED = frozenset("EiI")  # ambiguous: math-verify may read them as constants (e is Euler's number)
_FUNCS = {
    "\\sin": math.sin, "\\cos": math.cos, "\\tan": math.tan, "\\cot": lambda v: 1 / math.tan(v),
    "\\sec": lambda v: 1 / math.cos(v), "\\csc": lambda v: 1 / math.sin(v), "\\arcsin": math.asin,
    "\\arccos": math.acos, "\\arctan": math.atan, "\\sinh": math.sinh, "\\cosh": math.cosh,
    "\\tanh": math.tanh, "\\ln": math.log, "\\log": math.log10, "\\exp": math.exp,
}
"""Functions as latex2sympy reads them (``\\log`` is base 10, ``\\sin 2x`` is sin(2x))."""
_COMMANDS = frozenset(r"\frac \dfrac \tfrac \sqrt \pi \cdot \times \div \left \right".split())
_GREEK_T = tuple(_GREEK)
_KNOWN = _COMMANDS | _GREEK | frozenset(_FUNCS)
_ARG_START = ("{", "\\frac", "\\sqrt", "\\pi")
_IMPLICIT = ("(",) + _ARG_START + tuple(_FUNCS)
_MAX_DEPTH = 40
MAX_BITS = 4096
"""Exact rational arithmetic stops (``None``) once a numerator or denominator outgrows this."""
MIN_MAGNITUDE = 1e-9
"""Nonzero float values (even intermediate ones) smaller than this are not judged by floats either:
``(1+10^{-9})^2`` and ``1+2\\cdot10^{-9}`` are the same double."""
MAX_MAGNITUDE = 1e9
"""Larger values (even intermediate ones) are not judged by floats: 2^64 and 2^64 - 1 are the same
double, and cancellation against big terms loses the small ones. Such answers go to SymPy."""
_POINTS = (0.7315, 1.4142, -1.2763, 2.2361, 0.3819, -0.6180, 1.7321, -2.4495, 0.5772, 1.2021)


@dataclass(frozen=True)
class SimpleExpr:
    """Tokens of an expression this module can evaluate, and the variables it uses."""

    tokens: tuple[str, ...]
    variables: frozenset[str]


@functools.lru_cache(maxsize=1 << 15)
def compile_latex(s: str) -> SimpleExpr | None:
    """Tokenize ``s`` if it is a simple expression, else ``None``.

    >>> sorted(compile_latex(r"\\frac{x+1}{y}").variables)
    ['x', 'y']
    >>> compile_latex(r"\\Gamma(x)") is None
    True
    """
    tokens, pos, s = [], 0, s.strip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            return None
        tok, pos = m.group(1), m.end()
        if tok in ("\\left", "\\right"):
            continue
        if tok in _RESERVED or (tok[0] == "\\" and tok not in _KNOWN):
            return None
        tokens.append("\\frac" if tok in ("\\dfrac", "\\tfrac") else tok)
    if not tokens or evaluate(SimpleExpr(tuple(tokens), frozenset()), {}, check_only=True) is None:
        return None
    variables = frozenset(t for t in tokens if (t.isalpha() and t != "e") or t in _GREEK)
    return SimpleExpr(tuple(tokens), variables)


def evaluate(expr: SimpleExpr, env: dict[str, float], check_only: bool = False) -> float | None:
    """The value of ``expr`` with variables from ``env``; ``None`` if undefined or not finite.
    With ``check_only`` every variable reads as 1.0 (a syntax check)."""
    parser = _Parser(list(expr.tokens), env, check_only)
    try:
        value = parser.expr(0)
    except (ValueError, OverflowError, ZeroDivisionError, IndexError, KeyError):
        return None
    if parser.pos != len(parser.tokens) or not isinstance(value, float) or not math.isfinite(value):
        return None
    return value


@functools.lru_cache(maxsize=1 << 15)
def exact_value(expr: SimpleExpr) -> tuple[Fraction, bool] | None:
    """(value, exact) of a constant built from numbers with ``+ - * / ^`` (integer powers), ``\\frac``
    and brackets, in exact rational arithmetic; ``exact`` is False when a decimal literal is part
    of it. ``None`` for anything irrational, with variables, or too large (over ``MAX_BITS``).

    >>> exact_value(compile_latex("10^{20}+1"))[0] - exact_value(compile_latex("10^{20}"))[0]
    Fraction(1, 1)
    >>> exact_value(compile_latex(r"\\sqrt{2}")) is None
    True
    """
    if expr.variables:
        return None
    parser = _Parser(list(expr.tokens), {}, False, exact=True)
    try:
        value = parser.expr(0)
    except (ValueError, OverflowError, ZeroDivisionError, IndexError, KeyError, TypeError):
        return None
    if parser.pos != len(parser.tokens) or not isinstance(value, Fraction):
        return None
    return value, not any("." in t for t in expr.tokens)


def latex_value(s: str) -> float | None:
    """The value of a constant simple expression, or ``None``.

    >>> round(latex_value(r"2\\sqrt{3}") - latex_value(r"\\sqrt{12}"), 12)
    0.0
    >>> latex_value("2x") is None
    True
    """
    expr = compile_latex(s)
    return None if expr is None or expr.variables else evaluate(expr, {})


def sample_points(variables: frozenset[str], n: int = 3) -> list[dict[str, float]]:
    """``n`` deterministic, non-special assignments of the variables (no 0, 1 or integers)."""
    names = sorted(variables)
    return [{v: _POINTS[(3 * k + j) % len(_POINTS)] for j, v in enumerate(names)} for k in range(n)]




class _Parser:
    """expr := term (('+'|'-') term)*; term := unary ((op | implicit) unary)*; unary := [-+] unary | power."""

    def __init__(self, tokens: list[str], env: dict[str, float], check_only: bool, exact: bool = False) -> None:
        self.tokens, self.pos, self.env, self.check_only, self.exact = tokens, 0, env, check_only, exact
        self.bound = _bound_exact if exact else (_unbounded if check_only else _bound)

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.tokens[self.pos]
        if expected is not None and tok != expected:
            raise ValueError(f"expected {expected}")
        self.pos += 1
        return tok

    def expr(self, depth: int) -> float:
        if depth > _MAX_DEPTH:
            raise ValueError("too deep")
        value = self.term(depth)
        while self.peek() in ("+", "-"):
            value = self.bound(value + self.term(depth) if self.take() == "+" else value - self.term(depth))
        return value

    def term(self, depth: int) -> float:
        value = self.unary(depth)
        while True:
            tok = self.peek()
            if tok in ("*", "\\cdot", "\\times"):
                self.take()
                value = self.bound(value * self.unary(depth))
            elif tok in ("/", "\\div"):
                self.take()
                value = self.bound(value / self.unary(depth))
            elif tok is not None and (tok[0].isalnum() or tok[0] == "." or tok in _IMPLICIT or tok in _GREEK):
                value = self.bound(value * self.power(depth))
            else:
                return value

    def unary(self, depth: int) -> float:
        if self.peek() in ("-", "+"):
            return -self.unary(depth + 1) if self.take() == "-" else self.unary(depth + 1)
        return self.power(depth)

    def power(self, depth: int) -> float:
        base = self.atom(depth)
        if self.peek() == "^":
            self.take()
            exponent = self.group(depth + 1)
            if abs(exponent) > 1e4 or (base < 0 and exponent != int(exponent)):
                raise ValueError("exponent out of range")
            if self.exact:
                if exponent.denominator != 1 or abs(exponent) * max(_bits(base), 1) > 2 * MAX_BITS:
                    raise ValueError("not an exact integer power")
                return self.bound(base ** int(exponent))
            return self.bound(float(base**exponent))
        return base

    def group(self, depth: int) -> float:
        """``{expr}`` or a one-character argument (``\\frac12``, ``x^2``); ``2^34`` is ambiguous."""
        tok = self.peek()
        if tok == "{":
            self.take()
            value = self.expr(depth + 1)
            self.take("}")
            return value
        if tok is not None and tok[0].isdigit() and len(tok) > 1:
            raise ValueError("ambiguous unbraced argument")  # LaTeX: 2^3*4; math-verify: 2^34
        return self.atom(depth + 1)

    def atom(self, depth: int) -> float:
        tok = self.take()
        if tok[0].isdigit() or tok[0] == ".":
            return self.bound(Fraction(tok) if self.exact else float(tok))
        if self.exact and tok not in ("(", "{", "[", "\\frac"):
            raise ValueError("not a rational constant")
        if tok == "e":
            return math.e
        if tok.isalpha() or tok in _GREEK:
            return 1.0 if self.check_only else self.env[tok]
        if tok in _FUNCS:
            return self.function(tok, depth)
        if tok in ("(", "{", "["):
            value = self.expr(depth + 1)
            self.take({"(": ")", "{": "}", "[": "]"}[tok])
            return value
        if tok == "\\pi":
            return math.pi
        if tok == "\\frac":
            nxt = self.peek() or ""
            if len(nxt) == 2 and nxt.isdigit():  # \frac12 = 1/2 (math-verify agrees; \frac123 is ambiguous)
                self.take()
                num, den = (Fraction if self.exact else float)(nxt[0]), (Fraction if self.exact else float)(nxt[1])
            else:
                num, den = self.group(depth + 1), self.group(depth + 1)
            return self.bound(num / den) if not self.check_only else 1.0
        if tok == "\\sqrt":
            return self.root(depth)
        raise ValueError(f"unsupported {tok}")

    def function(self, name: str, depth: int) -> float:
        if self.exact:
            raise ValueError("not a rational constant")
        """``\\sin x``, ``\\sin(2x)``, ``\\sin^2 x`` (a power), ``\\sin 2x\\cos x`` = sin(2x)cos(x)."""
        exponent = None
        if self.peek() == "^":
            self.take()
            exponent = self.group(depth + 1)
            if exponent == -1:
                raise ValueError("inverse-function notation")  # \sin^{-1}: leave it to SymPy
        if self.peek() in ("(", "{"):
            arg = self.atom(depth + 1)
        else:  # unbraced argument: the implicit product up to the next operator or function
            arg = self.power(depth + 1)
            while (tok := self.peek()) is not None and (tok[0].isalnum() or tok in _ARG_START + _GREEK_T):
                arg *= self.power(depth + 1)
        value = 1.0 if self.check_only else float(_FUNCS[name](arg))
        return self.bound(value if exponent is None else float(value**exponent))

    def root(self, depth: int) -> float:
        index = 2.0
        if self.peek() == "[":
            self.take()
            index = self.expr(depth + 1)
            self.take("]")
        radicand = self.group(depth + 1)
        if self.check_only:
            return 1.0
        if radicand < 0 or index <= 0:
            raise ValueError("not a real root")
        return self.bound(float(radicand ** (1.0 / index)))


def _bound(value: float) -> float:
    if not abs(value) <= MAX_MAGNITUDE:  # also rejects NaN
        raise ValueError("value too large for float comparison")
    if value and abs(value) < MIN_MAGNITUDE:
        raise ValueError("value too small for float comparison")
    return value


def _unbounded(value: float) -> float:
    return value  # a syntax check only: magnitudes are judged when values are computed


def _bits(value: Fraction) -> int:
    return max(value.numerator.bit_length(), value.denominator.bit_length())


def _bound_exact(value: Fraction) -> Fraction:
    if not isinstance(value, Fraction) or _bits(value) > MAX_BITS:
        raise ValueError("not a small exact rational")
    return value
