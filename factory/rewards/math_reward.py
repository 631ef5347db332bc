"""Math accuracy reward: final answer vs gold, fast path first, math-verify in killable worker processes.

R1 §2.2.2: the accuracy reward checks "the final answer in a specified format (e.g., within a
box)" with rules. Rejection sampling (R1 §2.3.3) scores 8-16 samples per prompt, most of them
agreeing, so verdicts are computed once per distinct (extracted answer, gold) pair and cached.
A fast path decides most pairs in the parent process (normalized strings, exact ``Fraction``
arithmetic, tuples/intervals/choices/text, and float evaluation of simple expressions at sample
points); only the rest go to math-verify, in worker processes a stuck item can be killed in.

Deliberate differences from math-verify (and open-r1's ``accuracy_reward`` built on it):

- The gold is read as a bare answer (wrapped in ``\\boxed{}``), not searched with
  ``extraction_mode="first_match"``: open-r1 reads ``2\\pi`` as 2, ``3,2`` as 3.2,
  ``y=2x+3`` as 2 and cannot read ``(1,2)`` at all. A gold that is a full solution is reduced
  to its last ``\\boxed{}``.
- ``3,2`` is a list (unordered, like math-verify's set), never the decimal 3.2; ``1,000`` (groups
  of three digits, no space) is one thousand. Decimal commas are not accepted.
- ``(3,2)`` is an ordered tuple; brackets matter for intervals: ``[0,1)`` ≠ ``[0,1]`` ≠ ``(0,1)``.
- A gold that cannot be parsed (empty, oversized, no letter or digit, unbalanced braces, no
  SymPy reading) is UNVERIFIABLE, never correct (early open-r1 gave it reward 1); a missing or
  empty answer is WRONG.
- Exact values are compared exactly: ``1/2^{99}`` ≠ ``1/2^{98}``, ``10^{20}+1`` ≠ ``10^{20}``,
  ``355/113`` ≠ ``\\pi`` (math-verify rounds). The one tolerance: a decimal with at least
  ``decimal_digits`` (default 4) significant digits stands for the exact value it rounds or
  truncates (``0.3333`` = 1/3, ``0.33`` ≠ 1/3, gold ``2.2361`` = ``\\sqrt{5}``); it is part of
  ``grader_version()``.
- Mixed numbers (``2\\frac{1}{2}``, ``2 1/2``), repeating decimals (``0.\\overline{3}``, ``0.(3)``),
  e-notation and ``\\times 10^k``; inequalities in one variable equal their interval (``x>2`` =
  ``(2,\\infty)``), unions compare as sets of intervals, every spelling of the empty set is one;
  a number with a ``\\text{}`` unit is the number; ``(B) 12`` as gold accepts ``B`` or ``12``.
- A hedge is wrong: "3 or 4" in one box, or boxes that disagree, are correct only if every
  candidate is. A last box that is unterminated or retracted ("that's wrong") is no answer.
- A gold with an empty or missing argument (``\\frac{}{}``, ``\\frac{1}``), unbalanced brackets or
  a dangling operator is UNVERIFIABLE.
- Multiple choice: a gold letter ``B`` matches ``B``, ``(B)``, ``\\text{(B)}``, ``b``, ``B) 42``;
  any other answer is WRONG (math-verify would compare symbols).
- Text answers (a word of 3+ letters and no operator, e.g. ``\\text{Evelyn}``, ``yes``) compare
  case-, space- and punctuation-insensitively; math-verify would multiply the letters as symbols.
- A single-letter prefix before a constant is dropped on both sides: ``x = 3`` = ``3`` = ``y = 3``.
  Equations with unknowns on the right stay equations (``y = 2x+3``); two explicit equations in
  the same variable are equal iff their right sides are.
- Simple expressions (numbers, one-letter variables, ``\\frac``, ``\\sqrt``, ``\\pi``, ``e``,
  powers, common functions read as latex2sympy reads them) are compared by float value, at three
  fixed points when they have variables; values beyond 1e9 or too close to call go to SymPy.
- The answer is taken only after ``</think>``; a think block that never closes has no answer.
- Items that hit the time limit are WRONG (UNVERIFIABLE if the gold itself hung); a trailing
  period never makes an answer unparseable (math-verify fails on ``3.``).
"""

from __future__ import annotations

import atexit
import functools
import logging
import re
from typing import Any, Callable, Sequence

from factory.rewards.base import Verdict, broadcast, completion_texts
from factory.rewards.math_extract import extract_answer
from factory.rewards.math_fast import DECIMAL_DIGITS, fast_verdict
from factory.rewards.math_normalize import as_interval, gold_answer
from factory.rewards.math_pool import MathVerifyPool

MATH_GRADER_VERSION = "2.0.0"
"""Enters the id of every snapshot scored with this grader; bump it when a verdict can change."""

logger = logging.getLogger(__name__)

Pair = tuple[str | None, str]

