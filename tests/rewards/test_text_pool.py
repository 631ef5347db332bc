"""The text pool: graded in worker processes, the columns are the ones grading inline gives."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from factory.rewards import text_pool
from factory.rewards.readability import ReadabilityConfig
from factory.rewards.scoring import ScoreConfig, score_batch
from factory.rewards.text_pool import TextJob, TextPool

ZH = "我们先把已知条件整理一下。"


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cot = " ".join(rng.choice(["we add", "the sum of", "so it is", "wait", ZH, "Let $x=2$."]) for _ in range(12))
        tail = rng.choice([f" It is **{i}**. \\boxed{{{i}}}", "", f"<think>again</think> {i}"])
        out.append(f"<think>{cot} {i}</think>{tail}")
    return out


def _batch(texts: list[str]) -> pa.RecordBatch:
    n = len(texts)
    return pa.RecordBatch.from_pydict({"completion": texts, "answer": [str(i) for i in range(n)],
                                       "language": ["en" if i % 3 else "zh" for i in range(n)]})


def test_workers_give_the_columns_inline_grading_gives() -> None:
    texts = _texts(text_pool.INLINE_BELOW + 500)
    rewards = ("accuracy", "format", "language", "readability")
    pooled = score_batch(_batch(texts), ScoreConfig(rewards=rewards, text_workers=2)).to_pydict()
    inline = score_batch(_batch(texts), ScoreConfig(rewards=rewards, text_workers=0)).to_pydict()
    assert pooled == inline
    assert 0 < sum(pooled["format_ok"]) < len(texts) and len(set(pooled["readability_issue"])) > 1
    assert len(text_pool.text_pool(2)._pool) == 2  # the batch really went to two worker processes


def test_a_worker_killed_mid_batch_costs_time_not_rows() -> None:
    pool = TextPool(1)
    texts, langs = _texts(text_pool.INLINE_BELOW), ["en"] * text_pool.INLINE_BELOW
    job = TextJob(format_template="readable", language=True, readability=ReadabilityConfig(min_language_consistency=None))
    want = text_pool.grade(texts, langs, None, job)
    try:
        pending = pool.submit(texts, langs, None, job)
        (worker, _), = [item for item in pending.items if item[0] is not None]
        worker[0].kill()
        assert pending.result() == want
        assert pool.submit(texts, langs, None, job).result() == want  # a fresh worker took its place
        assert all(w is not worker for w in pool._pool)
    finally:
        pool.close()


def test_an_error_in_a_worker_is_raised_in_the_caller() -> None:
    pool = TextPool(1)
    try:
        pending = pool.submit(["x"] * text_pool.INLINE_BELOW, ["en"] * text_pool.INLINE_BELOW, None,
                              TextJob(format_template="no-such-template"))
        with pytest.raises(ValueError, match="no-such-template"):
            pending.result()
        assert pool._pool and pool._pool[0][0].poll() is None  # the worker survived its job's error
    finally:
        pool.close()


def test_after_an_error_the_next_batch_reads_its_own_replies() -> None:
    pool = TextPool(1)
    n = text_pool.INLINE_BELOW
    try:
        with pytest.raises(ValueError):
            pool.submit(["x"] * n, ["en"] * n, None, TextJob(format_template="bad")).result()
        texts = _texts(n)
        job = TextJob(format_template="readable")
        assert pool.submit(texts, ["en"] * n, None, job).result() == text_pool.grade(texts, ["en"] * n, None, job)
    finally:
        pool.close()


def test_warm_up_starts_the_text_workers_before_the_first_batch():
    from factory.rewards.scoring import ScoreConfig, warm_up

    cfg = ScoreConfig(rewards=("accuracy", "language"), text_workers=1)
    pool = text_pool.text_pool(1)
    pool.close()
    warm_up(cfg)
    assert pool._pool == []  # an input of unknown or small size starts no worker it may never use
    warm_up(cfg, start_workers=True)
    assert len(pool._pool) == 1 and pool._pool[0][0].poll() is None  # a live worker, already started
    warm_up(ScoreConfig(rewards=("accuracy",), text_workers=1))  # nothing to start: no error either
