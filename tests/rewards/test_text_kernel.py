"""The compiled language kernel must give exactly ``consistency()``'s share wherever it does not
hand a row back to Python, and must hand back every row it does not model."""

import random
import re

import numpy as np
import pytest

from factory.rewards import text_kernel
from factory.rewards.base import KERNEL_ENV, KERNEL_MIN_TEXTS, split_think
from factory.rewards.language import _compiled_consistency, consistency, language_consistency
from factory.rewards.language_utils import _LATIN_RUN, _STRIP, normalize_language

# pieces chosen to hit every _STRIP branch, its edge cases and the character predicates
TOKENS = [
    "$", "$$", "$x$", "$ x$", "$x $", "$5", "$3$4", "$a$b", "\\[", "\\]", "\\(", "\\)", "\\begin{align}",
    "\\end{align}", "\\begin{x*}", "\\end{x*}", "\\begin{a b}", "\\begin{}", "\\frac", "\\\\", "\\{",
    "`", "``", "```", "~~~", "~~", "http://a.b/c", "https://", "https:// x", "www.x.y", "www.", "xhttp://q",
    "<think>", "</think>", "<answer>", "</answer>", "<THINK>", "</Think>", "</tHiNk>", "<think", " ", "  ",
    "\n", "\n\n", "\t", "\u3000", "\u00a0", "\u2028", "5", "12", "\u0663", "\uff15", "_", "*", "{", "}",
    "the", "The", "THE", "of", "and", "we", "is", "to", "it", "ABC", "AB", "sin", "Sin", "log", "cm", "x", "y",
    "le", "la", "de", "et", "der", "und", "für", "más", "número", "não", "être", "ça", "Élan", "élan",
    "ǅ", "ǆ", "Ǆ", "ƻ", "ß", "ẞ", "ÀÉ", "我们", "计算", "的", "。", "！", "カナ", "ひら", "한국어", "말",
    ".", ",", "?", "!", ";", ":",
    "résumé", "naïve", "Straße", "ÖL", "Ça",
]
RARE = ["İ", "\u212a", "ı", "ſ", "|special_token|", "😀", "слово", "π", "αβ"]  # the kernel hands these back
ENGLISH = ("we compute the sum of all the odd numbers and then check that it is right so the answer "
           "is what we want for this one ").split()
LANGS = ["en", "en", "en", "fr", "de", "es", "zh", "zh", "ko", "ja", "ru", "sv", "el", "English", "xx", None]


def _fuzz_text(rng: random.Random) -> str:
    n = rng.randint(0, 60)
    english = rng.choice([0.35, 0.9])  # notation-heavy, or CoT-like prose that passes the word gate
    pieces = []
    for _ in range(n):
        r = rng.random()
        if r < 0.002:
            pieces.append(rng.choice(RARE))
        elif r < english:
            pieces.append(rng.choice(ENGLISH))
        else:
            pieces.append(rng.choice(TOKENS))
        pieces.append(rng.choice([" ", " ", " ", "", "\n"]))
    return "".join(pieces)


def _kernel_rows(texts, langs):
    codes = [normalize_language(lang) or "en" for lang in langs]
    return text_kernel.count_batch(texts, codes)


def test_tables_match_pythons_own_predicates():
    t = text_kernel.tables()
    text_kernel._check_gate_sets()
    # re's \s, \d, \w are the predicates the tables were built from
    for c in list(range(0, 0x3000)) + list(range(0xFE00, 0x10000)):
        ch = chr(c)
        f = int(t.flags[c])
        assert bool(f & text_kernel.SPACE) == bool(re.fullmatch(r"\s", ch)), hex(c)
        assert bool(f & text_kernel.DIGIT) == bool(re.fullmatch(r"\d", ch)), hex(c)
        assert bool(f & text_kernel.WORD) == bool(re.fullmatch(r"\w", ch)), hex(c)
    for ch in "İ\u212aı":
        assert t.flags[ord(ch)] & text_kernel.ODD
    assert not t.flags[ord("é")] & text_kernel.ODD and t.lower[ord("É")] == ord("é")


def test_fuzz_equals_consistency_where_not_flagged():
    rng = random.Random(1234)
    texts = [_fuzz_text(rng) for _ in range(4000)]
    langs = [rng.choice(LANGS) for _ in texts]
    got = _compiled_consistency(texts, langs)
    want = [consistency(t, lang) for t, lang in zip(texts, langs)]
    for i, (g, w) in enumerate(zip(got.tolist(), want)):
        if w is None:
            assert np.isnan(g), (i, texts[i])
        else:
            assert g == np.float32(w), (i, langs[i], texts[i], g, w)
    # the kernel itself decided most rows: the fallback is not what makes the test pass
    # (rows a real model would send to language ID fall back too: a French target on English text)
    rows = _kernel_rows(texts, langs).tolist()
    decided = [normalize_language(lang) for r, lang in zip(rows, langs)
               if normalize_language(lang) and text_kernel.share_from_counts(r, normalize_language(lang)) is not None]
    assert len(decided) > 0.35 * len(texts)
    assert decided.count("en") > 200 and decided.count("zh") > 300  # the gate's and Han's branches


