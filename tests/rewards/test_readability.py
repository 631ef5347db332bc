"""Readability filters: each one's positive and negative case, and the first-reason-wins combination."""

from __future__ import annotations

import dataclasses
import doctest
import random

import pytest

from factory.rewards import readability
from factory.rewards.readability import (
    ReadabilityConfig,
    code_block_in_cot,
    long_paragraph,
    missing_markdown,
    missing_summary,
    mixed_language,
    readability_reasons,
    repetition,
    too_long,
)

GOOD = ("<think>\nLet me add the numbers: 2 + 2 = 4.\n\nWait, let me double-check: yes, 4.\n</think>\n\n"
        "The answer is **4**.")


def _natural(n_sentences: int, seed: int = 0) -> str:
    """Varied, non-repeating prose (compresses like real text)."""
    rng = random.Random(seed)
    words = ("sum term prime factor check value case root side angle area count odd even next first "
             "last total bound limit digit square cube series ratio").split()
    return " ".join(f"The {rng.choice(words)} of {rng.randint(10, 99999)} with {rng.choice(words)} "
                    f"{rng.randint(10, 9999)} gives {rng.randint(10, 99999)}." for _ in range(n_sentences))


def test_long_paragraph():
    wall = "<think>" + "word " * 500 + "</think> ok"
    paragraphs = "<think>" + "\n\n".join(["word " * 100] * 10) + "</think> ok"
    assert long_paragraph([wall, paragraphs, GOOD]) == ["long_paragraph", None, None]
    assert long_paragraph([wall], max_chars=5000) == [None]
    code = "<think>a</think>\n```python\n" + "x = 1\n" * 600 + "```\nDone."
    assert long_paragraph([code]) == [None]  # code blocks are not prose paragraphs


def test_code_block_in_cot():
    in_cot = "<think>\nTry:\n```python\nprint(2 + 2)\n```\nIt prints 4.\n</think>\nThe answer is 4."
    tilde = "<think>\n~~~\nls\n~~~\n</think>\nDone."
    in_summary = "<think>I will write a loop.</think>\n```python\nfor i in range(3): print(i)\n```"
    inline = "<think>Use `print(4)` here.</think> 4"
    assert code_block_in_cot([in_cot, tilde, in_summary, inline, GOOD]) == [
        "code_block_in_cot", "code_block_in_cot", None, None, None]


def test_repetition():
    natural = "<think>" + _natural(80) + "</think> The answer is 4."
    looping_line = "<think>" + "Let me recompute the sum of the series again.\n" * 12 + "</think> 4"
    looping_tail = "<think>" + _natural(30) + " So the answer is 12, wait." * 200 + "</think>"
    assert repetition([natural, looping_line, looping_tail, GOOD]) == [None, "repetition", "repetition", None]
    assert repetition([looping_line], line_repeats=None, min_compression_ratio=None) == [None]
    assert repetition([looping_line], line_repeats=13, min_compression_ratio=None) == [None]


def test_too_long():
    assert too_long(["abc", "abcdef"], max_chars=4) == [None, "too_long"]
    assert too_long(["a", "b"], token_counts=[10, 300], max_tokens=256) == [None, "too_long"]
    with pytest.raises(ValueError, match="max_chars or max_tokens"):
        too_long(["a"])
    with pytest.raises(ValueError, match="token_counts"):
        too_long(["a"], max_tokens=5)


def test_missing_summary():
    assert missing_summary([GOOD, "<think>only reasoning</think>\n  ", "<think>truncated at the limit",
                            "|special_token|r|special_token|summary"]) == [
        None, "missing_summary", "missing_summary", None]


def test_missing_markdown():
    plain = "<think>a</think> The answer is 4."
    boxed = "<think>a</think> The answer is $\\boxed{4}$."
    listed = "<think>a</think>\n- first\n- second"
    assert missing_markdown([GOOD, plain, boxed, listed]) == [None, "missing_markdown", None, None]


def test_mixed_language():
    mixed = "<think>我们先计算这个和。Then we add the remaining terms together carefully.</think> 4"
    assert mixed_language([mixed, GOOD], "en") == ["mixed_language", None]
    assert mixed_language([mixed], "zh", threshold=0.0) == [None]


def test_readability_reasons_first_reason_wins_and_order():
    texts = [
        GOOD,
        "<think>" + _natural(120) + "</think>",                  # too long and no summary
        "<think>reasoning</think>",                             # no summary
        "<think>我们先计算这个和。Then we add all the terms carefully.</think> 4",
        "<think>\n```py\nprint(1)\n```\n" + _natural(45) + "</think> ok",  # code and long paragraph
        "<think>" + _natural(45) + "</think> ok",
        "<think>" + "So the answer is 12, wait. " * 100 + "</think> ok",  # loops, and long
        [{"role": "assistant", "content": GOOD}],
    ]
    assert 2000 < len(texts[5]) < 4000
    config = ReadabilityConfig(max_chars=4000)
    assert readability_reasons(texts, config, languages="en") == [
        None, "too_long", "missing_summary", "mixed_language", "code_block_in_cot", "long_paragraph",
        "repetition", None]
    lenient = ReadabilityConfig(require_summary=False, require_format=False, drop_code_in_cot=False, max_paragraph_chars=None,
                                min_language_consistency=None)
    assert readability_reasons(texts, lenient) == [None] * 6 + ["repetition", None]


def test_readability_reasons_per_row_columns():
    texts = [GOOD, "<think>我们先加起来，得到四。</think> 答案是 **4**。", GOOD]
    config = ReadabilityConfig(max_tokens=100)
    reasons = readability_reasons(texts, config, languages=["en", "zh", "zh"], token_counts=[20, 30, 500])
    assert reasons == [None, None, "too_long"]
    assert readability_reasons(texts, config, languages=["en", "en", "en"],
                               token_counts=[20, 30, 50]) == [None, "mixed_language", None]


def test_config_validation():
    with pytest.raises(ValueError, match="max_paragraph_chars=0"):
        ReadabilityConfig(max_paragraph_chars=0)
    with pytest.raises(ValueError, match="min_compression_ratio=2"):
        ReadabilityConfig(min_compression_ratio=2)
    with pytest.raises(ValueError, match="languages="):
        readability_reasons([GOOD], ReadabilityConfig())
    with pytest.raises(ValueError, match="token_counts="):
        readability_reasons([GOOD], ReadabilityConfig(max_tokens=10), languages="en")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ReadabilityConfig().max_chars = 5  # frozen
    assert all("help" in f.metadata for f in readability.ReadabilityConfig.__dataclass_fields__.values())


def test_doctests():
    assert doctest.testmod(readability).failed == 0
