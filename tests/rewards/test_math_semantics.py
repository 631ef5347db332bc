"""Grading semantics a careful human grader applies: which answer counts, which forms are equal, exactness.

Cases follow the spirit of math-verify's and lighteval's own suites (mixed numbers, percent and
unit spellings, sets and intervals, last-match extraction), rewritten here, plus the cases they
get wrong on purpose (rounded equality of different exact values, hedges, retracted boxes).
"""

from __future__ import annotations

import pytest

from factory.rewards.base import Verdict
from factory.rewards.math_extract import HEDGE, extract_answer
from factory.rewards.math_fast import fast_verdict
from factory.rewards.math_reward import MathGrader, split_or

C, W, U = Verdict.CORRECT, Verdict.WRONG, Verdict.UNVERIFIABLE
T = "<think>some reasoning, maybe \\boxed{0} or \\boxed{99}</think>\n\n"

WHICH_ANSWER = [
    # only the summary after </think> counts; an unclosed think block has no answer
    ("7", r"<think>it is \boxed{7}</think> I could not finish.", W),
    ("7", r"<think>it is \boxed{7} and the think block never closes", W),
    ("7", T + r"So the answer is $\boxed{7}$.", C),
    # the last final answer counts, whatever its kind
    ("7", T + r"We get \boxed{7}. Double-checking the parity, the final answer is 7.", C),
    ("8", T + r"First \boxed{7}. Redoing the count properly: the answer is 8.", C),
    ("7", T + "<answer>7</answer>", C),
    ("7", T + r"<answer>so \boxed{7}</answer>", C),
    ("7", T + "<answer>7", W),  # unterminated answer tag
    # final-answer lines without a box
    ("B", T + "Answer: (B)", C),
    ("B", T + "**Answer:** B", C),
    ("12", T + "The answer is 12.", C),
    ("12", T + "答案：12", C),
    ("12", T + "所以最终答案是 12。", C),
    (r"\frac{4}{9}", T + "The answer is $\\frac{4}{9}$, as claimed.", C),
    # unterminated or retracted last box: wrong, never an earlier box
    ("7", T + r"\boxed{7} and then \boxed{8", W),
    ("7", T + r"\boxed{7}. Oops, that is wrong.", W),
    ("7", T + r"\boxed{7}. Scratch that, I made a mistake in the second step.", W),
    ("7", T + r"~~\boxed{7}~~", W),
    ("8", T + r"\boxed{7}. That's wrong: redoing it gives \boxed{8}.", C),
    # hedges: one box with two candidates, or several boxes that disagree
    ("3", T + r"\boxed{3 \text{ or } 4}", W),
    ("3", T + r"\boxed{3} or maybe \boxed{4}", W),
    ("3", T + r"\boxed{x=3}, that is \boxed{3}", C),  # same value twice is no hedge
    ("3", T + r"\boxed{3}\quad\text{or}\quad\boxed{3}", C),
    (r"3 \text{ or } 4", T + r"\boxed{3 \text{ or } 4}", C),  # the gold itself offers both
    (r"(-\infty,-1)\cup(3,\infty)", T + r"\boxed{x<-1 \text{ or } x>3}", C),  # "or" of inequalities = union
    ("3, 4", T + r"\boxed{x=3 \text{ or } x=4}", C),  # both roots, together, are the answer
    ("3, 4", T + r"(a) \boxed{3} (b) \boxed{4}", C),  # one box per part
    ("3, 4", T + r"\boxed{3 \text{ or } 5}", W),
]

