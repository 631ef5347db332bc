r"""Per-sample answers and their equivalence classes, decided by each benchmark's own grader.

A vote counts answers, not strings: ``0.5``, ``1/2`` and ``\frac{1}{2}`` are one answer
because the math grader says they are equal. So classes come from the grader: math pairs
go through ``verify_math_batch`` (one answer as the gold of the other), choice answers are
letters, and code has no vote (two programs are not compared by their text).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

import pyarrow as pa

from factory.evals.gpqa import grade_choices
from factory.evals.metrics import ProblemSamples, equivalence_classes
from factory.rewards.base import Verdict
from factory.rewards.code_reward import extract_code
from factory.rewards.math_extract import extract_answer
from factory.rewards.math_reward import verify_math_batch


def math_same(pairs: list[tuple[str, str]]) -> list[bool]:
    """Whether each pair of extracted math answers is the same value (the grader's verdict)."""
    if not pairs:
        return []
    verdicts = verify_math_batch([f"\\boxed{{{a}}}" for a, _ in pairs], [b for _, b in pairs])
    return [v is Verdict.CORRECT for v in verdicts]


def _exact(pairs: list[tuple[str, str]]) -> list[bool]:
    return [a == b for a, b in pairs]


def answers_of(grader: str, completions: list[str], golds: list[Any], metadata: list[Any],
               correct: list[Any]) -> tuple[list[str | None], list[Any]]:
    """The answer each sample gives (a math final answer, a letter, or ``"code"`` when it has a
    program) and its correctness: the scored ``correct`` column, or the letter grade for choice."""
    if grader == "math":
        return [extract_answer(c or "") for c in completions], correct
    if grader == "choice":
        graded = grade_choices(completions, golds, metadata)
        return [letter for letter, _ in graded], [ok for _, ok in graded]
    return ["code" if extract_code(c or "") is not None else None for c in completions], correct


def collect(batches: Iterable[pa.RecordBatch], grader: str) -> tuple[list[ProblemSamples], dict[str, int]]:
    """Group samples by problem (in sample-index order) with their correctness and answer classes.

    Args:
        batches: rows with ``problem_id``, ``sample_idx``, ``completion``, and ``correct`` +
            ``verdict`` from scoring (math, code) or ``answer`` + ``metadata`` (choice: graded here).
        grader: ``math`` | ``choice`` | ``code``, or ``mixed`` (per row: code where ``domain`` is
            code, else math; each program is then its own class, so a vote is a mean).

    Returns:
        The problems, and the number of samples each problem has (for the count check).
    """
    rows: dict[str, list[tuple[int, bool, bool, str | None]]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for b in batches:
        cols = {c: b.column(c).to_pylist() if c in b.schema.names else [None] * b.num_rows
                for c in ("problem_id", "sample_idx", "completion", "correct", "verdict", "answer", "metadata", "domain")}
        row_kinds = [("code" if d == "code" else "math") if grader == "mixed" else grader for d in cols["domain"]]
        answers: list[str | None] = [None] * b.num_rows
        correct = list(cols["correct"])
        for kind in set(row_kinds):
            idx = [i for i, k in enumerate(row_kinds) if k == kind]
            got, ok = answers_of(kind, *([cols[c][i] for i in idx] for c in ("completion", "answer", "metadata", "correct")))
            for i, a, c in zip(idx, got, ok):
                answers[i], correct[i] = a, c
        for i, pid in enumerate(cols["problem_id"]):
            kinds[pid] = row_kinds[i]
            rows[pid].append((cols["sample_idx"][i], bool(correct[i]), cols["verdict"][i] == Verdict.UNVERIFIABLE.value,
                              answers[i]))
    out = [_problem(pid, samples, kinds[pid], grader) for pid, samples in rows.items()]
    return out, {pid: len(s) for pid, s in rows.items()}


def _problem(pid: str, samples: list[tuple[int, bool, bool, str | None]], kind: str, grader: str) -> ProblemSamples:
    samples.sort(key=lambda s: s[0])
    answers = [s[3] for s in samples]
    if kind == "code":  # programs are not compared: one class per program (mixed) or one for all (no vote)
        classes = [None if a is None else (i if grader == "mixed" else 0) for i, a in enumerate(answers)]
    else:
        classes = equivalence_classes(answers, math_same if kind == "math" else _exact)
    return ProblemSamples(pid, tuple(s[1] for s in samples), tuple(classes), sum(s[2] for s in samples))
