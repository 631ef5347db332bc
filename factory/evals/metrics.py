r"""Eval metrics as NeMo-Skills reports them, from per-sample verdicts and answer classes.

For ``n`` samples per problem (all problems must have the same ``n``, the ``k`` asked for):

- ``pass@1``: mean over problems of (correct samples / n) — NeMo-Skills' ``pass@1[avg-of-n]``.
- ``pass@1_std``: the standard deviation (ddof=1) *across the n runs*, run ``i`` being sample
  ``i`` of every problem — NeMo-Skills' ``std_dev_across_runs``; ``pass@1_sem`` = std / sqrt(n)
  (its ``std_err_across_runs``). It is not the spread over problems.
- ``pass@j`` for every j <= n: the unbiased estimator of Chen et al. (2021),
  ``1 - C(n-c, j) / C(n, j)`` per problem, averaged over problems.
- ``maj@j`` for every j <= n: a vote among the first j samples' answers, where answers are
  grouped into equivalence classes by the grader (``0.5``, ``1/2`` and ``\frac{1}{2}`` are one
  class). A tie between the top classes is averaged: the credit is the share of tied classes
  that are correct. A problem whose first j samples give no answer scores 0.
- ``no_answer``: the share of samples with no extractable answer.
Unverifiable samples (malformed gold) count as wrong and are counted in ``unverifiable``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

from factory.errors import FactoryError
from factory.rewards.math_extract import extract_answer
from factory.rewards.math_normalize import normalize


class SampleCountError(FactoryError):
    """An eval got a different number of samples per prompt than it asked for."""


@dataclass(frozen=True)
class ProblemSamples:
    """One problem's samples in sample-index order.

    Attributes:
        problem_id: the problem.
        correct: per sample: the grader said correct (unverifiable and wrong are False).
        classes: per sample: its answer's equivalence class (same int = same answer), None = no answer.
        unverifiable: samples whose gold could not be checked.
    """

    problem_id: str
    correct: tuple[bool, ...]
    classes: tuple[int | None, ...]
    unverifiable: int = 0


def vote_key(completion: str, domain: str | None) -> str | None:
    """A sample's normalized final answer (math), None where voting is undefined (code): a cheap
    first grouping; :func:`equivalence_classes` then merges keys the grader calls equal."""
    if domain == "code":
        return None
    ans = extract_answer(completion or "")
    return normalize(ans) if ans is not None else None


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): the chance that k of n samples, drawn without replacement, hold a correct one.

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 2), pass_at_k(4, 0, 3), pass_at_k(4, 2, 3)
    (0.25, 0.5, 0.0, 1.0)
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def majority_credit(classes: Sequence[int | None], correct: Sequence[bool], k: int) -> float:
    """maj@k credit of one problem: the vote among the first k answers, ties averaged.

    A class is correct when any of its samples is (the grader judged them equivalent).

    >>> majority_credit([0, 1, 1, 0], [True, False, False, True], 4)  # a 2-2 tie, one class right
    0.5
    >>> majority_credit([0, 1, 1, None], [True, False, False, False], 4)
    0.0
    """
    votes = Counter(c for c in classes[:k] if c is not None)
    if not votes:
        return 0.0
    top = max(votes.values())
    tied = [c for c, v in votes.items() if v == top]
    right = {c for c, ok in zip(classes, correct) if ok and c is not None}
    return sum(c in right for c in tied) / len(tied)


def check_sample_counts(counts: dict[str, int], k: int, benchmark: str) -> None:
    """Fail loudly unless every problem has exactly ``k`` samples (a silent 1-sample run is a wrong table).

    Raises:
        SampleCountError: naming how many problems are off and an example.
    """
    bad = {pid: n for pid, n in counts.items() if n != k}
    if not counts:
        raise SampleCountError(f"{benchmark}: no samples to score (asked for {k} per prompt)")
    if bad:
        pid, n = next(iter(bad.items()))
        raise SampleCountError(f"{benchmark}: asked for {k} samples per prompt, but {len(bad)} of {len(counts)} "
                               f"problems have another count (e.g. {pid!r} has {n}); the backend or a stale "
                               "rollouts snapshot ignored samples_per_prompt")


def _std(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def benchmark_metrics(problems: Sequence[ProblemSamples], k: int, *, votes: bool = True) -> dict[str, object]:
    """The metrics of one benchmark (see the module docstring); keys ``pass@j`` / ``maj@j`` for j = 1..k.

    Raises:
        SampleCountError: a problem does not have exactly ``k`` samples.
    """
    check_sample_counts({p.problem_id: len(p.correct) for p in problems}, k, "benchmark")
    m = len(problems)
    runs = [sum(p.correct[i] for p in problems) / m for i in range(k)]
    std = _std(runs)
    out: dict[str, object] = {
        "problems": m, "samples": m * k, "k": k,
        "pass@1": sum(sum(p.correct) for p in problems) / (m * k),
        "pass@1_std": std, "pass@1_sem": None if std is None else std / math.sqrt(k),
    }
    for j in range(1, k + 1):
        out[f"pass@{j}"] = sum(pass_at_k(k, sum(p.correct), j) for p in problems) / m
    for j in range(1, k + 1):
        out[f"maj@{j}"] = sum(majority_credit(p.classes, p.correct, j) for p in problems) / m if votes else None
    out["no_answer"] = sum(c is None for p in problems for c in p.classes) / (m * k)
    out["unverifiable"] = sum(p.unverifiable for p in problems)
    return out


def equivalence_classes(answers: Sequence[str | None], same: Callable[[list[tuple[str, str]]], list[bool]]) -> list[int | None]:
    """Class ids for answers, where ``same`` decides for a batch of distinct pairs (union-find, so classes are transitive).

    >>> equivalence_classes(["0.5", "1/2", None, "3", "0.5"], lambda ps: [{a, b} == {"0.5", "1/2"} for a, b in ps])
    [0, 0, None, 1, 0]
    """
    distinct = list(dict.fromkeys(a for a in answers if a is not None))
    parent = list(range(len(distinct)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = [(i, j) for i in range(len(distinct)) for j in range(i + 1, len(distinct))]
    if pairs:
        for (i, j), eq in zip(pairs, same([(distinct[i], distinct[j]) for i, j in pairs])):
            if eq:
                parent[root(j)] = root(i)
    index = {a: i for i, a in enumerate(distinct)}
    roots: dict[int, int] = {}
    out: list[int | None] = []
    for a in answers:
        out.append(None if a is None else roots.setdefault(root(index[a]), len(roots)))
    return out
