"""`factory recipe --preset smoke`: every R1 stage through the builders and trainers, end to end, with lineage.

The smoke preset trains real (tiny) models for a few steps; its cold start and rejection samples,
and the pass rates that curate every RL prompt set, come from the scripted teacher (a model
trained for 3 steps writes nothing the correctness filters keep). Everything else — pretraining from scratch, GRPO with rollout logging, SFT,
the reward model, distillation, and the eval builder generating with every checkpoint — is real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factory.api.recipe import PRESETS, RecipeContext, recipe, run_recipe, select
from factory.api.recipe_stages import STAGES
from factory.errors import FactoryError
from factory.sql.query import query_rows
from factory.store.lineage import lineage
from factory.store.store import Store

MODELS = ["base", "student-base", "r1-zero", "student-rl", "sft-cold-start", "reasoning-rl", "sft-mix-base",
          "all-scenario", "student-distill"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("recipe") / "store")
    ctx, report = recipe(store, "smoke")
    return store, ctx, report


def _walk(node, out):
    out.append(node.ref)
    for p in node.parents:
        _walk(p, out)
    return out


@pytest.mark.slow
def test_every_stage_runs_and_each_model_names_its_data(smoke):
    store, ctx, report = smoke
    assert set(ctx.outputs) == {s.name for s in STAGES}
    for name in MODELS:
        manifest = json.loads((Path(ctx.outputs[name]) / "factory_manifest.json").read_text())
        assert store.get(manifest["data_ref"]).ref == manifest["data_ref"], name
    assert json.loads((Path(ctx.outputs["sft-mix-base"]) / "factory_manifest.json").read_text())["data_ref"] == \
        ctx.outputs["sft-mix"]
    assert [r["checkpoint"] for r in report["checkpoints"]] == MODELS
    assert all(r["pass@1"] is not None and r["k"] == PRESETS["smoke"].eval_k for r in report["checkpoints"])


@pytest.mark.slow
def test_generated_snapshots_name_their_model_and_lineage_walks_through_models(smoke):
    store, ctx, _ = smoke
    rollouts = store.get("eval-sft-cold-start-procedural-heldout-rollouts")
    assert rollouts.manifest["generation"]["model"] == ctx.outputs["sft-cold-start"]
    refs = _walk(lineage(store, rollouts), [])
    # eval rollouts -> model sft-cold-start -> cold-start -> ... -> model base -> pretrain-corpus -> problems
    assert f"model:{ctx.outputs['sft-cold-start']}" in refs and f"model:{ctx.outputs['base']}" in refs
    assert ctx.outputs["cold-start"] in refs and ctx.outputs["corpus"] in refs and ctx.outputs["problems"] in refs


@pytest.mark.slow
@pytest.mark.parametrize("prompts,table,policy", [("r1-zero-prompts", "difficulty-base", "base"),
                                                  ("reasoning-rl-prompts", "difficulty-sft-cold-start", "sft-cold-start"),
                                                  ("rl-mix", "difficulty-sft-mix-base", "sft-mix-base")])
def test_rl_prompts_are_the_ones_the_policy_solves_sometimes(smoke, prompts, table, policy):
    store, ctx, _ = smoke
    snap, diff = store.get(ctx.outputs[prompts]), store.get(ctx.outputs[table])
    assert snap.manifest["parents"]["difficulty"] == diff.ref
    k = PRESETS["smoke"].group
    assert diff.manifest["stats"]["k"] == k and diff.num_rows == PRESETS["smoke"].difficulty_prompts
    assert set(diff.to_arrow().column("policy_revision").to_pylist()) == {policy}
    rates = dict(zip(*diff.to_arrow().select(["problem_id", "n_correct"]).to_pydict().values()))
    rows = snap.to_arrow().select(["problem_id", "reward_type"]).to_pylist()
    rule = {r["problem_id"] for r in rows if r["reward_type"] == "rule"}
    # exactly the measured prompts with 0 < n_correct < k: unmeasured ones are dropped, not kept
    assert rule and rule == {i for i, n in rates.items() if 0 < n < k}


@pytest.mark.slow
def test_report_snapshot_and_rollouts_answer_sql(smoke):
    store, ctx, report = smoke
    snap = store.get("recipe-report")
    assert snap.to_arrow().num_rows == len(MODELS) and set(report["curves"]) == {"r1-zero", "reasoning-rl",
                                                                                  "all-scenario", "student-rl"}
    _, rows, _ = query_rows(store, 'select step, avg(reward_accuracy), avg(completion_tokens) '
                                   'from "grpo-rollouts-recipe-smoke-r1-zero" group by step')
    assert len(rows) == PRESETS["smoke"].grpo_steps
    assert (ctx.work / "report.md").read_text().startswith("| checkpoint |")


def test_stage_whose_parent_has_not_run_is_one_clear_line(tmp_path):
    ctx = RecipeContext(Store(tmp_path / "store"), PRESETS["smoke"], tmp_path / "work")
    with pytest.raises(FactoryError, match=r"recipe stage 'sft-mix-base' needs 'sft-mix', 'base', which has not run"):
        run_recipe(ctx, select(STAGES, ["sft-mix-base"], None))
    with pytest.raises(FactoryError, match="unknown recipe stage 'nope'"):
        select(STAGES, None, "nope")


def test_cli_reports_a_missing_parent_in_one_line(tmp_path):
    from factory.cli.app import app

    res = CliRunner().invoke(app, ["--store", str(tmp_path / "s"), "recipe", "--preset", "smoke", "--only", "reasoning"])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "needs 'reasoning-rl', 'curated', which has not run" in lines[0]
