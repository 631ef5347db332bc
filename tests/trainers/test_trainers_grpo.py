"""GRPO with a tiny offline Qwen2: rewards from the registry, rollouts snapshot, lineage, routing, resume."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.trainers.test_trainers_common import FAST_GRPO, rl_rows, tiny_lm, write_snapshot  # noqa: F401 - fixture

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"), pytest.mark.filterwarnings("ignore::UserWarning")]


def length_reward(completions, **kwargs):
    """Varies between samples of a group, so advantages are not all zero."""
    return [float(len(c[0]["content"]) % 5) for c in completions]


def test_grpo_step_logs_rollouts_and_lineage(store, tiny_lm, tmp_path):  # noqa: F811
    from factory.sql.query import query_rows
    from factory.store.models import models_for
    from trainers.grpo import train_grpo

    data = write_snapshot(store, "rl", "rl_prompts", rl_rows(4))
    overrides = {**FAST_GRPO, "max_steps": 2, "log_completions": True}
    res = train_grpo(store, "rl", tiny_lm, tmp_path / "run", "accuracy,format", overrides, extra_rewards=[length_reward])
    assert res.global_step == 2 and res.trainer == "grpo" and res.data_ref == data.ref

    roll = store.get(res.rollouts_ref)
    assert roll.kind == "rollouts" and roll.parents == {"rl": data.ref}
    df = roll.scan().collect()
    assert df.height == 4 and sorted(df["step"].unique().to_list()) == [1, 2]
    assert set(df["problem_id"]) <= {f"p{i}" for i in range(4)} and df["sample_idx"].to_list() == [0, 1, 0, 1]
    assert {"reward_accuracy", "reward_format", "reward_length", "reward", "advantage"} <= set(df.columns)
    assert df["reward_accuracy"].null_count() == 0 and (df["completion_tokens"] <= 8).all()
    assert df["reward"].to_list() == pytest.approx((df["reward_accuracy"] + df["reward_format"] + df["reward_length"]).to_list())
    # The recomputed advantage equals the one TRL logged for the same completions.
    trl_log = pl.read_parquet(tmp_path / "run" / "completions" / "*.parquet").sort("step")
    assert df.sort("step")["advantage"].to_list() == pytest.approx(trl_log["advantage"].to_list(), abs=1e-4)

    cols, rows, _ = query_rows(store, f'select step, avg(completion_tokens), avg(reward_accuracy) '
                                      f'from "{roll.name}" group by step order by step')
    assert [r[0] for r in rows] == [1, 2] and len(cols) == 3

    manifest = json.loads((res.output_dir / "factory_manifest.json").read_text())
    assert manifest["data_ref"] == data.ref and manifest["trainer"] == "grpo"
    assert manifest["trl_config"]["num_generations"] == 2 and manifest["code_version"]
    assert manifest["rollouts_ref"] == roll.ref
    assert (res.output_dir / "model.safetensors").exists()
    assert [m["path"] for m in models_for(store, data.ref)] == [str(res.output_dir)]


def test_all_scenario_routing(store, tiny_lm, tmp_path):  # noqa: F811
    from tests.support.tiny_models import make_tiny_reward_model
    from trainers.grpo import train_grpo

    rows = rl_rows(2) + [dict(r, problem_id=f"g{i}", answer=None, reward_type="reward_model")
                         for i, r in enumerate(rl_rows(2))]
    write_snapshot(store, "mix", "rl_prompts", rows)
    with pytest.raises(ValueError, match="pass --reward-model"):
        train_grpo(store, "mix", tiny_lm, tmp_path / "x", "accuracy,format", FAST_GRPO)
    rm = str(make_tiny_reward_model(tmp_path / "rm"))
    overrides = {**FAST_GRPO, "max_steps": 4, "per_device_train_batch_size": 4, "shuffle_dataset": False}
    res = train_grpo(store, "mix", tiny_lm, tmp_path / "run", "accuracy,format", overrides, reward_model=rm)
    df = store.get(res.rollouts_ref).scan().collect()
    rule, general = df.filter(pl.col("problem_id").str.starts_with("p")), df.filter(pl.col("problem_id").str.starts_with("g"))
    assert rule.height and general.height
    assert rule["reward_reward_model"].null_count() == rule.height and rule["reward_format"].null_count() == 0
    assert general["reward_format"].null_count() == general.height and general["reward_accuracy"].null_count() == general.height
    assert general["reward_reward_model"].null_count() == 0
    assert general["reward"].to_list() == pytest.approx(general["reward_reward_model"].to_list())


def _crash_after_save(step: int):
    """A callback that dies right after checkpoint ``step`` is saved (after the rollout logger flushed)."""
    from transformers import TrainerCallback

    class CrashAfterSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise RuntimeError("simulated crash")

    return CrashAfterSave()


def test_resume_from_checkpoint_logs_each_step_once(store, tiny_lm, tmp_path):  # noqa: F811
    from trainers.grpo import train_grpo

    write_snapshot(store, "rl", "rl_prompts", rl_rows(4))
    overrides = {**FAST_GRPO, "max_steps": 3, "save_strategy": "steps", "save_steps": 1}
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_grpo(store, "rl", tiny_lm, run, "format", overrides, callbacks=[_crash_after_save(2)])
    assert (run / "checkpoint-1").is_dir() and (run / "checkpoint-2").is_dir()
    assert not [s for s in store.list() if s.kind == "rollouts"]  # nothing published by the crashed run
    # Resume from the *earlier* checkpoint: rows of step 2 already on disk must not be logged twice.
    res = train_grpo(store, "rl", tiny_lm, run, "format", overrides, resume_from_checkpoint=str(run / "checkpoint-1"))
    assert res.global_step == 3
    df = store.get(res.rollouts_ref).scan().collect()
    assert df.group_by("step").len().sort("step").rows() == [(1, 2), (2, 2), (3, 2)]
