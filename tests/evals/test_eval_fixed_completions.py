"""Eval on the fixtures of the real benchmark files, with fixed completions: the numbers hand computation gives.

Each benchmark goes the way the eval builder takes it: converter -> problems -> rollouts (here
written by hand, k per prompt) -> the score stage's grader (math, code in the sandbox) or the
letter grader (GPQA) -> ``pipelines.eval.evaluate``.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from factory.evals.benchmarks import load_benchmark
from factory.evals.metrics import SampleCountError
from factory.rewards.scoring import ScoreConfig, score_batches
from pipelines.eval import evaluate
from tests.support.paths import EVALSET_PATHS as PATHS


def _rollouts(name: str, completions: dict[str, list[str]]) -> pa.Table:
    problems = load_benchmark(name, PATHS[name]).to_table().to_pylist()
    rows = [{**p, "sample_idx": i, "completion": c}
            for p in problems for i, c in enumerate(completions[p["problem_id"]])]
    return pa.Table.from_pylist(rows)


def _run(name, grader, completions, k):
    table = _rollouts(name, completions)
    if grader != "choice":
        cfg = ScoreConfig(rewards=("accuracy",), readability=None, math_workers=1, code_workers=2)
        table = pa.Table.from_batches(list(score_batches(table.to_batches(), cfg)))
    return evaluate(table.to_batches(), grader, k, name, len(completions))


def B(x):  # noqa: N802  (reads like the math)
    return f"Let me work it out.\n\nThe answer is $\\boxed{{{x}}}$."


MATH_500 = {  # golds: 60, 680, 7, \frac{13}{2}, 2, 6
    "test/algebra/9001.json": [B(60), B(60), B(59)],
    "test/counting_and_probability/9002.json": [B(680), B(679), "I give up."],
    "test/algebra/9003.json": [B(7), B(7), B(7)],
    "test/geometry/9004.json": [B(6.5), B("13/2"), B(7)],  # 6.5 and 13/2 are one vote
    "test/number_theory/9005.json": [B(3), B(3), B(2)],
    "test/number_theory/9006.json": ["no idea", "none", B(5)],
}


def test_math_500_by_hand():
    m = _run("math_500", "math", MATH_500, 3)
    # correct counts per problem: 2, 1, 3, 2, 1, 0 -> pass@1 = 9/18
    assert m["pass@1"] == pytest.approx(0.5)
    # runs (sample i of each problem): 4/6, 3/6, 2/6 -> std 1/6
    assert m["pass@1_std"] == pytest.approx(1 / 6) and m["pass@1_sem"] == pytest.approx(1 / 6 / math.sqrt(3))
    # pass@2 = 1 - C(3-c,2)/C(3,2): 1, 2/3, 1, 1, 2/3, 0
    assert m["pass@2"] == pytest.approx(13 / 18) and m["pass@3"] == pytest.approx(5 / 6)
    # maj@3: 60 ✓, 680|679 tie 0.5, 7 ✓, {6.5, 13/2} beats 7 ✓ (as strings: a 3-way tie, 2/3), 3 ✗, 5 ✗
    assert m["maj@3"] == pytest.approx(3.5 / 6) == m["maj@k"]
    assert m["maj@2"] == pytest.approx(3.5 / 6) and m["maj@1"] == pytest.approx(4 / 6)
    assert m["no_answer"] == pytest.approx(3 / 18) and m["unverifiable"] == 0


GPQA = {  # gold letters after the per-record shuffle: D, B, B, B, A
    "recFIXT001": ["Answer: D", "So the result follows.\n\n\\boxed{D}"],
    "recFIXT002": ["Answer: B", "Answer: C"],
    "recFIXT003": ["The value is \\boxed{0.0196}.\n\nAnswer: A", "(A)"],  # the letter outranks the formula
    "recFIXT004": ["I am not sure.", "B"],
    "recFIXT005": ["the answer is A", "Answer: A or B"],  # a hedge is no answer
}


def test_gpqa_by_hand():
    golds = load_benchmark("gpqa_diamond", PATHS["gpqa_diamond"]).to_table().column("answer").to_pylist()
    assert golds == ["D", "B", "B", "B", "A"]
    m = _run("gpqa_diamond", "choice", GPQA, 2)
    assert m["pass@1"] == pytest.approx(5 / 10)  # correct: 2, 1, 0, 1, 1
    assert m["pass@1_std"] == pytest.approx(0.2 / math.sqrt(2))  # runs 3/5 and 2/5
    assert m["pass@2"] == pytest.approx(4 / 5)
    assert m["maj@2"] == pytest.approx((1 + 0.5 + 0 + 1 + 1) / 5) and m["maj@1"] == pytest.approx(3 / 5)
    assert m["no_answer"] == pytest.approx(2 / 10)


def _py(code: str) -> str:
    return f"Here is my solution.\n\n```python\n{code}\n```"


BRACKETS = """n = int(input())
s = input().strip()
depth = bad = 0
for ch in s:
    if ch == "(":
        depth += 1
    elif depth:
        depth -= 1
    else:
        bad += 1
print(depth + bad)"""
CALM = """class Solution:
    def longestCalm(self, nums, limit):
        best = 0
        for i in range(len(nums)):
            lo = hi = nums[i]
            for j in range(i, len(nums)):
                lo, hi = min(lo, nums[j]), max(hi, nums[j])
                if hi - lo > limit:
                    break
                best = max(best, j - i + 1)
        return best"""
CALM_PUBLIC_ONLY = "class Solution:\n    def longestCalm(self, nums, limit):\n        return len(nums) // 2"
GRID = """h, w, k = map(int, input().split())
d = h - 1 + w - 1
print("Yes" if k >= d and (k - d) % 2 == 0 else "No")"""
MIRROR_PUBLIC_ONLY = "class Solution:\n    def countMirrorPairs(self, words):\n        return 1"

LCB = {
    "fixt_a001": [_py(BRACKETS), "I could not solve it."],
    "fixt_l002": [_py(CALM), _py(CALM_PUBLIC_ONLY)],  # passes the public test, fails the private ones
    "fixt_a003": [_py(GRID), _py(GRID)],
    "fixt_c004": ["no code", "still no code"],
    "fixt_l005": [_py(MIRROR_PUBLIC_ONLY), _py(MIRROR_PUBLIC_ONLY)],
}


@pytest.mark.slow
def test_livecodebench_by_hand_with_private_tests_in_the_sandbox():
    m = _run("livecodebench", "code", LCB, 2)
    # correct: a001 1, l002 1, a003 2, c004 0, l005 0 -> 4/10; runs 3/5 and 1/5
    assert m["pass@1"] == pytest.approx(0.4) and m["pass@1_std"] == pytest.approx(0.4 / math.sqrt(2))
    assert m["pass@2"] == pytest.approx(3 / 5)
    assert m["maj@2"] is None  # programs are not voted on
    assert m["no_answer"] == pytest.approx(3 / 10)


def test_eval_refuses_fewer_samples_than_asked():
    short = {pid: c[:1] for pid, c in GPQA.items()}
    with pytest.raises(SampleCountError, match="asked for 2 samples per prompt, but 5 of 5 problems"):
        _run("gpqa_diamond", "choice", short, 2)
    with pytest.raises(SampleCountError, match="1 of 5 problems got no samples"):
        table = _rollouts("gpqa_diamond", GPQA).filter(pa.compute.field("problem_id") != "recFIXT005")
        evaluate(table.to_batches(), "choice", 2, "gpqa_diamond", 5)
