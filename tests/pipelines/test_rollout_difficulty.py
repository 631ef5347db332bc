"""Stage-2 re-filtering: the rollouts a real tiny GRPO run logged become a difficulty table that the
next stage's r1-zero filters by (POLARIS: drop prompts averaging above a threshold)."""

from __future__ import annotations

import polars as pl
import pytest

from factory.api.build import run_build
from tests.support.builder_contract import build_with_parents
from tests.trainers.test_trainers_common import FAST_GRPO, tiny_lm  # noqa: F401 - fixture

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"), pytest.mark.filterwarnings("ignore::UserWarning")]


def length_reward(completions, **kwargs):
    """Varies between prompts (a random tiny model earns no accuracy), so a threshold has work to do."""
    texts = [c if isinstance(c, str) else c[0]["content"] for c in completions]  # r1-zero prompts are raw text
    return [float(len(t) % 5) for t in texts]


def test_grpo_rollouts_become_a_stage_two_filter(store, tiny_lm, tmp_path):  # noqa: F811
    from trainers.grpo import train_grpo

    stage1 = build_with_parents(store, "r1-zero").snapshot
    overrides = {**FAST_GRPO, "max_steps": 3, "per_device_train_batch_size": 4, "run_name": "stage1"}
    run = train_grpo(store, "r1-zero", tiny_lm, tmp_path / "run", "format", overrides, extra_rewards=[length_reward])
    logged = store.get(run.rollouts_ref).scan().collect()
    assert logged["step"].max() == 3

    table = run_build(store, "rollout-difficulty", {"reward": "reward_length"}, parents={"scored": run.rollouts_ref}).snapshot
    df = table.scan().collect().sort("problem_id")
    want = logged.group_by("problem_id").agg(pl.len().alias("k"), pl.col("reward_length").mean().alias("rate")).sort("problem_id")
    assert df["problem_id"].to_list() == want["problem_id"].to_list()
    assert df["k"].to_list() == want["k"].to_list() and df["pass_rate"].to_list() == pytest.approx(want["rate"].to_list())
    assert df["measured_on"].unique().to_list() == [run.rollouts_ref] and table.parents == {"scored": run.rollouts_ref}

    last = run_build(store, "rollout-difficulty", {"reward": "reward_length", "last_steps": 1},
                     parents={"scored": run.rollouts_ref}).snapshot.scan().collect()
    assert last["k"].sum() == logged.filter(pl.col("step") == 3).height

    threshold = float(df["pass_rate"].median())
    stage2 = run_build(store, "r1-zero", {"difficulty": {"enabled": True, "table": table.ref,
                                                          "predicate": f"pass_rate <= {threshold}"}}).snapshot
    kept = set(stage2.scan().collect()["problem_id"])
    above = {p for p, r in zip(df["problem_id"], df["pass_rate"]) if r > threshold}
    unseen = set(stage1.scan().collect()["problem_id"]) - set(df["problem_id"])
    assert above and not (kept & above) and unseen and unseen <= kept  # prompts the run never saw are kept
    assert set(stage2.scan("rejects").collect()["problem_id"]) == above


def test_missing_reward_column_names_the_ones_there(store):
    build_with_parents(store, "scored")
    with pytest.raises(Exception, match="no column 'reward_lenght'; reward columns: .*reward_accuracy"):
        run_build(store, "rollout-difficulty", {"reward": "reward_lenght"})
    with pytest.raises(Exception, match="last_steps needs a 'step' column"):
        run_build(store, "rollout-difficulty", {"last_steps": 2})