_OR = re.compile(r"\\(?:text|mathrm|textrm|mbox)\s*\{\s*or\s*\}|(?<![A-Za-z\\])or(?![A-Za-z])|\\lor(?![a-zA-Z])")


def grader_version(decimal_digits: int = DECIMAL_DIGITS) -> str:
    """The version string recorded with scored data: the code version and its one tolerance."""
    return f"{MATH_GRADER_VERSION}+dec{decimal_digits}"


def split_or(answer: str | None, gold: str) -> list[str | None]:
    """The candidates of an answer: itself, or each side of a hedge ("3 or 4", several boxes).

    "or" between inequalities is a union (``x<1 \\text{ or } x>2``), and a gold that itself says
    "or" is compared as written.

    >>> split_or(r"3 \\text{ or } 4", "3")
    ['3', '4']
    >>> split_or("x<1 or x>2", r"(-\\infty,1)\\cup(2,\\infty)")
    ['x<1 \\\\cup x>2']
    """
    if answer is None or "or" not in answer or _OR.search(gold):
        return [answer]
    parts = [p.strip().strip(",;").strip() for p in _OR.split(answer)]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return [answer]
    if all(as_interval(p.strip("$")) for p in parts):
        return [" \\cup ".join(parts)]
    return parts


def combine(verdicts: list[Verdict], as_list: Verdict | None = None) -> Verdict:
    """One verdict for a hedged answer: correct only if every candidate is, or if the candidates
    together are the gold (``x=3 or x=4`` for the roots ``3, 4``; one box per part of a question)."""
    if Verdict.UNVERIFIABLE in verdicts:
        return Verdict.UNVERIFIABLE
    if as_list is Verdict.CORRECT:
        return Verdict.CORRECT
    return Verdict.CORRECT if all(v is Verdict.CORRECT for v in verdicts) else Verdict.WRONG


class MathGrader:
    """Extraction, pair dedup, a bounded verdict cache and a lazily started worker pool.

    Args:
        workers: Worker processes for math-verify (default: CPU count, at most 8).
        cache_size: Most cached (answer, gold) verdicts; the oldest are dropped first.
        pool: A started pool to share (the grader then does not own or close it).
    """

    def __init__(
        self, workers: int | None = None, cache_size: int = 200_000, pool: MathVerifyPool | None = None,
        decimal_digits: int = DECIMAL_DIGITS,
    ) -> None:
        if cache_size < 0:
            raise ValueError(f"cache_size={cache_size} must be >= 0")
        if decimal_digits < 1:
            raise ValueError(f"decimal_digits={decimal_digits} must be >= 1 (significant digits)")
        self.workers = workers
        self.decimal_digits = decimal_digits
        self.cache_size = cache_size
        self._cache: dict[Pair, Verdict] = {}
        self._pool: MathVerifyPool | None = pool
        self._owns_pool = pool is None
        self.stats = {"rows": 0, "distinct": 0, "cached": 0, "undecided": 0}

    def grade(self, completions: Sequence[Any], golds: Any, timeout_s: float = 5.0) -> list[Verdict | None]:
        """One verdict per completion (``None`` where the gold is ``None``)."""
        if timeout_s <= 0:
            raise ValueError(f"timeout_s={timeout_s} must be > 0 (seconds per item)")
        texts = completion_texts(completions)
        answers = [extract_answer(text) for text in texts]
        return self.grade_answers(answers, broadcast(golds, len(texts), "answer"), timeout_s)

    def grade_answers(
        self, answers: Sequence[str | None], golds: Sequence[Any], timeout_s: float = 5.0
    ) -> list[Verdict | None]:
        """Verdicts for already extracted answers (``extract_answer``) against stored golds."""
        if timeout_s <= 0:
            raise ValueError(f"timeout_s={timeout_s} must be > 0 (seconds per item)")
        keys: list[tuple[Pair, ...] | None] = []
        memo: dict[tuple[str | None, Any], tuple[Pair, ...]] = {}
        for answer, gold in zip(answers, golds):
            if gold is None:
                keys.append(None)
                continue
            row = memo.get((answer, gold))
            if row is None:
                g = gold_answer(str(gold))
                cands = split_or(answer, g)
                joined = [", ".join(c for c in cands if c)] if len(cands) > 1 else []  # "3 or 4" for {3, 4}
                row = memo[(answer, gold)] = tuple((c, g) for c in cands + joined)
            keys.append(row)
        distinct = {k: None for row in memo.values() for k in row}
        self.stats["rows"] += len(keys)
        self.stats["distinct"] += len(distinct)
        verdicts = self._decide(distinct, timeout_s)
        by_row = {row: verdicts[row[0]] if len(row) == 1 else combine([verdicts[k] for k in row[:-1]], verdicts[row[-1]])
                  for row in memo.values()}
        return [None if row is None else by_row[row] for row in keys]

    def close(self) -> None:
        """Stop the worker processes this grader started (a later batch starts new ones)."""
        if self._pool is not None and self._owns_pool:
            self._pool.close()
            self._pool = None

    def _decide(self, distinct: dict[Pair, None], timeout_s: float) -> dict[Pair, Verdict]:
        out: dict[Pair, Verdict] = {}
        undecided: list[Pair] = []
        for key in distinct:
            verdict = self._cache.get(key)
            if verdict is not None:
                self.stats["cached"] += 1
                out[key] = verdict
                continue
            verdict = fast_verdict(*key, digits=self.decimal_digits)
            if verdict is None:
                undecided.append(key)
            else:
                out[key] = verdict
                self._remember(key, verdict)
        self.stats["undecided"] += len(undecided)
        if undecided:
            for key, result in zip(undecided, self._workers().judge(undecided, timeout_s)):
                out[key] = result.verdict
                if not result.timed_out:
                    self._remember(key, result.verdict)
        n_bad = sum(v is Verdict.UNVERIFIABLE for v in out.values())
        if n_bad:
            logger.warning("math grader: %d distinct gold/answer pairs have an unverifiable gold", n_bad)
        return out

    def _remember(self, key: Pair, verdict: Verdict) -> None:
        if self.cache_size == 0:
            return
        if len(self._cache) >= self.cache_size:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = verdict

    def _workers(self) -> MathVerifyPool:
        if self._pool is None:
            self._pool = MathVerifyPool(self.workers)
            atexit.register(self.close)
        return self._pool


