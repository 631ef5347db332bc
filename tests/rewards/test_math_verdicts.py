"""Regression table for the math grader: hard cases reported against open-r1, math-verify and Qwen2.5-Math."""

from __future__ import annotations

import pytest

from factory.rewards.base import Verdict
from factory.rewards.math_reward import verify_math_batch

C, W, U = Verdict.CORRECT, Verdict.WRONG, Verdict.UNVERIFIABLE
MATRIX = r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}"

# (gold as a dataset stores it, completion, expected verdict)
CASES = [
    # open-r1 read golds with extraction_mode="first_match": 2\pi -> 2, 3,2 -> 3.2, (1,2) -> nothing
    (r"2\pi", r"\boxed{2\pi}", C),
    (r"2\pi", r"\boxed{2}", W),
    (r"2\pi", r"\boxed{\pi \cdot 2}", C),
    ("3,2", r"\boxed{3,2}", C),
    ("3,2", r"\boxed{3.2}", W),
    ("3,2", r"\boxed{2, 3}", C),
    ("3,2", r"\boxed{(3,2)}", C),
    # fractions and decimals (open-r1 #566: 64/400 vs 63/400)
    (r"\frac{1}{2}", r"\boxed{0.5}", C),
    ("0.5", r"\boxed{\frac{1}{2}}", C),
    (r"\frac{1}{2}", r"\boxed{\dfrac{1}{2}}", C),
    (r"\frac{1}{2}", r"\boxed{\frac12}", C),
    (r"\frac{1}{2}", r"\boxed{1/2}", C),
    (r"-\frac{1}{2}", r"\boxed{\frac{-1}{2}}", C),
    (r"\frac{63}{400}", r"\boxed{\frac{64}{400}}", W),
    (r"\frac{2}{3}", r"\boxed{\frac{4}{6}}", C),
    ("1.5", r"\boxed{\frac32}", C),
    ("0.1", r"\boxed{\frac{1}{10}}", C),
    ("0.4", r"\boxed{.4}", C),
    ("-5", r"\boxed{-5}", C),
    # math-verify rounding: 0.333333 = 1/3, 0.33 != 1/3; tiny exact rationals stay distinct (MV #14)
    (r"\frac{1}{3}", r"\boxed{0.333333}", C),
    (r"\frac{1}{3}", r"\boxed{0.33}", W),
    (r"\frac{1}{2^{99}}", r"\boxed{\frac{1}{2^{98}}}", W),
    ("2^{64}-1", r"\boxed{18446744073709551616}", W),
    ("2^{64}-1", r"\boxed{18446744073709551615}", C),
    # tuples, intervals, sets: bracket kind matters
    ("(1,2)", r"\boxed{(1,2)}", C),
    ("(1,2)", r"\boxed{\left(1, 2\right)}", C),
    ("(1,2)", r"\boxed{(2,1)}", W),
    ("(1,2)", r"\boxed{[1,2]}", W),
    ("[0,1)", r"\boxed{[0,1)}", C),
    ("[0,1)", r"\boxed{[0,1]}", W),
    ("[0,1)", r"\boxed{(0,1)}", W),
    (r"[0,\infty)", r"\boxed{[0, \infty)}", C),
    (r"(-\infty, 3]", r"\boxed{(-\infty,3]}", C),
    (r"(3, \frac{\pi}{2})", r"\boxed{\left( 3, \frac{\pi}{2} \right)}", C),
    (r"\{1,2\}", r"\boxed{\{2,1\}}", C),
    (r"x \in [2,5]", r"\boxed{[2,5]}", C),
    # multiple choice
    ("B", r"\boxed{B}", C),
    ("B", r"\boxed{(B)}", C),
    ("B", r"\boxed{\text{(B)}}", C),
    ("(B)", r"\boxed{B}", C),
    (r"\text{(C)}", r"\boxed{C}", C),
    ("B", r"\boxed{C}", W),
    ("B", r"\boxed{42}", W),
    ("B", "So the answer is (B) 42.", C),
    # equations, units, percentages, degrees, thousands separators
    ("3", r"\boxed{x=3}", C),
    ("x=3", r"\boxed{3}", C),
    ("5", r"\boxed{5 \text{ cm}}", C),
    ("5 cm", r"\boxed{5}", C),
    ("5", r"\boxed{5\text{ cm}^2}", C),
    ("5", r"\boxed{\$5}", C),
    (r"50\%", r"\boxed{50}", C),
    (r"50\%", r"\boxed{50\%}", C),
    (r"50\%", r"\boxed{0.5}", C),
    ("50", r"\boxed{50\%}", C),
    (r"10\%", r"\boxed{0.1}", C),
    (r"28\%", "Final Answer: The final answer is $28 \\%$. I hope it is correct.", C),
    ("1,000", r"\boxed{1000}", C),
    ("1000", r"\boxed{1,000}", C),
    ("1000", r"\boxed{1{,}000}", C),
    ("1000", r"\boxed{1\,000}", C),
    ("1000", r"\boxed{1000.0}", C),
    ("7425000", r"\boxed{7,425,000}", C),
    ("14{,}916", r"\boxed{14916}", C),
    ("90", r"\boxed{90^\circ}", C),
    (r"90^\circ", r"\boxed{90}", C),
    # text answers (math-verify #37: \text{13} vs 13)
    ("13", r"\boxed{\text{13}}", C),
    (r"\text{Evelyn}", r"\boxed{\text{Evelyn}}", C),
    ("Evelyn", r"\boxed{\text{evelyn}}", C),
    ("Evelyn", r"\boxed{Carla}", W),
    (r"\text{yes}", "The final answer is Yes.", C),
    # symbolic equivalence through math-verify (MV #2, #41, #14)
    (r"2\sqrt{3}", r"\boxed{\sqrt{12}}", C),
    (r"2\sqrt{3}", r"\boxed{3\sqrt{2}}", W),
    (r"\frac{\sqrt{3}}{2}", r"\boxed{\frac{1}{2}\sqrt{3}}", C),
    ("x^2+2x+1", r"\boxed{(x+1)^2}", C),
    (r"\frac{x+2}{7}", r"\boxed{\frac{x}{7}+\frac{2}{7}}", C),
    ("4", r"\boxed{4\sqrt{2}}", W),
    (r"1 - \frac{1}{e}", r"\boxed{1 + \frac{1}{e}}", W),
    ("12:00", r"\boxed{1:00}", W),
    (r"\sin 2x", r"\boxed{2\sin x\cos x}", C),
    ("e^{x}", r"\boxed{\exp(x)}", C),
    (r"\ln 8", r"\boxed{3\ln 2}", C),
    ("y=2x+3", r"\boxed{2x - y + 3 = 0}", C),
    ("y=2x+3", r"\boxed{y=3x+2}", W),
    (r"\sqrt{x^2}", r"\boxed{|x|}", C),
    (MATRIX, rf"\boxed{{{MATRIX}}}", C),
    # extraction: last box, think block, answer tags, phrases, trailing period
    ("10", r"\boxed{10} and then \boxed{12}", W),
    ("5", r"<think>\boxed{5}</think> The answer is \boxed{6}.", W),
    ("5", r"<think>\boxed{6}</think> The answer is \boxed{5}.", C),
    ("5", "<think>let me think</think><answer>5</answer>", C),
    ("5", "<think>long reasoning</think>\n\n5", C),
    ("5", r"|special_token|reasoning \boxed{4}|special_token| so \boxed{5}", C),
    ("2", "The final answer is **2**", C),
    ("2", r"\boxed 2", C),
    ("3", r"\boxed{3.}", C),
    (r"Thus $x-p=\boxed{2-2p}$.", r"\boxed{2-2p}", C),
    # no answer is WRONG; a bad gold is UNVERIFIABLE, never CORRECT
    ("5", "no answer at all", W),
    ("5", r"\boxed{}", W),
    ("", r"\boxed{5}", U),
    ("   ", r"\boxed{5}", U),
    (r"\frac{1}{", r"\boxed{5}", U),
    ("???", r"\boxed{???}", U),
    ("x" * 2000, r"\boxed{5}", U),
]


@pytest.fixture(scope="module")
def verdicts() -> list[Verdict | None]:
    golds = [g for g, _, _ in CASES]
    completions = [c for _, c, _ in CASES]
    # a generous per-item limit: on a loaded machine sympy's equation check can pass 5 s, and a
    # timeout would read as "unverifiable" rather than the verdict this table is about
    return verify_math_batch(completions, golds, workers=2, timeout_s=30.0)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{g[:20]}|{c[-24:]}" for g, c, _ in CASES])
def test_verdict_table(verdicts: list[Verdict | None], i: int) -> None:
    gold, completion, expected = CASES[i]
    assert verdicts[i] == expected, (gold, completion)


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 60


def test_none_gold_is_not_applicable() -> None:
    assert verify_math_batch([r"\boxed{1}", r"\boxed{1}"], [None, "1"]) == [None, C]
