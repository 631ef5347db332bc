r"""Code accuracy: run the completion's program against the row's tests in the sandbox.

R1 §2.2.2: "for LeetCode problems, a compiler can be used to generate feedback based on
predefined test cases". The program is the last fenced code block of the summary (after
``</think>``), falling back to the whole completion; it earns 1.0 only if every case passes.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Any, Callable, Sequence

from factory.rewards.base import Verdict, broadcast, completion_texts, split_think
from factory.sandbox.runner import SandboxConfig, TestReport, run_tests_batch

CODE_GRADER_VERSION = "1.1.0"  # 1.1: check-style tests; no sandbox -> unverifiable

log = logging.getLogger(__name__)

# an opening fence with an optional language tag, the body, and a closing fence
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```", re.DOTALL | re.MULTILINE)
_PYTHON_TAGS = {"", "python", "py", "python3", "py3"}


def extract_code(text: str) -> str | None:
    r"""The last fenced Python (or untagged) code block, preferring the post-``</think>`` summary.

    >>> extract_code("<think>```python\nx = 1\n```</think>\nSo:\n```python\nprint(2)\n```")
    'print(2)\n'
    >>> extract_code("no code here") is None
    True
    """
    _, summary = split_think(text)
    for part in (summary, text):
        blocks = [body for tag, body in _FENCE.findall(part) if tag.lower() in _PYTHON_TAGS]
        if blocks:
            return blocks[-1]
    return None


def grade_code_batch(completions: Sequence[Any], tests: Any, *, config: SandboxConfig | None = None,
                     workers: int | None = None) -> list[TestReport | None]:
    """Full sandbox reports for a batch (``None`` where a row has no tests).

    Args:
        completions: strings or TRL conversational completions.
        tests: one tests value per row (JSON string or dict), or one for all rows.
        config: sandbox limits and isolation.
        workers: concurrent sandboxes (default: number of CPUs).

    Returns:
        One ``TestReport`` or ``None`` per completion; a completion without a code block is
        ``WRONG`` without running anything.
    """
    texts = completion_texts(_as_list(completions))
    rows = broadcast(_as_list(tests), len(texts), "tests")
    reports: list[TestReport | None] = [None] * len(texts)
    todo = []
    for i, (text, row_tests) in enumerate(zip(texts, rows)):
        if row_tests is None:
            continue
        code = extract_code(text)
        if code is None:
            reports[i] = TestReport(Verdict.WRONG, 0, 0, "no_code", "no fenced code block")
        else:
            todo.append((i, code, row_tests))
    results = run_tests_batch([c for _, c, _ in todo], [t for _, _, t in todo],
                              workers=workers, config=config) if todo else []
    for (i, _, _), report in zip(todo, results):
        reports[i] = report
    _log_unverifiable(reports)
    return reports


def _as_list(column: Any) -> Any:
    """Arrow arrays and Polars series (batch scoring of stored rollouts) as Python lists."""
    for method in ("to_pylist", "to_list"):
        if hasattr(column, method):
            return getattr(column, method)()
    return column


def _log_unverifiable(reports: Sequence[TestReport | None]) -> None:
    bad = Counter(r.status for r in reports if r is not None and r.verdict is Verdict.UNVERIFIABLE)
    if bad:
        log.warning("code grader: %d unverifiable rows (%s); fix their tests",
                    sum(bad.values()), dict(bad))


def verify_code_batch(completions: Sequence[Any], tests: Any, *, config: SandboxConfig | None = None,
                      workers: int | None = None) -> list[Verdict | None]:
    """Verdicts for a batch: ``CORRECT`` iff all cases pass; ``UNVERIFIABLE`` for bad tests.

    Args:
        completions: strings or TRL conversational completions.
        tests: one tests value per row, or one for all rows; ``None`` rows give ``None``.
        config: sandbox limits and isolation.
        workers: concurrent sandboxes.

    Returns:
        One ``Verdict`` or ``None`` per completion.
    """
    reports = grade_code_batch(completions, tests, config=config, workers=workers)
    return [None if r is None else r.verdict for r in reports]


def get_code_accuracy_reward(config: SandboxConfig | None = None,
                             workers: int | None = None) -> Callable[..., list[float | None]]:
    r"""A TRL reward function running programs under ``config`` with ``workers`` sandboxes.

    Args:
        config: sandbox limits and isolation (default ``SandboxConfig()``).
        workers: concurrent sandboxes (default: number of CPUs).

    Returns:
        ``code_accuracy_reward(completions, *, tests=None, **kwargs) -> list[float | None]``.

    >>> reward = get_code_accuracy_reward(SandboxConfig(timeout_s=2, cpu_s=2), workers=2)
    >>> ok = "<think>sum them</think>\n```python\nprint(sum(map(int, input().split())))\n```"
    >>> tests = '{"style": "stdio", "cases": [{"input": "1 2\\n", "output": "3\\n"}]}'
    >>> reward([ok, "I cannot write code.", ok], tests=[tests, tests, None])
    [1.0, 0.0, None]
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers}: use at least 1 (or None for one per CPU)")

    def code_accuracy_reward(completions: Sequence[Any], *, tests: Any = None,
                             **kwargs: Any) -> list[float | None]:
        verdicts = verify_code_batch(completions, tests, config=config, workers=workers)
        return [None if v is None else float(v is Verdict.CORRECT) for v in verdicts]

    return code_accuracy_reward


def code_accuracy_reward(completions: Sequence[Any], *, tests: Any = None,
                         **kwargs: Any) -> list[float | None]:
    r"""1.0 when the completion's program passes every case of its row's ``tests``, else 0.0.

    ``None`` where a row has no tests (not a code problem). Malformed tests count as 0.0 and
    are logged as unverifiable (see ``verify_code_batch`` for the three-way verdict).

    >>> done = "<think>add</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    >>> tests = '{"style": "stdio", "cases": [{"input": "1 2\\n", "output": "3\\n"}]}'
    >>> code_accuracy_reward([done, [{"role": "assistant", "content": "no code"}]], tests=tests)
    [1.0, 0.0]
    """
    return get_code_accuracy_reward()(completions, tests=tests, **kwargs)
