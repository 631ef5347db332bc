"""`factory score`: snapshot or file in, snapshot or file out; every grader's columns; one registry."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from factory import api
from factory.cli.app import app
from factory.rewards import for_trl
from pipelines.scored import Config

TESTS = json.dumps({"style": "stdio", "cases": [{"input": "2 3\n", "output": "5\n"}]})
ROWS = [
    # math, correct, R1-Zero format, English CoT
    {"completion": "<think>2 and 2 make 4, let me check again: yes.</think> <answer>\\boxed{4}</answer>",
     "answer": "4", "tests": None, "language": "en"},
    # math, wrong, readable format
    {"completion": "<think>I think the sum is five here.</think>\nThe answer is $\\boxed{5}$.", "answer": "4",
     "tests": None, "language": "en"},
    # code, correct
    {"completion": "<think>read and add the two numbers</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```",
     "answer": None, "tests": TESTS, "language": "en"},
    # unverifiable gold: never correct
    {"completion": "<think>hmm</think> \\boxed{1}", "answer": "", "tests": None, "language": "en"},
    # mixed-language CoT, zh target
    {"completion": "<think>我们先计算 then we add all the numbers together carefully and check</think> \\boxed{4}",
     "answer": "4", "tests": None, "language": "zh"},
    # no gold at all: not applicable
    {"completion": "hello", "answer": None, "tests": None, "language": None},
]


@pytest.fixture
def rollouts_file(tmp_path):
    path = tmp_path / "rollouts.jsonl"
    path.write_text("".join(json.dumps({"problem_id": f"p{i}", "sample_idx": 0, **r}) + "\n" for i, r in enumerate(ROWS)))
    return path


def test_file_to_file_columns_and_verdicts(store, rollouts_file, tmp_path):
    out = tmp_path / "scored.parquet"
    n = api.score(store, str(rollouts_file), Config(weights={"accuracy": 2.0}), output=str(out))
    assert n == len(ROWS)
    t = pq.read_table(out).to_pylist()
    for col in ("problem_id", "completion", "answer", "correct", "verdict", "language_consistency",
                "language_consistent", "format_ok", "reward_accuracy", "reward_format", "reward_language", "reward"):
        assert col in t[0]
    assert [r["verdict"] for r in t] == ["correct", "wrong", "correct", "unverifiable", "correct", None]
    assert [r["correct"] for r in t] == [True, False, True, None, True, None]
    assert t[3]["reward_accuracy"] == 0.0  # unverifiable scores like wrong, is reported, never correct
    assert t[5]["reward_accuracy"] is None and t[5]["language_consistency"] is None
    assert t[0]["format_ok"] and t[1]["format_ok"]  # auto: R1-Zero tags for row 0, readable for row 1
    assert t[4]["language_consistent"] is False and t[4]["language_consistency"] < 0.5
    assert t[0]["reward"] == pytest.approx(2.0 * 1 + 1 + t[0]["reward_language"])


def test_snapshot_to_snapshot_and_cache(store, rollouts_file):
    res = api.score(store, str(rollouts_file), Config(), output="scored-demo")
    snap = res.snapshot
    assert snap.kind == "scored_rollouts" and snap.num_rows == len(ROWS)
    assert snap.manifest["graders"]["accuracy"].startswith("math-")
    assert "rollouts_import" in {store.get(p).manifest["builder"] for p in snap.parents.values()}
    assert api.score(store, str(rollouts_file), Config(), output="scored-demo").cached
    other = api.score(store, str(rollouts_file), Config(language_threshold=0.5), output="scored-demo")
    assert other.snapshot.id != snap.id  # grader settings enter the id


def test_cli_score_and_bad_input(store, rollouts_file, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["--store", str(store.root), "score", str(rollouts_file), "--rewards", "accuracy,format",
                              "--output", str(tmp_path / "o.jsonl"), "--quiet"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert "reward_language" not in rows[0] and rows[0]["reward"] == 2.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "no completion column"}) + "\n")
    res = runner.invoke(app, ["--store", str(store.root), "score", str(bad), "--output", str(tmp_path / "x.parquet")])
    assert res.exit_code == 1 and "completion" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["--store", str(store.root), "score", str(rollouts_file), "--rewards", "nope"])
    assert res.exit_code == 1 and "unknown reward 'nope'" in res.stderr


def test_same_functions_serve_trl():
    accuracy, fmt, language = for_trl("accuracy,format,language")
    completions = [[{"role": "assistant", "content": r["completion"]}] for r in ROWS]
    cols = {k: [r[k] for r in ROWS] for k in ("answer", "tests", "language")}
    acc = accuracy(completions, prompts=["q"] * len(ROWS), **cols)
    assert acc == [1.0, 0.0, 1.0, 0.0, 1.0, None]
    assert accuracy.__name__ == "accuracy_reward"
    assert fmt(completions)[0] == 1.0
    assert language(completions, **cols)[5] is None


def test_parquet_to_parquet_copies_the_input_columns_and_equals_re_encoding(store, rollouts_file, tmp_path):
    """The input's chunks are copied (they keep its snappy codec), the score columns added, and
    the table read back is the one the re-encoding path writes; scoring the output again
    replaces its score columns."""
    import pyarrow.json as pajson

    from factory.rewards.scoring import score_batches
    from factory.store.row_files import read_row_file, write_row_file

    table = pajson.read_json(rollouts_file)
    src = tmp_path / "rollouts.parquet"
    pq.write_table(pa.concat_tables([table] * 5), src, row_group_size=7, compression="snappy")
    cfg = Config(rewards=("accuracy", "format", "language"), batch_rows=4)
    out, plain = tmp_path / "scored.parquet", tmp_path / "plain.parquet"
    assert api.score(store, str(src), cfg, output=str(out)) == 30
    write_row_file(score_batches(read_row_file(src, cfg.batch_rows), cfg), plain)
    assert pq.read_table(out).equals(pq.read_table(plain))
    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == 5 and meta.row_group(0).column(0).compression == "SNAPPY"
    again, again_plain = tmp_path / "again.parquet", tmp_path / "again-plain.parquet"
    accuracy = Config(rewards=("accuracy",), batch_rows=4)
    api.score(store, str(out), accuracy, output=str(again))
    write_row_file(score_batches(read_row_file(out, 4), accuracy), again_plain)
    assert pq.read_table(again).equals(pq.read_table(again_plain))
    assert pq.ParquetFile(again).metadata.row_group(0).column(0).compression == "SNAPPY"
    before = pq.read_table(again)
    api.score(store, str(again), accuracy, output=str(again))  # in place: read while the temp is written
    assert pq.read_table(again).equals(before)


def test_score_columns_depend_only_on_the_input_columns():
    """The splice path reads only ``INPUT_COLUMNS``: scoring must not read any other column."""
    from factory.rewards.readability import ReadabilityConfig
    from factory.rewards.scoring import INPUT_COLUMNS, score_batch

    rows = [{**r, "template": t, "completion_tokens": k, "metadata": None, "problem_id": f"p{i}", "extra": i}
            for i, (r, t, k) in enumerate(zip(ROWS, ["r1_zero@1.0.0", "readable@1.0.0", None] * 2, [10, 5000] * 3))]
    batch = pa.RecordBatch.from_pylist(rows)
    cfg = Config(rewards=("accuracy", "format", "language", "readability", "tag_count"),
                 readability=ReadabilityConfig(min_language_consistency=None, max_tokens=100))
    full = score_batch(batch, cfg, carry=False)
    only = score_batch(batch.select([c for c in INPUT_COLUMNS if c in batch.schema.names]), cfg, carry=False)
    assert full.equals(only) and "extra" not in full.schema.names
    assert full.column("readability_issue").to_pylist()[1] is not None  # completion_tokens was read