def test_strip_spans_match_the_regex_on_english_counts():
    """On ASCII English pieces (nothing flagged) the kernel's Latin counts equal the regex's."""
    rng = random.Random(7)
    ascii_tokens = [t for t in TOKENS if t.isascii() and t != "|special_token|"]
    for _ in range(3000):
        text = "".join(rng.choice(ascii_tokens + ENGLISH) + rng.choice([" ", "", "\n"]) for _ in range(30))
        row = _kernel_rows([text], ["en"])[0]
        assert row[text_kernel.STATUS] == 0, text
        runs = _LATIN_RUN.findall(_STRIP.sub(" ", split_think(text)[0]))
        assert row[text_kernel.RUNS] == len(runs), text


@pytest.mark.parametrize("text,lang", [
    ("<think>|special_token|我们</think>", "zh"),  # R1's readable markers: Python's split
    ("<think>The Kelvin sign \u212a and the İ</think>", "en"),  # case maps into ASCII
    ("<think>слово и слово</think>", "ru"),  # another script: _OTHER_WORD attribution
    ("<think>emoji 😀 here</think>", "en"),  # beyond the BMP
    ("<think>カナと漢字</think>", "ja"),
])
def test_rows_the_kernel_does_not_model_go_to_python(text, lang):
    assert text_kernel.share_from_counts(_kernel_rows([text], [lang])[0].tolist(), lang) is None


def test_batch_path_equals_per_row_path():
    """Through the public batch API (kernel above KERNEL_MIN_TEXTS) on realistic CoT."""
    body = ("We compute the sum of the odd numbers, so $1+3+5 = 9$ and then check it: "
            "\\begin{align} x &= 2 \\end{align} which is right. ")
    texts = []
    for k in range(KERNEL_MIN_TEXTS):
        cot = body * (2 + k % 7) + ("我们先来计算" * (k % 3))
        texts.append(f"<think>{cot}</think> The answer is $\\boxed{{{k}}}$.")
    langs = ["en", "zh", "fr", None] * (KERNEL_MIN_TEXTS // 4)
    got = language_consistency(texts, langs)
    want = np.array([np.nan if (s := consistency(t, lang)) is None else s for t, lang in zip(texts, langs)],
                    np.float32)
    np.testing.assert_array_equal(got, want)
    assert 0.0 < got[1] < 1.0 and got[0] == 1.0  # mixed and clean rows both present
    rows = _kernel_rows(texts, langs).tolist()
    assert all(text_kernel.share_from_counts(r, lang) is not None for r, lang in zip(rows, langs) if lang in ("en", "zh"))


LINE_TOKENS = ["Let me check the sum again here.", "Let me check the sum again here. ", "short", "\n", "\n\n",
               "\n \t\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", " ", "\t", "\u3000",
               "我们再检查一遍这个求和的结果是否正确", "😀 emoji line that is long enough", "x" * 25, "a\n\nb", "\n  \n", "é" * 21]
FENCES = ["``", "~~", "```\ncode\n```"]  # the kernel hands paragraph lengths back to Python


def _line_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(FENCES) if rng.random() < 0.01 else rng.choice(LINE_TOKENS) for _ in range(n))


def _paragraph_py(text: str) -> int:
    from factory.rewards.readability import _BLANK_LINE, _FENCED

    prose = _FENCED.sub("\n\n", text) if "``" in text or "~~" in text else text
    return max(map(len, _BLANK_LINE.split(prose)), default=0)


def test_line_stats_equal_the_python_checks():
    from factory.rewards.readability import _MIN_LINE_CHARS, _max_line_repeats

    rng = random.Random(99)
    texts = [_line_text(rng, rng.randint(0, 40)) for _ in range(3000)]
    texts += [_line_text(rng, 5) + "\n  Wait, let me recompute the sum.\r\n" * k for k in range(8, 16)]
    stats = text_kernel.line_stats(texts, _MIN_LINE_CHARS).tolist()
    fenced = 0
    for text, (repeats, longest) in zip(texts, stats):
        assert repeats == _max_line_repeats(text), repr(text)
        if longest < 0:
            fenced += 1
            assert "``" in text or "~~" in text
        else:
            assert longest == _paragraph_py(text), repr(text)
    assert 0 < fenced < len(texts) // 2
    assert [r for r, _ in stats[-8:]] == list(range(8, 16))  # the looping texts count every repeat


