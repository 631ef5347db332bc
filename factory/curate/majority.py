"""Majority-vote pseudo-labels (NeMo-Skills): the answer most of k samples agree on, by grader equivalence.

Answers are first grouped by their normalized form (``evals.metrics.vote_key``, the key cons@k
votes with); groups whose representatives the math grader calls equivalent (``0.5`` and
``\\frac12``) are then merged, so a pseudo-gold is not split across spellings. Ties go to the
lexicographically smallest key, so the label is deterministic. Code has no answer to vote on.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable

import pyarrow as pa

from factory.evals.metrics import vote_key
from factory.rewards.base import Verdict
from factory.rewards.math_extract import extract_answer
from factory.rewards.math_reward import verify_math_batch


@dataclass(frozen=True)
class Vote:
    """One prompt's vote: the winning answer (as written most often), its count, and k."""

    answer: str
    votes: int
    k: int

    @property
    def agreement(self) -> float:
        return self.votes / self.k


def _clusters(per_problem: dict[str, Counter], raw: dict[tuple[str, str], Counter],
              timeout_s: float) -> dict[str, dict[str, str]]:
    """Per problem, key -> cluster root, merging keys whose answers the grader calls equivalent."""
    pairs = [(pid, a, b) for pid, keys in per_problem.items() for a in sorted(keys) for b in sorted(keys) if a < b]
    reps = {(pid, k): raw[(pid, k)].most_common(1)[0][0] for pid, keys in per_problem.items() for k in keys}
    verdicts = verify_math_batch([f"\\boxed{{{reps[(p, a)]}}}" for p, a, _ in pairs], [reps[(p, b)] for p, _, b in pairs],
                                 timeout_s=timeout_s) if pairs else []
    roots = {pid: {k: k for k in keys} for pid, keys in per_problem.items()}

    def find(pid: str, k: str) -> str:
        while roots[pid][k] != k:
            k = roots[pid][k]
        return k

    for (pid, a, b), v in zip(pairs, verdicts):
        if v is Verdict.CORRECT:
            ra, rb = find(pid, a), find(pid, b)
            roots[pid][max(ra, rb)] = min(ra, rb)
    return {pid: {k: find(pid, k) for k in keys} for pid, keys in roots.items()}


def majority_votes(batches: Iterable[pa.RecordBatch], timeout_s: float = 5.0) -> dict[str, Vote]:
    """Majority answers of scored/rollout rows (``problem_id``, ``completion``, ``domain``).

    >>> rows = [{"problem_id": "p", "completion": c, "domain": "math"} for c in
    ...         (r"\\boxed{0.5}", r"\\boxed{\\frac12}", r"\\boxed{3}", "no answer")]
    >>> v = majority_votes([pa.RecordBatch.from_pylist(rows)])["p"]
    >>> v.votes, v.k, v.agreement
    (2, 4, 0.5)
    """
    per_problem: dict[str, Counter] = defaultdict(Counter)
    raw: dict[tuple[str, str], Counter] = defaultdict(Counter)
    k: Counter = Counter()
    for b in batches:
        cols = [b.column(c).to_pylist() if c in b.schema.names else [None] * b.num_rows
                for c in ("problem_id", "completion", "domain")]
        for pid, text, domain in zip(*cols):
            k[pid] += 1
            key = vote_key(text or "", domain)
            if key is not None:
                per_problem[pid][key] += 1
                raw[(pid, key)][extract_answer(text or "")] += 1
    roots = _clusters(per_problem, raw, timeout_s)
    out = {}
    for pid, keys in per_problem.items():
        sizes: Counter = Counter()
        for key, n in keys.items():
            sizes[roots[pid][key]] += n
        top = min(sizes, key=lambda r: (-sizes[r], r))
        members = [key for key in keys if roots[pid][key] == top]
        written = Counter()
        for key in members:
            written.update(raw[(pid, key)])
        out[pid] = Vote(min(written, key=lambda a: (-written[a], a)), sizes[top], k[pid])
    return out
