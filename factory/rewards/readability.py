"""Readability filters (R1 §2.3.1, §2.3.3): which CoT to drop and why, one reason per rejected row.

R1 drops chain-of-thought with mixed languages, long paragraphs and code blocks from its
SFT data, and its cold-start data keeps only readable outputs that end with a summary.
Each filter takes a batch and returns, per row, a reason string or None (keep), so the
builders can count reasons and keep rejects. ``readability_reasons`` applies them in a
fixed order where the first reason wins and later checks run only on rows still kept.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from isal import isal_zlib

from factory.rewards.base import broadcast, completion_texts, has_summary, split_think, use_kernel
from factory.rewards.format_reward import format_ok
from factory.rewards.language import is_language_consistent, language_consistency

READABILITY_VERSION = "1.2.0"
"""Enters the id of every scored snapshot (readability_issue); 1.1.0: bad_format (R1's readable format
required); 1.2.0: the tail ratio is ISA-L deflate level 1 (4x faster than zlib level 6, ratios 0.00-0.02 higher)."""

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_FENCED = re.compile(r"^[ \t]*(?:```|~~~).*?(?:^[ \t]*(?:```|~~~)[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
_MARKDOWN = re.compile(
    r"^\s{0,3}#{1,6}\s|\*\*[^*\n]+\*\*|__[^_\n]+__|^\s*(?:[-*+]|\d+[.)])\s+\S|^\s*\|.*\|\s*$"
    r"|^[ \t]*```|\\boxed\{|\$\$|\\\[",
    re.MULTILINE,
)
_MIN_LINE_CHARS = 20  # keep in step with the line_repeats help; shorter lines ("Wait.", "So:") repeat in healthy CoT
_MIN_COMPRESS_CHARS = 1024  # below this, deflate's overhead hides any repetition
_DEFLATE_LEVEL = 1  # ISA-L level 1: ~15 µs per 4 KB tail, where zlib level 6 took ~65 µs (the readability check's largest cost)


@dataclass(frozen=True)
class ReadabilityConfig:
    """Thresholds of the readability filters; None disables a check."""

    # ---- length
    max_chars: int | None = field(default=None, metadata={"help": "drop completions over this many characters"})
    max_tokens: int | None = field(default=None, metadata={"help": "drop completions over this many tokens"})
    # ---- structure
    require_summary: bool = field(default=True, metadata={"help": "drop when no summary follows the reasoning"})
    require_format: bool = field(default=True, metadata={
        "help": "drop unless R1's readable format: one think block (or two |special_token|), then a summary"})
    drop_code_in_cot: bool = field(default=True, metadata={"help": "drop fenced code in the reasoning (R1 §2.3.3)"})
    max_paragraph_chars: int | None = field(default=2000, metadata={"help": "drop paragraphs longer than this"})
    require_markdown: bool = field(default=False, metadata={"help": "drop summaries without markdown (cold start)"})
    # ---- degeneration
    line_repeats: int | None = field(default=10, metadata={"help": "drop when a 20+ char line occurs this often"})
    min_compression_ratio: float | None = field(default=0.1, metadata={"help": "drop when the tail deflate ratio is lower"})
    # ---- language
    min_language_consistency: float | None = field(
        default=0.95, metadata={"help": "drop CoT with a lower target-language word share (R1 §2.3.2)"})

    def __post_init__(self) -> None:
        for name in ("max_chars", "max_tokens", "max_paragraph_chars", "line_repeats"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r} must be a positive integer or None (disabled)")
        for name in ("min_compression_ratio", "min_language_consistency"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value!r} must be in [0, 1] or None (disabled)")


def long_paragraph(texts: Sequence[Any], max_chars: int = 2000) -> list[str | None]:
    """"long_paragraph" where a paragraph (blank-line separated, code blocks aside) exceeds ``max_chars``.

    2000 characters is ~350 English words, three long textbook paragraphs: R1-style traces
    break lines every few sentences, so only R1-Zero's wall-of-text style trips it.

    >>> long_paragraph(["short.\\n\\nshort too.", "x" * 2001])
    [None, 'long_paragraph']
    """
    texts = completion_texts(texts)
    return _long_paragraph(texts, _line_stats(texts)[1], max_chars)


def _long_paragraph(texts: list[str], longest_known: list[int], max_chars: int) -> list[str | None]:
    out: list[str | None] = []
    for text, longest in zip(texts, longest_known):
        if longest < 0:
            prose = _FENCED.sub("\n\n", text) if "``" in text or "~~" in text else text
            longest = max(map(len, _BLANK_LINE.split(prose)), default=0)
        out.append("long_paragraph" if longest > max_chars else None)
    return out


def _line_stats(texts: list[str]) -> tuple[list[int], list[int]]:
    """(max line repeats, longest paragraph) per text from the compiled kernel for a large batch;
    -1 where the caller computes it in Python (every row of a small batch)."""
    if not use_kernel(len(texts)):
        return [-1] * len(texts), [-1] * len(texts)
    from factory.rewards.text_kernel import line_stats

    stats = line_stats(texts, _MIN_LINE_CHARS)
    return stats[:, 0].tolist(), stats[:, 1].tolist()


def code_block_in_cot(texts: Sequence[Any]) -> list[str | None]:
    """"code_block_in_cot" where the reasoning part holds a fenced code block (R1 §2.3.3).

    Code in the summary is fine: that is where a coding answer belongs.

    >>> code_block_in_cot(["<think>\\n```python\\nprint(1)\\n```\\n</think> ok", "<think>a</think>```py\\n1\\n```"])
    ['code_block_in_cot', None]
    """
    # the fence regex needs a literal ``` or ~~~: texts without one (almost all) skip it and the split
    return ["code_block_in_cot" if ("```" in t or "~~~" in t) and _FENCE.search(split_think(t)[0]) else None
            for t in completion_texts(texts)]


def _max_line_repeats(text: str) -> int:
    lines = [line.strip() for line in text.splitlines()]
    counts = Counter(line for line in lines if len(line) >= _MIN_LINE_CHARS)
    return max(counts.values(), default=0)


def _tail_compression_ratio(text: str, window: int) -> float:
    return deflate_ratio(text[-window:].encode("utf-8"))


def deflate_ratio(data: Any) -> float:
    """Compressed / raw size of UTF-8 bytes (any buffer); 1.0 below ``_MIN_COMPRESS_CHARS`` bytes."""
    if len(data) < _MIN_COMPRESS_CHARS:
        return 1.0
    return len(isal_zlib.compress(data, _DEFLATE_LEVEL)) / len(data)


def repetition(texts: Sequence[Any], *, line_repeats: int | None = 10, min_compression_ratio: float | None = 0.1,
               window: int = 4096) -> list[str | None]:
    """"repetition" for degenerate, looping outputs.

    Two cheap signals: one line (>= 20 chars) occurring ``line_repeats`` times, or the last
    ``window`` characters compressing (deflate, ISA-L level 1) below ``min_compression_ratio``.
    Loops usually start late and run to the token limit, hence the tail. Measured ratios: the
    4 KB tails of 62 package READMEs 0.21-0.53 (median 0.43; zlib level 6: 0.20-0.52), a
    templated case analysis 0.16 (zlib level 6), a 48-char line looping 0.02 (both).

    >>> repetition(["Let me think about the sum of the series again.\\n" * 12, "A normal answer."])
    ['repetition', None]
    """
    texts = completion_texts(texts)
    repeats = _line_stats(texts)[0] if line_repeats is not None else [0] * len(texts)
    return _repetition(texts, repeats, line_repeats, min_compression_ratio, window)


def _repetition(texts: list[str], repeats: list[int], line_repeats: int | None, min_compression_ratio: float | None,
                window: int = 4096) -> list[str | None]:
    out: list[str | None] = []
    for text, n in zip(texts, repeats):
        looping = (line_repeats is not None and (n if n >= 0 else _max_line_repeats(text)) >= line_repeats) or (
            min_compression_ratio is not None and _tail_compression_ratio(text, window) < min_compression_ratio)
        out.append("repetition" if looping else None)
    return out


def too_long(texts: Sequence[Any], max_chars: int | None = None, token_counts: Sequence[int] | None = None,
             max_tokens: int | None = None) -> list[str | None]:
    """"too_long" over ``max_chars`` characters or ``max_tokens`` tokens (``token_counts`` per row).

    >>> too_long(["abc", "abcdef"], max_chars=4)
    [None, 'too_long']
    """
    texts = completion_texts(texts)
    if max_chars is None and max_tokens is None:
        raise ValueError("too_long needs max_chars or max_tokens (with token_counts)")
    if max_tokens is not None and (token_counts is None or len(token_counts) != len(texts)):
        raise ValueError("max_tokens needs token_counts with one count per text; pass token_counts=…")
    counts = token_counts if max_tokens is not None else [0] * len(texts)
    return ["too_long" if (max_chars is not None and len(t) > max_chars)
            or (max_tokens is not None and n > max_tokens) else None
            for t, n in zip(texts, counts)]


def missing_summary(texts: Sequence[Any]) -> list[str | None]:
    """"missing_summary" where nothing follows the reasoning (R1's readable format needs a summary).

    >>> missing_summary(["<think>a</think> The answer is 4.", "<think>a</think>  ", "no reasoning markers"])
    [None, 'missing_summary', 'missing_summary']
    """
    return [None if has_summary(t) else "missing_summary" for t in completion_texts(texts)]


def bad_format(texts: Sequence[Any]) -> list[str | None]:
    """"bad_format" unless the completion is R1's readable format: one reasoning block, then a summary.

    A duplicated or nested ``<think>`` block, a stray ``</think>`` or a third ``|special_token|``
    is not the readable format (``split_think`` alone would still find a summary after the last one).

    >>> bad_format(["<think>a</think> It is **4**.", "<think>a</think><think>b</think> It is **4**."])
    [None, 'bad_format']
    """
    return [None if ok else "bad_format" for ok in format_ok(texts, "readable")]


def missing_markdown(texts: Sequence[Any]) -> list[str | None]:
    """"missing_markdown" where the summary has no markdown (bold, list, header, table, boxed).

    >>> missing_markdown(["<think>a</think> The answer is **4**.", "<think>a</think> The answer is 4."])
    [None, 'missing_markdown']
    """
    return [None if _MARKDOWN.search(split_think(t)[1]) else "missing_markdown" for t in completion_texts(texts)]


def mixed_language(texts: Sequence[Any], languages: Sequence[str | None] | str | None,
                   threshold: float = 0.95) -> list[str | None]:
    """"mixed_language" where the CoT's target-language word share is below ``threshold``.

    >>> mixed_language(["<think>我们先来计算 the sum</think>", "<think>The sum is 4.</think>"], ["zh", "en"])
    ['mixed_language', None]
    """
    keep = is_language_consistent(language_consistency(texts, languages), threshold)
    return [None if k else "mixed_language" for k in keep]


Check = Callable[[list[str], list[int]], list[str | None]]


def _take(values: Sequence[Any] | None, rows: list[int]) -> list[Any] | None:
    return None if values is None else [values[i] for i in rows]


def _checks(config: ReadabilityConfig, languages: list[Any], token_counts: Sequence[int] | None,
            texts: list[str]) -> list[Check]:
    """``(texts, row indices) -> reasons`` in first-reason-wins order: cheap, decisive checks first.

    The line checks (repeats, paragraphs) share one kernel pass over the whole batch, made lazily."""
    c = config
    stats: list[tuple[list[int], list[int]]] = []

    def line_stat(column: int, rows: list[int]) -> list[int]:
        if not stats:
            stats.append(_line_stats(texts))
        return [stats[0][column][i] for i in rows]

    checks: list[Check] = []
    if c.max_chars is not None or c.max_tokens is not None:
        checks.append(lambda t, rows: too_long(t, c.max_chars, _take(token_counts, rows), c.max_tokens))
    if c.require_summary:
        checks.append(lambda t, rows: missing_summary(t))
    if c.require_format:
        checks.append(lambda t, rows: bad_format(t))
    if c.line_repeats is not None or c.min_compression_ratio is not None:
        checks.append(lambda t, rows: _repetition(t, line_stat(0, rows) if c.line_repeats is not None else
                                                  [0] * len(rows), c.line_repeats, c.min_compression_ratio))
    if c.min_language_consistency is not None:
        checks.append(lambda t, rows: mixed_language(t, _take(languages, rows), c.min_language_consistency))
    if c.drop_code_in_cot:
        checks.append(lambda t, rows: code_block_in_cot(t))
    if c.max_paragraph_chars is not None:
        checks.append(lambda t, rows: _long_paragraph(t, line_stat(1, rows), c.max_paragraph_chars))
    if c.require_markdown:
        checks.append(lambda t, rows: missing_markdown(t))
    return checks


def readability_reasons(texts: Sequence[Any], config: ReadabilityConfig | None = None, *,
                        languages: Sequence[str | None] | str | None = None,
                        token_counts: Sequence[int] | None = None) -> list[str | None]:
    """Why each completion is unreadable (first reason wins), or None to keep it.

    Order: too_long, missing_summary, bad_format, repetition, mixed_language, code_block_in_cot,
    long_paragraph, missing_markdown. Each check runs only on rows no earlier check dropped.

    Args:
        texts: completions (strings or TRL conversational messages).
        config: thresholds; ``ReadabilityConfig()`` (R1's SFT filters) when None.
        languages: target language per row or one for all; required while
            ``config.min_language_consistency`` is set.
        token_counts: tokens per row; required while ``config.max_tokens`` is set.

    Returns:
        One reason string or None per row.

    >>> readability_reasons(["<think>Add 2 and 2.</think> It is **4**.", "<think>Add.</think>"], languages="en")
    [None, 'missing_summary']
    """
    config = config or ReadabilityConfig()
    texts = completion_texts(texts)
    n = len(texts)
    if config.min_language_consistency is not None and languages is None:
        raise ValueError("min_language_consistency needs languages=… (one or per row); "
                         "or set ReadabilityConfig(min_language_consistency=None)")
    if config.max_tokens is not None and (token_counts is None or len(token_counts) != n):
        raise ValueError("max_tokens needs token_counts=… with one count per text")
    reasons: list[str | None] = [None] * n
    for check in _checks(config, broadcast(languages, n, "languages"), token_counts, texts):
        rows = [i for i, r in enumerate(reasons) if r is None]
        if not rows:
            break
        for i, reason in zip(rows, check([texts[i] for i in rows], rows)):
            reasons[i] = reason
    return reasons
