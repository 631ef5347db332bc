"""score_batch computes only what was asked, once per distinct completion / pair, straight from Arrow."""

from __future__ import annotations

import pyarrow as pa
import pytest

from factory.rewards import text_pool
from factory.rewards.batch_text import TextColumn
from factory.rewards.math_extract import answer_in_region, extract_answer
from factory.rewards.scoring import ScoreConfig, score_batch

TEXTS = [
    "<think>maybe \\boxed{3}</think>\n\nSo the answer is $\\boxed{4}$.",
    "<think>never closed \\boxed{4}",
    "plain \\boxed{4}",
    "|special_token|think \\boxed{1}|special_token| so \\boxed{4}",
    "<THINK>upper</THINK> \\boxed{4}",
    "<think>x</think> 答案：4",
    None,
    "<think>é ü 我</think> \\boxed{5}",
]


def _batch(texts=TEXTS, answers=None) -> pa.RecordBatch:
    answers = answers or ["4"] * len(texts)
    return pa.RecordBatch.from_pydict({"completion": pa.array(texts, pa.string()), "answer": answers,
                                       "language": ["en"] * len(texts)})


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_text_column_matches_python_extraction(kind) -> None:
    col = TextColumn(pa.array(TEXTS, kind).slice(1))  # a sliced array: offsets must be honoured
    for i, text in enumerate(TEXTS[1:]):
        region = col.region(i)
        got = None if region[0] is None else answer_in_region(*region)
        assert got == extract_answer(text or ""), text


def test_only_requested_graders_run(monkeypatch) -> None:
    called = []
    for name in ("readability_reasons", "format_ok", "language_consistency"):
        monkeypatch.setattr(text_pool, name, lambda *a, _n=name, **k: called.append(_n))
    out = score_batch(_batch(), ScoreConfig(rewards=("accuracy",))).to_pydict()
    assert called == []
    assert set(out["format_ok"]) == {None} and set(out["readability_issue"]) == {None}
    assert set(out["language_consistency"]) == {None}
    assert out["verdict"] == ["correct", "wrong", "correct", "correct", "correct", "correct", "wrong", "wrong"]
    assert out["reward"] == out["reward_accuracy"]


def test_distinct_completions_are_graded_once(monkeypatch) -> None:
    seen = []
    real = text_pool.readability_reasons

    def spy(texts, *a, **k):
        seen.append(len(texts))
        return real(texts, *a, **k)

    monkeypatch.setattr(text_pool, "readability_reasons", spy)
    texts = ["<think>add them</think> It is **4**. \\boxed{4}"] * 6 + ["<think>x</think> \\boxed{5}"] * 2
    out = score_batch(_batch(texts), ScoreConfig(rewards=("accuracy", "format", "language", "readability")))
    assert seen == [2]
    cols = out.to_pydict()
    assert cols["readability_issue"][:6] == [None] * 6 and cols["reward_readability"][0] == 1.0
    assert cols["format_ok"] == [True] * 8
    assert len(set(cols["completion_hash"][:6])) == 1 and cols["completion_hash"][0] != cols["completion_hash"][7]


def test_hash_matches_the_python_bytes() -> None:
    import xxhash

    out = score_batch(_batch(), ScoreConfig(rewards=("accuracy",))).to_pydict()
    assert out["completion_hash"] == [xxhash.xxh3_64_intdigest((t or "").encode()) for t in TEXTS]

