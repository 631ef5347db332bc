"""Grading ``Utf8Rows`` in place (``text_grades``) must give exactly what the Python graders give
on the decoded strings, for every job and readability config the scoring path can send."""

import random

import pyarrow as pa
import pytest

from factory.rewards import text_kernel, text_pool
from factory.rewards.base import KERNEL_ENV, KERNEL_MIN_TEXTS
from factory.rewards.batch_text import TextColumn, Utf8Rows
from factory.rewards.readability import ReadabilityConfig
from factory.rewards.text_pool import TextJob
from tests.rewards.test_text_kernel import FORMAT_TOKENS, LANGS, RARE, _fuzz_text, _line_text


def _same(got: tuple, want: tuple) -> bool:
    """Equal grades (NaN language shares compare equal)."""
    nan = [[None if x != x else x for x in part] if part is not None else None for part in (got[1], want[1])]
    return got[0] == want[0] and got[2] == want[2] and nan[0] == nan[1]


LOOP = "Wait, let me recompute the sum of the first terms once more.\n"


def _completion(rng: random.Random, k: int) -> str:
    kind = rng.random()
    cot = _fuzz_text(rng) + "\n" + _line_text(rng, rng.randint(0, 30))
    if kind < 0.1:  # a looping tail: deflate and line repeats both fire
        cot += LOOP * rng.randint(5, 80)
    elif kind < 0.15:  # one long paragraph
        cot += " ".join(["word"] * rng.randint(300, 700))
    elif kind < 0.2:
        cot += "".join(rng.choice(FORMAT_TOKENS) for _ in range(rng.randint(1, 6)))
    elif kind < 0.23:
        cot += rng.choice(RARE + ["</THINK>", "```py\nx = 1\n```", "~~~\ny\n~~~"])
    summary = rng.choice(["The answer is $\\boxed{%d}$." % k, "<answer>%d</answer>" % k, "", "  ", "**%d**" % k,
                          "| a | b |", "- item %d" % k])
    opening = rng.choice(["<think>", "<think>", "<think>", "", "|special_token|"])
    closing = "|special_token|" if opening == "|special_token|" else rng.choice(["</think>"] * 8 + ["</Think>", ""])
    return f"{opening}{cot}{closing}{summary}"


def _corpus(n: int, seed: int) -> tuple[list[str], list, list]:
    rng = random.Random(seed)
    texts = [_completion(rng, k) for k in range(n)]
    langs = [rng.choice(LANGS) for _ in texts]
    templates = [rng.choice([None, "r1_zero@1.0.0", "readable@1.0.0"]) for _ in texts]
    return texts, langs, templates


CONFIGS = [
    ReadabilityConfig(min_language_consistency=None),  # what scoring sends
    ReadabilityConfig(min_language_consistency=None, max_chars=1500, require_markdown=True, line_repeats=3,
                      max_paragraph_chars=400, min_compression_ratio=0.3),
    ReadabilityConfig(min_language_consistency=None, line_repeats=None, require_summary=False, require_format=False,
                      drop_code_in_cot=False, max_paragraph_chars=None, min_compression_ratio=0.25),
]


@pytest.mark.parametrize("k", range(len(CONFIGS)))
def test_rows_in_place_equal_the_python_graders(k, monkeypatch):
    config = CONFIGS[k]
    texts, langs, templates = _corpus(3 * KERNEL_MIN_TEXTS, seed=k)
    job = TextJob(format_template="auto", language=True, readability=config)
    got = text_pool.grade(Utf8Rows.from_strings(texts), langs, templates, job)
    monkeypatch.setenv(KERNEL_ENV, "0")  # the reference: the pure-Python graders on str
    want = text_pool.grade(texts, langs, templates, job)
    assert _same(got, want)
    assert {"repetition", None} <= set(want[2]) and len(set(want[2])) >= (2 if k == 2 else 5), set(want[2])


def test_the_scoring_config_sees_every_reason_it_decides():
    texts, langs, templates = _corpus(4 * KERNEL_MIN_TEXTS, seed=3)
    facts = text_kernel.text_facts(Utf8Rows.from_strings(texts), lines=True)
    assert facts[:, text_kernel.SPECIAL].any() and facts[:, text_kernel.ODD_CHAR].any()
    assert facts[:, text_kernel.FENCE].any() and (facts[:, text_kernel.REPEATS] >= 10).any()
    reasons = text_pool.grade(Utf8Rows.from_strings(texts), langs, None,
                              TextJob(readability=CONFIGS[0]))[2]
    assert {"missing_summary", "bad_format", "repetition", "long_paragraph", None} <= set(reasons)


def test_tail_start_is_the_last_window_of_code_points():
    texts = ["é" * 5000, "a" * 10, "x" * 4095 + "😀", "ab" + "我" * 4096]
    rows = Utf8Rows.from_strings(texts)
    facts = text_kernel.text_facts(rows, lines=False)
    for i, (text, f) in enumerate(zip(texts, facts.tolist())):
        assert rows.data[f[text_kernel.TAIL_START]:rows.ends[i]].tobytes() == text[-4096:].encode()
        assert f[text_kernel.CHARS] == len(text)


def test_column_rows_take_and_chunk_keep_each_rows_text():
    texts = ["<think>a</think> b", None, "é😀", "", "xyz"] * 3
    for kind in (pa.string(), pa.large_string()):
        col = TextColumn(pa.array(texts, kind).slice(2))
        rows = col.rows([0, 2, 3, 7])
        assert rows.texts() == [col.text(i) for i in (0, 2, 3, 7)]
        part = rows.chunk(1, 4)
        assert part.texts() == rows.texts()[1:4] and len(part.data) <= len(rows.data)
        assert rows.take([3, 0]).texts() == [rows.text(3), rows.text(0)]
    assert Utf8Rows.from_strings([]).chunk(0, 0).texts() == []


def test_workers_grade_rows_sent_as_bytes():
    n = text_pool.INLINE_BELOW + 300
    texts, langs, templates = _corpus(n, seed=9)
    job = TextJob(format_template="readable", language=True, readability=CONFIGS[0])
    pool = text_pool.TextPool(1)
    try:
        got = pool.submit(Utf8Rows.from_strings(texts), langs, None, job).result()
        assert len(pool._pool) == 1  # one chunk really went to a worker process
    finally:
        pool.close()
    assert _same(got, text_pool.grade(texts, langs, None, job))


def test_answers_hashed_in_place_equal_the_per_row_regions():
    """Accuracy's answers: one extraction per distinct summary hash, the same as per row."""
    from factory.rewards.scoring import _extract, _Rows

    rng = random.Random(4)
    summaries = ["The answer is $\\boxed{%d}$.", "**Answer:** %d", "<answer>%d</answer>", "", "  \n", "\\boxed{%d",
                 "So it is \\boxed{%d} or \\boxed{7}.", "Answer: (B)", "答案：%d"]
    texts = []
    for k in range(3 * KERNEL_MIN_TEXTS):
        summary = rng.choice(summaries).replace("%d", str(k % 9))
        head = rng.choice(["<think>work\n", "", "|special_token|x|special_token|", "<think>a</think>b"])
        texts.append(rng.choice([f"{head}</think>{summary}", f"{head}{summary}", None, f"{head}</THINK>{summary}"]))
    rows = _Rows(pa.RecordBatch.from_pylist([{"completion": t} for t in texts]))
    got = rows._answers_in_place()
    assert got == _extract(rows.col.regions())
    assert len({a for a in got if a is not None}) >= 9  # answers of several kinds are extracted
