"""Exports for TRL's and verl's own trainers, and their rollout logs back in as snapshots.

The TRL side runs TRL's CLI scripts (``trl grpo``, ``trl sft``) unchanged on the exports with a
tiny offline model; the verl side is checked against verl's documented RL Parquet schema.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from factory.cli.app import app
from tests.support.builder_contract import FIXTURES, build_with_parents
from tests.trainers.test_trainers_common import tiny_lm  # noqa: F401 - fixture

TRL = [sys.executable, "-c", "from trl.cli import main; main()"]
FAST = ["--max_steps", "2", "--per_device_train_batch_size", "2", "--use_cpu", "--report_to", "none",
        "--save_strategy", "no", "--logging_steps", "1", "--dataloader_num_workers", "0"]


def _cli(store, *args):
    return CliRunner().invoke(app, ["--store", str(store.root), *args])


def _trl(args, tmp_path):
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    res = subprocess.run([*TRL, *args], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.mark.slow
def test_trl_cli_runs_on_exports_and_its_log_comes_back(store, tiny_lm, tmp_path):  # noqa: F811
    build_with_parents(store, "r1-zero")
    res = _cli(store, "export", "r1-zero", "--to", str(tmp_path / "rl"), "--format", "trl")
    assert res.exit_code == 0 and "6 rows, 2 without a gold trl can check left out" in res.output, res.output
    out = tmp_path / "grpo"
    _trl(["grpo", "--model_name_or_path", tiny_lm, "--dataset_name", str(tmp_path / "rl"), "--reward_funcs",
          "accuracy_reward", "think_format_reward", "--output_dir", str(out), "--num_generations", "2",
          "--max_completion_length", "8", "--log_completions", "true", *FAST], tmp_path)
    assert sorted(p.name for p in (out / "completions").iterdir()) == ["completions_00001.parquet", "completions_00002.parquet"]

    res = _cli(store, "import", str(out / "completions"), "--format", "trl", "--prompts", "r1-zero")
    assert res.exit_code == 0 and "4 rows, 4 matched to prompts, 2 steps" in res.output, res.output
    snap = store.get("trl-rollouts")
    assert snap.kind == "rollouts" and snap.parents == {"prompts": store.get("r1-zero").ref}
    df = snap.scan().collect()
    assert set(df["problem_id"]) <= set(store.get("r1-zero").scan().collect()["problem_id"])
    assert {"reward_accuracy", "reward_think_format", "reward", "advantage", "step", "answer", "domain"} <= set(df.columns)
    assert df["reward"].to_list() == pytest.approx((df["reward_accuracy"] + df["reward_think_format"]).to_list())

    build_with_parents(store, "sft-mix")
    assert _cli(store, "export", "sft-mix", "--to", str(tmp_path / "sft"), "--format", "trl").exit_code == 0
    _trl(["sft", "--model_name_or_path", tiny_lm, "--dataset_name", str(tmp_path / "sft"),
          "--output_dir", str(tmp_path / "sft-out"), *FAST], tmp_path)
    assert (tmp_path / "sft-out" / "model.safetensors").exists()


def test_trl_accuracy_reward_reads_the_exported_solution(store, tmp_path):
    """Bare golds misparse in math-verify (``2\\pi`` -> 2, ``3,2`` -> 3.2); the boxed ``solution`` does not."""
    from trl.rewards import accuracy_reward

    from tests.trainers.test_trainers_common import write_snapshot

    rows = [{"problem_id": f"p{i}", "prompt": [{"role": "user", "content": f"q{i}"}], "answer": a}
            for i, a in enumerate(["2\\pi", "3,2", "\\frac{5}{6}", None])]
    write_snapshot(store, "rl", "rl_prompts", rows)
    assert _cli(store, "export", "rl", "--to", str(tmp_path / "x"), "--format", "trl").exit_code == 0
    solution = pq.read_table(tmp_path / "x" / "data" / "train-00000-of-00001.parquet").column("solution").to_pylist()
    good = [[{"role": "assistant", "content": f"so \\boxed{{{a}}}"}] for a in ("2\\pi", "2,3", "\\frac{10}{12}")]
    bad = [[{"role": "assistant", "content": f"so \\boxed{{{a}}}"}] for a in ("2", "3.2", "\\frac{5}{7}")]
    assert accuracy_reward(good, solution) == [1.0, 1.0, 1.0]
    assert accuracy_reward(bad, solution) == [0.0, 0.0, 0.0]
    report = json.loads((tmp_path / "x" / "factory_export.json").read_text())
    assert report["rows"] == {"train": 3} and report["left_out"] == {"train": 1}


def test_verl_export_matches_its_documented_schema(store, tmp_path):
    """verl's RL data: data_source, prompt (chat list), ability, reward_model {style, ground_truth}, extra_info."""
    import datasets

    build_with_parents(store, "rl-mix")
    res = _cli(store, "export", "rl-mix", "--to", str(tmp_path / "v"), "--format", "verl", "--data-source", "lighteval/MATH")
    assert res.exit_code == 0, res.output
    table = pq.read_table(tmp_path / "v" / "data" / "train-00000-of-00001.parquet")
    assert table.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    assert str(table.schema.field("prompt").type) == "list<element: struct<role: string, content: string>>"
    assert str(table.schema.field("reward_model").type) == "struct<style: string, ground_truth: string>"
    rows = {r["extra_info"]["problem_id"]: r for r in table.to_pylist()}
    assert rows["fx-1"]["reward_model"] == {"style": "rule", "ground_truth": "42"} and rows["fx-1"]["ability"] == "math"
    assert rows["fx-1"]["data_source"] == "lighteval/MATH" and rows["fx-1"]["prompt"][-1]["role"] == "user"
    code = json.loads(rows["fx-7"]["reward_model"]["ground_truth"])
    assert code["inputs"][0] == "1 2\n" and code["outputs"][0] == "3\n" and rows["fx-7"]["ability"] == "code"
    assert json.loads(rows["fx-8"]["reward_model"]["ground_truth"])["fn_name"] == "gcd"
    general = [r for r in rows.values() if r["reward_model"]["style"] == "model"]
    assert general and all(r["reward_model"]["ground_truth"] is None for r in general)
    assert sorted(r["extra_info"]["index"] for r in rows.values()) == list(range(len(rows)))
    assert datasets.load_dataset(str(tmp_path / "v"), split="train").num_rows == table.num_rows

    # verl's custom_reward_function contract: compute_score(data_source, solution_str, ground_truth, extra_info)
    import importlib.util

    spec = importlib.util.spec_from_file_location("factory_reward", tmp_path / "v" / "factory_reward.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    score = module.compute_score
    math, stdio = rows["fx-1"], rows["fx-7"]
    assert score(math["data_source"], "<answer>42</answer>", math["reward_model"]["ground_truth"], math["extra_info"]) == 1.0
    assert score(math["data_source"], "<answer>41</answer>", math["reward_model"]["ground_truth"]) == 0.0
    program = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    assert score(stdio["data_source"], program, stdio["reward_model"]["ground_truth"]) == 1.0
    assert score(stdio["data_source"], "```python\nprint(0)\n```", stdio["reward_model"]["ground_truth"]) == 0.0


def test_verl_dump_imports_with_lineage(store):
    build_with_parents(store, "rl-mix")
    res = _cli(store, "import", str(FIXTURES / "rollouts" / "verl_dump.jsonl"), "--format", "verl", "--prompts", "rl-mix")
    assert res.exit_code == 0 and "12 rows, 12 matched to prompts, 2 steps" in res.output, res.output
    df = store.get("verl-rollouts").scan().collect().sort("step", "problem_id", "sample_idx")
    assert set(df["problem_id"]) == {"fx-1", "fx-2", "fx-6"} and df["sample_idx"].max() == 1
    assert df["reward"].to_list() == df["reward_acc"].to_list() and df["backend"].unique().to_list() == ["verl"]
    assert df.filter(df["problem_id"] == "fx-1")["answer"].unique().to_list() == ["42"]


def test_bad_exports_and_imports_are_one_line(store, tmp_path):
    build_with_parents(store, "curated")
    res = _cli(store, "export", "curated", "--to", str(tmp_path / "c"), "--format", "verl")
    assert res.exit_code == 1 and "takes rl_prompts snapshots; curated@" in res.output and not (tmp_path / "c").exists()
    res = _cli(store, "export", "curated", "--to", str(tmp_path / "c"), "--format", "parquet")
    assert res.exit_code == 1 and "unknown export format 'parquet'" in res.output
    bad = tmp_path / "log.jsonl"
    bad.write_text(json.dumps({"input": "x", "output": "y", "step": 1}) + "\n")
    res = _cli(store, "import", str(bad), "--format", "verl")
    assert res.exit_code == 1 and "lacks column 'score'" in res.output and len(res.output.strip().splitlines()) == 1
    res = _cli(store, "import", str(Path(tmp_path / "nothing")), "--format", "trl")
    assert res.exit_code == 1 and "does not exist" in res.output
