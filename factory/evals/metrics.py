"""Evaluation metrics (R1 §3): pass@1 averaged over k samples, and cons@k by majority vote.

pass@1 = mean over problems of (correct samples / k); cons@k = share of problems whose most
frequent final answer is correct. Unverifiable rows count as wrong and are reported.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

import pyarrow as pa

from factory.rewards.math_extract import extract_answer
from factory.rewards.math_normalize import normalize


def vote_key(completion: str, domain: str | None) -> str | None:
    """The answer a sample votes for: the normalized final answer (math); None where voting is undefined."""
    if domain == "code":
        return None
    ans = extract_answer(completion or "")
    return normalize(ans) if ans is not None else None


def metrics(batches: Iterable[pa.RecordBatch]) -> dict[str, float | int | None]:
    """pass@1, cons@k and counts from scored rows (problem_id, completion, correct, verdict, domain)."""
    per_problem: dict[str, list[tuple[bool, str | None]]] = defaultdict(list)
    unverifiable = 0
    for b in batches:
        n = b.num_rows
        cols = {c: b.column(c).to_pylist() if c in b.schema.names else [None] * n
                for c in ("problem_id", "completion", "correct", "verdict", "domain")}
        for pid, completion, correct, verdict, domain in zip(*cols.values()):
            unverifiable += verdict == "unverifiable"
            per_problem[pid].append((bool(correct), vote_key(completion, domain)))
    if not per_problem:
        return {"problems": 0, "samples": 0, "pass@1": None, "cons@k": None, "unverifiable": 0}
    pass1 = sum(sum(ok for ok, _ in rows) / len(rows) for rows in per_problem.values()) / len(per_problem)
    votable = {pid: rows for pid, rows in per_problem.items() if any(k is not None for _, k in rows)}
    cons = None
    if votable:
        wins = 0
        for rows in votable.values():
            counts = Counter(k for _, k in rows if k is not None)
            top = counts.most_common(1)[0][0]
            wins += any(ok for ok, k in rows if k == top)
        cons = wins / len(votable)
    k = max(len(rows) for rows in per_problem.values())
    return {"problems": len(per_problem), "samples": sum(len(r) for r in per_problem.values()), "k": k,
            "pass@1": round(pass1, 4), "cons@k": None if cons is None else round(cons, 4), "unverifiable": unverifiable}