def test_readability_batch_equals_small_batches():
    """Above KERNEL_MIN_TEXTS the readability checks read the kernel's line statistics."""
    from factory.rewards.readability import ReadabilityConfig, readability_reasons

    rng = random.Random(5)
    texts = []
    for k in range(KERNEL_MIN_TEXTS * 2):
        body = _line_text(rng, rng.randint(0, 60))
        texts.append(f"<think>{body}</think> The answer is **{k}**." if k % 5 else body)
    config = ReadabilityConfig(min_language_consistency=None, max_paragraph_chars=300, line_repeats=4)
    big = readability_reasons(texts, config)
    small = [r for lo in range(0, len(texts), 100) for r in readability_reasons(texts[lo:lo + 100], config)]
    assert big == small
    assert {"repetition", "long_paragraph", None} <= set(big)


FORMAT_TOKENS = ["<think>", "</think>", "<answer>", "</answer>", "|special_token|", "<think", "</answer",
                 " ", "\n", "\u3000", "\u00a0", "\t", "x", "4", "é", "我", "😀", "<", "/", "abc "]


@pytest.mark.parametrize("prefilled", [False, True])
def test_format_kernel_equals_the_python_checks(prefilled):
    from factory.rewards import format_reward as fr

    rng = random.Random(11 + prefilled)
    def junk(k: int) -> str:
        return "".join(rng.choice(FORMAT_TOKENS[7:] if rng.random() < 0.9 else FORMAT_TOKENS) for _ in range(k))

    texts = ["".join(rng.choice(FORMAT_TOKENS) for _ in range(rng.randint(0, 10))) for _ in range(10000)]
    opening = "" if prefilled else "<think>"
    texts += [f"{junk(1)}{opening}{junk(3)}</think>{junk(2)}<answer>{junk(2)}</answer>{junk(1)}" for _ in range(10000)]
    texts += ["<think>x</think>\n<answer>4</answer>", " <think>a\u3000</think>\u00a0b", "a</think><answer>4</answer>"]
    prompts = [rng.choice([None, "r1_zero@1.0.0", "readable@1.0.0"]) for _ in texts]
    for template in ("readable", "r1_zero", "auto"):
        got = fr.format_ok(texts, template, prompts, think_prefilled=prefilled)
        want = [fr._format_one(t, p, template, prefilled) for t, p in zip(texts, prompts)]
        assert got == want, template
        assert 50 < sum(got) < len(texts) - 50  # both verdicts are exercised


def test_think_ends_in_arrow_buffers_equal_the_regex_path():
    import pyarrow as pa

    from factory.rewards.batch_text import TextColumn

    rng = random.Random(21)
    pieces = ["<think>", "</think>", "</THINK>", "|special_token|", "\\boxed{4}", " 5", "\n", "é", "😀", "x", "<", "/"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(3 * KERNEL_MIN_TEXTS)]
    texts[5] = None
    for kind in (pa.string(), pa.large_string()):
        col = TextColumn(pa.array(texts, kind).slice(3))
        got = list(col.regions())
        assert got == [col.region(i) for i in range(col.n)]
        assert sum(1 for _, closed in got if closed) > KERNEL_MIN_TEXTS // 2  # the kernel's branch is exercised


def test_scoring_with_and_without_the_kernel_is_identical(monkeypatch):
    """End to end: every column of score_batch is the same with R1_FACTORY_KERNEL=0."""
    import pyarrow as pa

    from factory.rewards.scoring import ScoreConfig, score_batch

    rng = random.Random(8)
    rows = []
    for k in range(2 * KERNEL_MIN_TEXTS):
        cot = _fuzz_text(rng) + "\n" + _line_text(rng, rng.randint(0, 20))
        summary = rng.choice(["The answer is $\\boxed{%d}$." % (k % 7), "<answer>%d</answer>" % (k % 5), "", "  "])
        rows.append({"completion": f"<think>{cot}</think>{summary}", "answer": str(k % 6),
                     "language": rng.choice(["en", "zh", "fr", None]),
                     "template": rng.choice(["r1_zero@1.0.0", "readable@1.0.0", None])})
    batch = pa.RecordBatch.from_pylist(rows)
    cfg = ScoreConfig(rewards=("accuracy", "format", "language", "readability"), text_workers=0)
    with_kernel = score_batch(batch, cfg)
    monkeypatch.setenv(KERNEL_ENV, "0")
    without = score_batch(batch, cfg)
    assert with_kernel.equals(without)
    assert len(set(with_kernel.column("readability_issue").to_pylist())) >= 3  # several reasons occur