EQUIVALENT_FORMS = [
    # mixed numbers (a space or \frac after the whole part), never 21/2 for "2 1/2"
    (r"\frac{5}{2}", r"\boxed{2\frac{1}{2}}", C),
    (r"\frac{5}{2}", r"\boxed{2 \frac{1}{2}}", C),
    (r"\frac{5}{2}", "The answer is 2 1/2.", C),
    (r"\frac{21}{2}", "The answer is 2 1/2.", W),
    ("-2.5", r"\boxed{-2\frac12}", C),
    ("11", r"\boxed{11 7/6}", W),  # not a mixed number
    # repeating decimals are exact
    (r"\frac{1}{3}", r"\boxed{0.\overline{3}}", C),
    (r"\frac{1}{6}", r"\boxed{0.1\overline{6}}", C),
    (r"\frac{1}{3}", r"\boxed{0.(3)}", C),
    (r"\frac{7}{9}", r"\boxed{0.\overline{3}}", W),
    # e-notation and powers of ten
    ("1500", r"\boxed{1.5\times 10^{3}}", C),
    ("1500", r"\boxed{1.5e3}", C),
    ("0.0015", r"\boxed{1.5 \cdot 10^{-3}}", C),
    ("1500", r"\boxed{1.5\times 10^{4}}", W),
    ("100000", r"\boxed{10^5}", C),
    # inequality, interval and set notation for the same set
    ("x>2", r"\boxed{(2,\infty)}", C),
    (r"(2, \infty)", r"\boxed{x > 2}", C),
    (r"[2,\infty)", r"\boxed{x \geq 2}", C),
    (r"[2,\infty)", r"\boxed{x > 2}", W),
    (r"(1,5]", r"\boxed{1 < x \le 5}", C),
    (r"(-\infty, 3)", r"\boxed{3 > x}", C),
    (r"(-\infty,-1)\cup(3,\infty)", r"\boxed{(3,\infty)\cup(-\infty,-1)}", C),
    (r"(-\infty,-1)\cup(3,\infty)", r"\boxed{(-\infty,-1]\cup(3,\infty)}", W),
    (r"\emptyset", r"\boxed{\varnothing}", C),
    (r"\varnothing", r"\boxed{\{\}}", C),
    (r"\emptyset", r"\boxed{\{0\}}", W),
    # tuples and bare lists
    ("(1,2)", r"\boxed{1, 2}", C),
    ("1, 2", r"\boxed{(2, 1)}", C),  # a bare gold list is a set of answers
    ("(1,2)", r"\boxed{2, 1}", W),
    # units and text decorations around a number, degrees, percent
    ("12", r"\boxed{12 \text{ apples}}", C),
    ("12", r"\boxed{12\,\mathrm{cm}^2}", C),
    ("12", r"\boxed{\text{12}}", C),
    ("13", r"\boxed{12 \text{ apples}}", W),
    ("30", r"\boxed{30^{\circ}}", C),
    (r"30^\circ", r"\boxed{30°}", C),
    (r"25\%", r"\boxed{0.25}", C),
    (r"25\%", r"\boxed{25 \text{ percent}}", C),
    (r"25\%", r"\boxed{26\%}", W),
    # choice letters with their option text
    ("(B) 12", r"\boxed{B}", C),
    ("(B) 12", r"\boxed{12}", C),
    ("(B) 12", r"\boxed{(C)}", W),
    ("B", "Answer: (B) 12", C),
    ("B", r"\boxed{\text{(D)}}", W),
]

EXACTNESS = [
    # exact values are compared exactly, however close
    ("10^{20}+1", r"\boxed{10^{20}}", W),
    ("100000000000000000001", r"\boxed{10^{20}}", W),
    ("2^{64}", r"\boxed{18446744073709551615}", W),
    (r"\frac{1}{3}", r"\boxed{\frac{3333333333}{10000000000}}", W),
    (r"\pi", r"\boxed{\frac{355}{113}}", W),
    (r"\sqrt{2}", r"\boxed{\frac{14142135623}{10000000000}}", W),
    (r"\sqrt{2}+\frac{1}{10^{15}}", r"\boxed{\sqrt{2}}", W),
    (r"\sqrt{4}", r"\boxed{2}", C),
    (r"10^{20}+1-10^{20}", r"\boxed{1}", C),
    # a decimal with enough digits stands for the exact value it rounds or truncates
    (r"\frac{1}{3}", r"\boxed{0.3333333333}", C),
    (r"\frac{1}{3}", r"\boxed{0.3333}", C),
    (r"\frac{2}{3}", r"\boxed{0.6667}", C),
    (r"\frac{2}{3}", r"\boxed{0.6666}", C),
    (r"\frac{1}{3}", r"\boxed{0.33}", W),  # too few digits to be an approximation
    (r"\frac{1}{3}", r"\boxed{0.3334}", W),  # neither rounded nor truncated
    ("0.3", r"\boxed{\frac{1}{3}}", W),  # a short decimal gold is exact
    ("2.2361", r"\boxed{\sqrt{5}}", C),
    ("2.2360", r"\boxed{\sqrt{5}}", C),  # truncated
    ("2.2362", r"\boxed{\sqrt{5}}", W),
    (r"\sqrt{2}", r"\boxed{1.4142}", C),
    (r"\sqrt{2}", r"\boxed{1.41}", W),
]

