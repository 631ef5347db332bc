"""Public API of the math grader: reward shape, dedup and cache, settings, doctests."""

from __future__ import annotations

import doctest
import logging

import pytest

from factory.rewards import math_extract, math_fast, math_normalize, math_numeric, math_reward
from factory.rewards.base import Verdict
from factory.rewards.math_pool import PoolResult
from factory.rewards.math_reward import (
    MATH_GRADER_VERSION,
    MathGrader,
    get_math_accuracy_reward,
    math_accuracy_reward,
    verify_math_batch,
)


class SpyPool:
    """Stands in for the worker pool: records what reaches math-verify."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[str | None, str]]] = []

    def judge(self, pairs, timeout_s):
        self.calls.append(list(pairs))
        return [PoolResult(Verdict.CORRECT) for _ in pairs]

    def close(self) -> None:
        pass


@pytest.mark.parametrize("module", [math_extract, math_normalize, math_numeric, math_fast, math_reward])
def test_doctests(module) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_reward_values_and_not_applicable() -> None:
    chat = [{"role": "assistant", "content": r"<think>x</think> \boxed{3}"}]
    completions = [r"\boxed{2}", chat, "none", "x"]
    rewards = math_accuracy_reward(completions, answer=["2", "2", "2", None], prompts=["p"] * 4)
    assert rewards == [1.0, 0.0, 0.0, None]
    assert math_accuracy_reward(completions) == [None] * 4


def test_unverifiable_gold_scores_zero_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="factory.rewards.math_reward"):
        assert math_accuracy_reward([r"\boxed{}", r"\boxed{5}"], answer="") == [0.0, 0.0]
    assert "unverifiable" in caplog.text
    assert verify_math_batch([r"\boxed{5}"], [""]) == [Verdict.UNVERIFIABLE]


def test_single_gold_broadcasts_and_length_mismatch_raises() -> None:
    assert verify_math_batch([r"\boxed{1}", r"\boxed{2}"], "1") == [Verdict.CORRECT, Verdict.WRONG]
    with pytest.raises(ValueError, match="answer"):
        verify_math_batch([r"\boxed{1}", r"\boxed{2}"], ["1"])


def test_factory_names_the_reward_and_checks_settings() -> None:
    reward = get_math_accuracy_reward(workers=1, timeout_s=2.0)
    assert reward.__name__ == "math_accuracy_reward"
    assert reward([r"\boxed{\dfrac{1}{2}}"], answer=["0.5"]) == [1.0]
    with pytest.raises(ValueError, match="timeout_s=0"):
        get_math_accuracy_reward(timeout_s=0)
    with pytest.raises(ValueError, match="workers=0"):
        get_math_accuracy_reward(workers=0)


def test_identical_pairs_reach_math_verify_once_and_are_cached() -> None:
    grader = MathGrader(workers=1)
    spy = SpyPool()
    grader._pool = spy
    gold = r"\arcsin x"
    completions = [rf"<think>try {i}</think> \boxed{{\sin^{{-1}} x}}" for i in range(16)]
    completions.append(r"\boxed{\sin^{-1}(x)}")
    verdicts = grader.grade(completions, gold)
    assert verdicts == [Verdict.CORRECT] * 17
    assert spy.calls == [[(r"\sin^{-1} x", gold), (r"\sin^{-1}(x)", gold)]]
    grader.grade(completions[:3], gold)
    assert len(spy.calls) == 1  # served from the cache


def test_fast_path_pairs_never_reach_the_pool() -> None:
    grader = MathGrader(workers=1)
    spy = SpyPool()
    grader._pool = spy
    completions = [r"\boxed{0.5}", r"\boxed{(1,2]}", r"\boxed{B}", "no answer"]
    verdicts = grader.grade(completions, [r"\frac12", "(1,2)", "(B)", "5"])
    assert verdicts == [Verdict.CORRECT, Verdict.WRONG, Verdict.CORRECT, Verdict.WRONG]
    assert spy.calls == []


def test_cache_is_bounded() -> None:
    grader = MathGrader(workers=1, cache_size=2)
    grader.grade([r"\boxed{1}", r"\boxed{2}", r"\boxed{3}"], ["1", "1", "1"])
    assert len(grader._cache) == 2
    with pytest.raises(ValueError, match="cache_size"):
        MathGrader(cache_size=-1)


def test_grader_version_is_semver() -> None:
    assert [int(p) for p in MATH_GRADER_VERSION.split(".")] and MATH_GRADER_VERSION.count(".") == 2
