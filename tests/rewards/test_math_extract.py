"""Answer extraction and the exact fast path, without worker processes."""

from __future__ import annotations

from fractions import Fraction

import pytest

from factory.rewards.base import Verdict
from factory.rewards.math_extract import MAX_ANSWER_CHARS, extract_answer, last_boxed
from factory.rewards.math_fast import fast_verdict
from factory.rewards.math_normalize import Choice, Num, Seq, Text, classify, gold_answer, normalize

C, W, U = Verdict.CORRECT, Verdict.WRONG, Verdict.UNVERIFIABLE


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"so \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
        (r"\boxed{1} then \boxed{2}", r"1 \text{ or } 2"),  # a hedge: the grader splits it
        (r"\boxed{2} so \boxed{2}", "2"),
        (r"\fbox{7}", "7"),
        (r"\boxed{\{1,2\}}", r"\{1,2\}"),
        (r"\boxed{a_{b_{c}}}", "a_{b_{c}}"),
        (r"\boxed{3} and a broken \boxed{4", None),  # never falls back to an earlier box
        (r"$\boxed 5$", "5"),
        (r"<think>\boxed{1}</think>The sum is \boxed{2}", "2"),
        (r"<think>\boxed{1}</think>", None),
        (r"<think>unfinished \boxed{1}", None),  # the reasoning never ended: no committed answer
        ("<answer>\n$\\frac{3}{4}$\n</answer>", r"\frac{3}{4}"),
        (r"<answer>so \boxed{9}</answer>", "9"),
        ("The final answer is $28 \\%$. I hope it is correct.", r"28 \%"),
        ("Final Answer: 3.5.", "3.5"),
        ("**Final Answer:** **12**", "12"),
        ("<think>x</think>\n\n**42**", "42"),
        ("<think>x</think>\n\nThe derivation shows many things across\nseveral lines but no answer", None),
        (r"\boxed{}", None),
        ("", None),
        ("nothing here", None),
        (r"\boxed{" + "1" * (MAX_ANSWER_CHARS + 1) + "}", None),
    ],
)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


def test_last_boxed_ignores_escaped_braces() -> None:
    assert last_boxed(r"\boxed{\{ x \}}") == r"\{ x \}"


def test_gold_answer_reduces_full_solutions() -> None:
    assert gold_answer(r"We get $x = \boxed{\frac{3}{4}}$.") == r"\frac{3}{4}"
    assert gold_answer(" 2\\pi ") == r"2\pi"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1,000", Num(Fraction(1000))),
        ("-3", Num(Fraction(-3))),
        ("2.50", Num(Fraction(5, 2), exact=False)),
        (r"\dfrac{3}{4}", Num(Fraction(3, 4))),
        (r"-\frac{1}{2}", Num(Fraction(-1, 2))),
        ("3/4", Num(Fraction(3, 4))),
        (r"50\%", Num(Fraction(50), percent=True)),
        (r"5\text{ cm}", Num(Fraction(5))),
        ("x = 3", Num(Fraction(3))),
        (r"90^\circ", Num(Fraction(90))),
        ("3,2", Seq("", "", ("3", "2"))),
        (r"\left[0, 1\right)", Seq("[", ")", ("0", "1"))),
        (r"\{1, 2\}", Seq("{", "}", ("1", "2"))),
        ("(B)", Choice("B")),
        (r"\text{Evelyn}", Text("evelyn", False)),
        (r"2\sqrt{3}", r"2\sqrt{3}"),
    ],
)
def test_classify(raw: str, expected: object) -> None:
    assert classify(raw) == expected


def test_normalize_strips_presentation() -> None:
    assert normalize(r"$\displaystyle \left( \tfrac{1}{2} , 3 \right)$.") == r"(\frac{1}{2},3)"
    assert normalize(r"\infty") == r"\infty"  # '\in' is not a variable prefix


@pytest.mark.parametrize(
    "pred, gold, expected",
    [
        ("0.5", r"\frac12", C),
        ("0.50001", r"\frac12", W),  # 5 significant digits, and not 1/2 rounded
        ("0.6", r"\frac12", W),
        ("7", "8", W),
        ("(1,2,3)", "(1,2)", W),
        ("(1,2)", "1,2", C),
        ("[1,2]", "1,2", None),
        ("B", "C", W),
        ("yes", r"\text{Yes}", C),
        ("no", "yes", W),
        ("42", "yes", W),
        (r"\sqrt{2}", r"\sqrt{2}", C),
        (r"\sqrt{2}", r"2^{1/2}", C),
        (r"\frac{3\pi}{4}", r"\frac{3}{4}\pi", C),
        (r"2\sqrt{3}", r"3\sqrt{2}", W),
        (r"\sqrt{x}", r"x^{1/2}", C),
        ("(x+1)^2", "x^2+2x+1", C),
        ("(x+2)^2", "x^2+2x+1", W),
        ("2y", "2x", W),
        (r"2\sin x\cos x", r"\sin 2x", C),  # functions as latex2sympy reads them
        (r"\log(100)", "2", C),  # \log is base 10 in latex2sympy
        (r"\sin^{-1} x", r"\arcsin x", None),  # inverse notation: math-verify decides
        ("y = 5x + 3", "y=3x+5", W),
        ("18446744073709551616", "2^{64}-1", W),  # same double, different exact integers
        (r"10^{20}+1-10^{20}", "1", C),  # exact rational arithmetic, no cancellation
        ("y = 3x + 5", "y=5+3x", C),
        ("3x - y + 5 = 0", "y=3x+5", C),  # rearranged equation: lhs - rhs proportional
        ("x - y + 5 = 0", "y=3x+5", None),  # not proportional: math-verify decides
        (r"\frac{1}{2^{98}}", r"\frac{1}{2^{99}}", W),  # exact rationals
        (None, "5", W),
        (None, r"2\sqrt{3}", None),  # the gold must still be checked by math-verify
        ("5", "", U),
        ("5", r"\frac{1}{", U),
        ("5", "...", U),
    ],
)
def test_fast_verdict(pred: str | None, gold: str, expected: Verdict | None) -> None:
    assert fast_verdict(pred, gold) == expected


def test_variable_prefix_is_dropped_only_before_constants() -> None:
    assert normalize("x = 3") == "3"
    assert normalize(r"x \in [2, 5]") == "[2,5]"
    assert normalize("y = 2x + 3") == "y=2x+3"
    assert fast_verdict("y=3", "x=3") is C
    assert fast_verdict("x = 2y + 3", "y = 2x + 3") is None  # different unknowns: math-verify decides
