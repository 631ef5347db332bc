"""Issue #12 item 5: the readable format is required by the reasoning filter, and `auto` knows R1-Zero outputs.

(a) a duplicated ``<think>`` block is not R1's readable format, so rejection sampling drops it;
(c) under ``--format-template auto`` an R1-Zero output (its prompt was the R1-Zero template)
    without ``<answer>`` is a format failure, not a readable completion.
"""

from __future__ import annotations

import pyarrow as pa
from typer.testing import CliRunner

from factory.cli.app import app
from factory.rewards.format_reward import format_ok
from factory.rewards.readability import ReadabilityConfig, readability_reasons
from factory.rewards.scoring import ScoreConfig, score_batch
from pipelines.reasoning import Config as ReasoningConfig

OK = "<think>\nAdd 2 and 2: that is 4.\n</think>\n\nThe answer is **4**."
DUPLICATED = "<think>\nAdd 2 and 2.\n</think>\n<think>\nAgain: 4.\n</think>\n\nThe answer is **4**."
NESTED = "<think>\nAdd <think>2 and 2</think>: 4.\n</think>\n\nThe answer is **4**."
R1_ZERO_NO_ANSWER = "<think>\n2 + 2 = 4\n</think>\nSo it is 4."
R1_ZERO_OK = "<think>\n2 + 2 = 4\n</think>\n<answer>4</answer>"


def _rollouts(texts, templates):
    return pa.RecordBatch.from_pydict({"problem_id": [f"p{i}" for i in range(len(texts))],
                                       "sample_idx": [0] * len(texts), "completion": texts,
                                       "answer": ["4"] * len(texts), "template": templates,
                                       "language": ["en"] * len(texts)})


def test_readability_rejects_a_duplicated_or_nested_think_block():
    cfg = ReadabilityConfig(min_language_consistency=None)
    assert readability_reasons([OK, DUPLICATED, NESTED], cfg) == [None, "bad_format", "bad_format"]


def test_the_reasoning_filter_drops_a_duplicated_think_block():
    cfg = ReasoningConfig().score  # the score stage rejection sampling runs
    out = score_batch(_rollouts([OK, DUPLICATED], ["chat@1.0.0"] * 2), cfg)
    assert out.column("readability_issue").to_pylist() == [None, "bad_format"]
    assert out.column("correct").to_pylist() == [True, True]  # right answer, unreadable format: still dropped


def test_auto_grades_r1_zero_outputs_by_the_r1_zero_template():
    texts = [R1_ZERO_NO_ANSWER, R1_ZERO_OK, OK]
    templates = ["r1_zero@1.0.0", "r1_zero@1.0.0", "chat@1.0.0"]
    assert format_ok(texts, "auto", templates) == [False, True, True]
    out = score_batch(_rollouts(texts, templates), ScoreConfig(rewards=("format",), readability=None))
    assert out.column("format_ok").to_pylist() == [False, True, True]
    assert out.column("reward_format").to_pylist() == [0.0, 1.0, 1.0]
    # without a template column, any answer tag still means R1-Zero's format
    assert format_ok(["<think>a</think> <answer>4", OK], "auto") == [False, True]


def test_cli_score_auto_on_r1_zero_rollouts(tmp_path, store):
    import pyarrow.parquet as pq

    path = tmp_path / "rollouts.parquet"
    pq.write_table(pa.Table.from_batches([_rollouts([R1_ZERO_NO_ANSWER, R1_ZERO_OK], ["r1_zero@1.0.0"] * 2)]), path)
    out = tmp_path / "scored.parquet"
    res = CliRunner().invoke(app, ["--store", str(store.root), "score", str(path), "--rewards", "format",
                                   "--format-template", "auto", "--output", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert pq.read_table(out).column("format_ok").to_pylist() == [False, True]
