"""NeMo-Skills metrics with hand-computed values: pass@1 ± std across runs, unbiased pass@k, maj@k with ties."""

from __future__ import annotations

import doctest
import math

import pytest

from factory.evals import metrics as metrics_mod
from factory.evals import voting
from factory.evals.metrics import (
    ProblemSamples,
    SampleCountError,
    benchmark_metrics,
    equivalence_classes,
    majority_credit,
    pass_at_k,
)


def test_doctests():
    assert doctest.testmod(metrics_mod).failed == 0


def test_pass_at_k_is_the_unbiased_estimator():
    # n=5, c=2: pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)  # = c/n
    assert pass_at_k(5, 2, 4) == 1.0  # n - c < k: any 4 include a correct one
    assert pass_at_k(5, 0, 5) == 0.0 and pass_at_k(5, 5, 1) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_majority_ties_are_averaged():
    assert majority_credit([0, 1, 2], [True, False, False], 3) == pytest.approx(1 / 3)  # three-way tie, one right
    assert majority_credit([0, 0, 1, 1, 2], [False, False, True, True, True], 5) == 0.5
    assert majority_credit([0, 0, 1], [False, False, True], 3) == 0.0  # a clear wrong majority
    assert majority_credit([0, 0, 1], [False, False, True], 1) == 0.0  # first sample only
    assert majority_credit([None, None, 1], [False, False, True], 2) == 0.0  # no answer in the first two
    assert majority_credit([None, None, 1], [False, False, True], 3) == 1.0


def _p(pid, correct, classes):
    return ProblemSamples(pid, tuple(correct), tuple(classes))


def test_benchmark_metrics_by_hand():
    # 3 problems, k=4
    # p1: c=3, answers a a a b (a right) ; p2: c=1, a b b c (a right; b majority) ; p3: c=0, none x2, x x
    problems = [_p("p1", [1, 1, 0, 1], [0, 0, 1, 0]), _p("p2", [1, 0, 0, 0], [0, 1, 1, 2]),
                _p("p3", [0, 0, 0, 0], [None, None, 0, 0])]
    m = benchmark_metrics(problems, 4)
    assert m["pass@1"] == pytest.approx(4 / 12)
    runs = [2 / 3, 1 / 3, 0.0, 1 / 3]  # run i = sample i of every problem
    mean = sum(runs) / 4
    std = math.sqrt(sum((r - mean) ** 2 for r in runs) / 3)
    assert m["pass@1_std"] == pytest.approx(std) and m["pass@1_sem"] == pytest.approx(std / 2)
    # pass@2: p1 1 - C(1,2)/C(4,2) = 1; p2 1 - C(3,2)/C(4,2) = 1/2; p3 0
    assert m["pass@2"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["pass@4"] == pytest.approx(2 / 3)
    # maj@4: p1 a (right) 1; p2 b (wrong) 0; p3 x (wrong) 0
    assert m["maj@4"] == pytest.approx(1 / 3)
    # maj@2: p1 [a, a] 1; p2 [a, b] tie, a right: 0.5; p3 no answers: 0
    assert m["maj@2"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["maj@1"] == pytest.approx(2 / 3)
    assert m["no_answer"] == pytest.approx(2 / 12)
    assert m["problems"] == 3 and m["samples"] == 12 and m["k"] == 4


def test_a_single_sample_has_no_std_and_votes_can_be_off():
    m = benchmark_metrics([_p("p", [1], [0]), _p("q", [0], [None])], 1, votes=False)
    assert m["pass@1"] == 0.5 and m["pass@1_std"] is None and m["maj@1"] is None


def test_wrong_sample_count_fails_loudly():
    with pytest.raises(SampleCountError, match=r"asked for 4 samples per prompt, but 1 of 2 problems .* 'q' has 1"):
        benchmark_metrics([_p("p", [1] * 4, [0] * 4), _p("q", [1], [0])], 4)


def test_classes_come_from_the_grader_not_the_strings():
    answers = ["0.5", "1/2", "\\frac{1}{2}", "\\dfrac12", "0.25", None]
    classes = equivalence_classes(answers, voting.math_same)
    assert classes[:4] == [0, 0, 0, 0] and classes[4] == 1 and classes[5] is None
    # a string vote would split 0.5 / 1/2 / \frac{1}{2} against 0.25 x2 and lose
    votes = ["0.5", "1/2", "\\frac{1}{2}", "0.25", "0.25"]
    cls = equivalence_classes(votes, voting.math_same)
    assert majority_credit(cls, [True, True, True, False, False], 5) == 1.0
    assert equivalence_classes(["A", "B", "A"], lambda ps: [a == b for a, b in ps]) == [0, 1, 0]
