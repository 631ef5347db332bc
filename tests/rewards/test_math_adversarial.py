"""Adversarial LaTeX must come back WRONG/UNVERIFIABLE within the time limit without spoiling its batch."""

from __future__ import annotations

import time

import pytest

from factory.rewards.base import Verdict
from factory.rewards.math_extract import extract_answer
from factory.rewards.math_pool import MathVerifyPool
from factory.rewards.math_reward import MathGrader

C, W, U = Verdict.CORRECT, Verdict.WRONG, Verdict.UNVERIFIABLE
SLOW = r"2^{2^{30}} - 2^{2^{30}} + 2"  # math-verify's comparison needs its 1 s alarm to give up
NEST = "{" * 450 + "5" + "}" * 450  # under the length cap, but math-verify's parser chokes on it

ADVERSARIAL = [
    # (gold, completion, allowed verdicts)
    ("5", r"\boxed{10^{10^{10^{10}}}}", {W}),
    (r"10^{10^{10^{10}}}", r"\boxed{5}", {W, U}),
    ("5", "1+" * 50_000 + "1", {W}),
    ("5", r"\boxed{" + "1+" * 50_000 + "1}", {W}),
    ("1+" * 50_000 + "1", r"\boxed{5}", {U}),
    ("5", r"\boxed{" + "{" * 10_000 + "5" + "}" * 10_000 + "}", {W}),
    ("5", r"\boxed{" + NEST + "}", {W, C}),
    ("{" * 10_000 + "5" + "}" * 10_000, r"\boxed{5}", {U}),
    (NEST, r"\boxed{5}", {U}),
    ("5", r"\boxed{}", {W}),
    ("", r"\boxed{}", {U}),
    ("5", r"\boxed{" * 10_000, {W}),
    ("5", "<answer>" * 10_000, {W}),
    ("5", "the answer is " * 10_000, {W}),
    ("5", r"\boxed{(10^{10^{8}})!}", {W}),
    ("2", rf"\boxed{{{SLOW}}}", {W, C}),
]
NORMAL = [
    (r"2\sqrt{3}", r"<think>hmm</think> \boxed{\sqrt{12}}", C),
    ("(1,2)", r"\boxed{(1, 2)}", C),
    (r"\frac{1}{2}", r"\boxed{0.5}", C),
    ("7", r"\boxed{8}", W),
    ("x^2+2x+1", r"\boxed{(x+1)^2}", C),
]


def test_adversarial_batch_is_bounded_and_neighbours_survive() -> None:
    golds = [g for g, _, _ in ADVERSARIAL] + [g for g, _, _ in NORMAL]
    completions = [c for _, c, _ in ADVERSARIAL] + [c for _, c, _ in NORMAL]
    grader = MathGrader(workers=2)
    try:
        start = time.monotonic()
        verdicts = grader.grade(completions, golds, timeout_s=3.0)
        elapsed = time.monotonic() - start
    finally:
        grader.close()
    assert elapsed < 30, elapsed
    for (gold, completion, allowed), verdict in zip(ADVERSARIAL, verdicts):
        assert verdict in allowed, (gold[:40], completion[:40], verdict)
    assert verdicts[len(ADVERSARIAL):] == [expected for _, _, expected in NORMAL]


def test_extraction_is_linear_on_hostile_text() -> None:
    start = time.monotonic()
    hostile = ["{" * 100_000, r"\boxed{" * 20_000, "<answer>" * 20_000 + "</answer>", "answer is " * 20_000]
    for text in hostile:
        extract_answer(text)
    assert time.monotonic() - start < 5


def test_stuck_worker_is_killed_and_replaced() -> None:
    """A parent deadline shorter than math-verify's 1 s alarm forces the hard-kill path."""
    pool = MathVerifyPool(workers=1, grace_s=0.4)  # kill after 0.7 s; the slow items need >= 1 s
    try:
        pairs = [(SLOW, "2"), ("7", "7"), ("5", NEST), (r"\sqrt{8}", NEST), ("3", "3")]
        results = pool.judge(pairs, timeout_s=0.3)
    finally:
        pool.close()
    verdicts = [r.verdict for r in results]
    assert verdicts[0] is W and results[0].timed_out  # stuck on the prediction
    assert verdicts[1] is C  # requeued to the fresh worker
    assert verdicts[2] is U and verdicts[3] is U  # the gold hung once; its other pair is not retried
    assert verdicts[4] is C
    assert pool.kills == 2


def test_pool_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="workers=0"):
        MathVerifyPool(workers=0)
    with pytest.raises(ValueError, match="timeout_s=0"):
        MathVerifyPool(workers=1).judge([("1", "1")], timeout_s=0)


def test_forked_child_starts_its_own_workers() -> None:
    import multiprocessing as mp

    pool = MathVerifyPool(workers=1).start()
    try:
        parent_worker = pool._pool[0].process.pid
        ctx = mp.get_context("fork")  # fork inherits the pool (and its pipes) without pickling
        queue = ctx.SimpleQueue()
        child = ctx.Process(target=_judge_in_child, args=(pool, queue))
        child.start()
        child.join(timeout=60)
        verdict, child_worker = queue.get()
        assert verdict == C.value and child_worker != parent_worker
        assert pool.judge([(r"\sqrt{x^2}", "|x|")], 5.0)[0].verdict is C  # the parent's worker still answers
        assert pool._pool[0].process.pid == parent_worker
    finally:
        pool.close()


def _judge_in_child(pool: MathVerifyPool, queue) -> None:
    verdict = pool.judge([(r"\sqrt{x^2}", "|x|")], 5.0)[0].verdict
    queue.put((verdict.value, pool._pool[0].process.pid))
    pool.close()


def test_worker_that_died_while_idle_is_replaced() -> None:
    pool = MathVerifyPool(workers=1).start()
    try:
        dead = pool._pool[0].process
        dead.kill()
        dead.wait()
        assert pool.judge([(r"\sqrt{x^2}", "|x|")], 5.0)[0].verdict is C
        assert pool._pool[0].process.pid != dead.pid
    finally:
        pool.close()
