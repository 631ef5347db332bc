"""Format, language and readability of a batch read in place from UTF-8 buffers (``Utf8Rows``).

Why: batch scoring's text graders were ~60 µs per R1 rollout, a quarter of it building ``str``
objects from the Arrow column and encoding them back into bytes for each compiled kernel. Here
one ``text_kernel.text_facts`` pass per row gives every format and readability fact, the language
kernel counts on the same buffer, and only the rows a kernel hands back (``|special_token|``,
characters that case-fold into ASCII, fenced code, hash collisions, scripts it does not model)
are decoded and graded by the Python functions themselves. So the values are those of
``text_pool.grade`` on the decoded strings, row for row (``tests/rewards/test_text_grades.py``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from factory.rewards import readability as read
from factory.rewards import text_kernel as kernel
from factory.rewards.batch_text import Utf8Rows
from factory.rewards.format_reward import format_from_facts
from factory.rewards.language import kernel_consistency


def supports(config: read.ReadabilityConfig | None) -> bool:
    """Whether these facts decide ``config``'s checks (token counts and the language bound are per row)."""
    return config is None or (config.max_tokens is None and config.min_language_consistency is None)


def grade_rows(rows: Utf8Rows, languages: Sequence[str | None], templates: Sequence[str | None] | None,
               job: Any) -> tuple[list[bool] | None, list[float] | None, list[str | None] | None]:
    """``text_pool.grade`` of the decoded rows, from the kernels (``job`` is a ``TextJob``)."""
    facts = kernel.text_facts(rows, lines=job.readability is not None,
                              min_line_chars=read._MIN_LINE_CHARS) if job.format_template or job.readability else None
    prompts = templates if templates is not None else [None] * len(rows)
    fmt = format_from_facts(facts, rows.text, job.format_template, prompts) if job.format_template else None
    share = kernel_consistency(len(rows), rows.take, rows.text, languages).tolist() if job.language else None
    reasons = _readability(rows, facts, job.readability) if job.readability is not None else None
    return fmt, share, reasons


_UNDECIDED = "?"


def _readability(rows: Utf8Rows, facts: np.ndarray, config: read.ReadabilityConfig) -> list[str | None]:
    """``readability_reasons`` in its first-reason-wins order, from the facts; a row some check
    cannot decide from them is decoded and graded whole by ``readability_reasons``."""
    c = config
    cols = facts.tolist()
    data = rows.data
    out: list[str | None] = []
    for i, f in enumerate(cols):
        if f[kernel.SPECIAL] or f[kernel.ODD_CHAR]:
            out.append(_UNDECIDED)
            continue
        reason = None
        if c.max_chars is not None and f[kernel.CHARS] > c.max_chars:
            reason = "too_long"
        elif c.require_summary and not f[kernel.HAS_SUMMARY]:
            reason = "missing_summary"
        elif c.require_format and not f[kernel.READABLE_OK]:
            reason = "bad_format"
        elif c.line_repeats is not None and f[kernel.REPEATS] < 0:
            reason = _UNDECIDED
        elif (c.line_repeats is not None and f[kernel.REPEATS] >= c.line_repeats) or (
                c.min_compression_ratio is not None
                and read.deflate_ratio(data[f[kernel.TAIL_START]:rows.ends[i]]) < c.min_compression_ratio):
            reason = "repetition"
        elif c.drop_code_in_cot and f[kernel.FENCE]:
            reason = _UNDECIDED
        elif c.max_paragraph_chars is not None and (f[kernel.PARAGRAPH] < 0 or f[kernel.PARAGRAPH] > c.max_paragraph_chars):
            reason = _UNDECIDED if f[kernel.PARAGRAPH] < 0 else "long_paragraph"
        elif c.require_markdown:
            reason = _UNDECIDED
        out.append(reason)
    undecided = [i for i, r in enumerate(out) if r is _UNDECIDED]
    if undecided:
        for i, reason in zip(undecided, read.readability_reasons(rows.texts(undecided), c)):
            out[i] = reason
    return out