MALFORMED_GOLD = [
    (r"\frac{}{}", r"\boxed{\frac{}{}}", U),
    (r"\frac{1}", r"\boxed{\frac{1}}", U),
    (r"\sqrt{}", r"\boxed{5}", U),
    ("(1,2", r"\boxed{(1,2}", U),
    ("{5", r"\boxed{5}", U),
    ("5+", r"\boxed{5+}", U),
    ("[0,1)", r"\boxed{[0,1)}", C),  # mixed brackets are an interval, not malformed
]

CASES = WHICH_ANSWER + EQUIVALENT_FORMS + EXACTNESS + MALFORMED_GOLD


@pytest.fixture(scope="module")
def verdicts() -> list[Verdict | None]:
    grader = MathGrader(workers=1)
    try:
        return grader.grade([c for _, c, _ in CASES], [g for g, _, _ in CASES], timeout_s=30.0)
    finally:
        grader.close()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{g[:18]}|{c[-28:]}" for g, c, _ in CASES])
def test_semantics(verdicts: list[Verdict | None], i: int) -> None:
    gold, completion, expected = CASES[i]
    assert verdicts[i] == expected, (gold, completion)


ADVERSARIAL = [
    # (gold, completion): none of these may ever be graded correct
    ("5", r"<think>\boxed{5}</think> I am not sure."),
    ("5", r"<think>\boxed{5}"),
    ("5", r"\boxed{5} or \boxed{6}"),
    ("5", r"\boxed{5 \text{ or } 6}"),
    ("5", r"\boxed{4 \text{ or } 5 \text{ or } 6}"),
    ("5", r"\boxed{5}\boxed{6"),
    ("5", r"\boxed{5}. This is wrong."),
    ("10^{20}+1", r"\boxed{100000000000000000000}"),
    ("2^{100}", r"\boxed{2^{100}+1}"),
    (r"\frac{1}{2^{99}}", r"\boxed{\frac{1}{2^{98}}}"),
    (r"\frac{1}{7}", r"\boxed{0.14}"),
    (r"e", r"\boxed{\frac{2721}{1001}}"),
    (r"\frac{}{}", r"\boxed{\frac{}{}}"),
    ("", r"\boxed{}"),
    ("3", r"\boxed{3.5}"),
    ("(1,2)", r"\boxed{[1,2]}"),
    ("[2,\\infty)", r"\boxed{(2,\infty)}"),
    ("B", r"\boxed{A, B}"),
    ("x>2", r"\boxed{x\geq2}"),
]


def test_adversarial_rows_are_never_correct() -> None:
    grader = MathGrader(workers=1)
    try:
        verdicts = grader.grade([c for _, c in ADVERSARIAL], [g for g, _ in ADVERSARIAL], timeout_s=5.0)
    finally:
        grader.close()
    wrongly = [pair for pair, v in zip(ADVERSARIAL, verdicts) if v is C]
    assert wrongly == []


def test_hedged_boxes_come_back_joined_and_split() -> None:
    answer = extract_answer(T + r"\boxed{3}, or perhaps \boxed{4}")
    assert answer == "3" + HEDGE + "4"
    assert split_or(answer, "3") == ["3", "4"]
    assert split_or(answer, r"3 \text{ or } 4") == [answer]


def test_tolerance_is_configurable() -> None:
    assert fast_verdict("0.3333", r"\frac13") is C
    assert fast_verdict("0.3333", r"\frac13", digits=6) is W
    assert fast_verdict("0.333333", r"\frac13", digits=6) is C
    with pytest.raises(ValueError, match="decimal_digits"):
        MathGrader(decimal_digits=0)


def test_tolerance_enters_the_grader_version() -> None:
    from pipelines.scored import Config

    assert Config().graders["accuracy"] != Config(math_decimal_digits=6).graders["accuracy"]
    assert "+dec4" in Config().graders["accuracy"]