@functools.lru_cache(maxsize=None)
def default_grader(workers: int | None = None, decimal_digits: int = DECIMAL_DIGITS) -> MathGrader:
    """The process-wide grader for a worker count and tolerance (its cache and pool are shared)."""
    return MathGrader(workers, decimal_digits=decimal_digits)


def verify_math_batch(
    completions: Sequence[Any],
    golds: Sequence[str | None],
    *,
    workers: int | None = None,
    timeout_s: float = 5.0,
    decimal_digits: int = DECIMAL_DIGITS,
) -> list[Verdict | None]:
    """Grade completions against gold answers: CORRECT, WRONG, UNVERIFIABLE, or None (no gold).

    Args:
        completions: Completion strings or TRL conversational message lists.
        golds: Gold answers as datasets store them (``2\\pi``, ``(1,2)``, ``B``), or full
            solutions ending in ``\\boxed{}``; ``None`` = not applicable.
        workers: math-verify worker processes (default: CPU count, at most 8).
        timeout_s: Time limit per undecided item, enforced by killing a stuck worker.
        decimal_digits: Significant digits a decimal needs to stand for the exact value it rounds.

    Returns:
        One verdict per completion.

    >>> completions = [r"\\boxed{0.5}", r"\\boxed{3.2}", "no answer", "x"]
    >>> verify_math_batch(completions, [r"\\frac12", "3,2", "7", None])
    [<Verdict.CORRECT: 'correct'>, <Verdict.WRONG: 'wrong'>, <Verdict.WRONG: 'wrong'>, None]
    """
    return default_grader(workers, decimal_digits).grade(completions, golds, timeout_s)


def math_accuracy_reward(
    completions: Sequence[Any], *, answer: Any = None, **kwargs: Any
) -> list[float | None]:
    """1.0 when the final answer equals the gold ``answer`` column, else 0.0; ``None`` without gold.

    Unverifiable golds score 0.0 (never 1.0) and are logged so the data can be fixed.

    Args:
        completions: Completion strings or TRL conversational message lists.
        answer: Gold answers, one per completion (or one for all); ``None`` = not applicable.

    Returns:
        One reward per completion.

    >>> completions = ["<think>...</think> $\\\\boxed{(1, 2)}$", r"\\boxed{[1,2]}", "42"]
    >>> math_accuracy_reward(completions, answer=["(1,2)", "(1,2)", None])
    [1.0, 0.0, None]
    """
    return get_math_accuracy_reward()(completions, answer=answer, **kwargs)


def get_math_accuracy_reward(
    workers: int | None = None, timeout_s: float = 5.0, decimal_digits: int = DECIMAL_DIGITS
) -> Callable[..., list[float | None]]:
    """A ``math_accuracy_reward`` with its own worker count and per-item time limit.

    Args:
        workers: math-verify worker processes (default: CPU count, at most 8).
        timeout_s: Time limit per undecided item in seconds.
        decimal_digits: Significant digits a decimal needs to stand for the exact value it rounds.

    Returns:
        A TRL reward function named ``math_accuracy_reward``.
    """
    if timeout_s <= 0:
        raise ValueError(f"timeout_s={timeout_s} must be > 0 (seconds per item)")
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers} must be >= 1 (or None for the CPU count)")

    def reward(completions: Sequence[Any], *, answer: Any = None, **kwargs: Any) -> list[float | None]:
        if answer is None:
            return [None] * len(completions)
        verdicts = default_grader(workers, decimal_digits).grade(completions, answer, timeout_s)
        return [None if v is None else float(v is Verdict.CORRECT) for v in verdicts]

    reward.__name__ = reward.__qualname__ = "math_accuracy_reward"
    reward.__doc__ = math_accuracy_reward.__doc__
    return reward
