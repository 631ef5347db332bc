"""Curation by pass rate: the difficulty table, the r1-zero / rl-mix filter, and its refusals."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from factory.api.build import run_build
from factory.cli.app import app
from tests.support.builder_contract import FLAWS, build_with_parents

MEASURE = {"generate": {"samples_per_prompt": 4, "backend_options": FLAWS}}


def _filtered(predicate: str | None = None, **extra) -> dict:
    cfg = {"enabled": True, "measure": MEASURE, **extra}
    return {"difficulty": {**cfg, **({"predicate": predicate} if predicate else {})}}


def test_difficulty_table_answers_the_solve_rate_question(store):
    from factory.sql.query import query_rows

    snap = build_with_parents(store, "difficulty").snapshot
    df = snap.scan().collect()
    assert (df["k"] == 4).all() and df["pass_rate"].to_list() == (df["n_correct"] / 4).to_list()
    assert df["policy_model"].unique().to_list() == ["scripted-teacher"] and df["prompt_hash"].null_count() == 0
    from factory.rewards.registry import grader_versions

    assert df["graders"].unique().to_list() == [json.dumps(grader_versions(["accuracy"]))]
    assert set(df["n_correct"]) != {4}, "FLAWS make some samples wrong"
    _, rows, _ = query_rows(store, "select policy_model, domain, difficulty, count_if(n_correct = 0) as none, "
                                   "count_if(n_correct > 0 and n_correct < k) as some, count_if(n_correct = k) as all_ "
                                   "from difficulty group by all order by all")
    assert sum(r[3] + r[4] + r[5] for r in rows) == 8 and {r[1] for r in rows} == {"math", "code"}


def test_r1_zero_filter_rejects_with_pass_rate_and_reuses_the_stage(store):
    build_with_parents(store, "curated")
    res = run_build(store, "r1-zero", _filtered())
    snap, table = res.snapshot, store.get("difficulty").scan().collect()
    solved = dict(zip(table["problem_id"], table["n_correct"]))
    kept = set(snap.scan().collect()["problem_id"])
    assert kept == {p for p, n in solved.items() if 0 < n < 4}
    rejects = snap.scan("rejects").collect()
    assert {(r["problem_id"], r["reason"]) for r in rejects.iter_rows(named=True)} == {
        (p, "too_easy" if n == 4 else "too_hard") for p, n in solved.items() if n in (0, 4)}
    assert rejects["pass_rate"].to_list() == [solved[p] / 4 for p in rejects["problem_id"]]
    card = (snap.path / "README.md").read_text()
    assert "## Pass rate under the policy (difficulty filter)" in card and "| (.25, .5] |" in card
    assert snap.parents["difficulty"] == store.get("difficulty").ref

    n_rollouts = len(store.list("difficulty-rollouts"))
    again = run_build(store, "r1-zero", _filtered("pass_rate <= 0.5"))
    assert again.snapshot.ref != snap.ref and len(store.list("difficulty-rollouts")) == n_rollouts
    assert [s.cached for s in again.stages] == [True]
    assert set(again.snapshot.scan().collect()["problem_id"]) == {p for p, n in solved.items() if n <= 2}


def test_rl_mix_filters_rule_prompts_only(store):
    build_with_parents(store, "non-reasoning")
    plain = build_with_parents(store, "rl-mix").snapshot.scan().collect()
    res = run_build(store, "rl-mix", _filtered("pass_rate <= 0.5"))
    df = res.snapshot.scan().collect()
    table = store.get(res.snapshot.parents["difficulty"]).scan().collect()
    rates = dict(zip(table["problem_id"], table["pass_rate"]))
    rule = df.filter(df["reward_type"] == "rule")
    assert set(rule["problem_id"]) == {p for p, r in rates.items() if r <= 0.5}
    assert rule.height < plain.filter(plain["reward_type"] == "rule").height
    assert df.filter(df["reward_type"] == "reward_model").height > 0


def test_bad_predicate_is_refused_before_generation(store):
    build_with_parents(store, "curated")
    res = CliRunner().invoke(app, ["--store", str(store.root), "build", "r1-zero", "--set", "difficulty.enabled=true",
                                   "--set", "difficulty.predicate=n_corect > 1"])
    assert res.exit_code == 1 and 'Referenced column "n_corect" not found' in res.output
    assert len(res.output.strip().splitlines()) == 1 and not store.list("difficulty-rollouts")
    with pytest.raises(ValueError, match="not a boolean"):
        run_build(store, "r1-zero", _filtered("pass_rate * 2"))
    with pytest.raises(ValueError, match="pin it as NAME@ID"):
        run_build(store, "r1-zero", _filtered(table="difficulty"))


def test_majority_votes_fill_missing_gold_only_when_asked(store, tmp_path):
    import json

    from tests.trainers.test_trainers_common import write_snapshot

    rows = [{"problem_id": "g1", "prompt": "What is 1 + 1?", "answer": "2", "domain": "math"},
            {"problem_id": "n1", "prompt": "What is 3 + 4?", "domain": "math"},
            {"problem_id": "n2", "prompt": "What is 5 + 9?", "domain": "math"}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = run_build(store, "problems", {"source": str(path)}).snapshot.ref
    table = write_snapshot(store, "votes", "difficulty", [
        {"problem_id": "g1", "k": 4, "n_correct": 3, "pass_rate": 0.75, "answer_source": "gold",
         "majority_answer": "2", "majority_agreement": 0.75},
        {"problem_id": "n1", "k": 4, "n_correct": 3, "pass_rate": 0.75, "answer_source": "majority@4",
         "majority_answer": "7", "majority_agreement": 0.75},
        {"problem_id": "n2", "k": 4, "n_correct": 1, "pass_rate": 0.25, "answer_source": "majority@4",
         "majority_answer": "13", "majority_agreement": 0.25}])
    cfg = {"difficulty": {"enabled": True, "table": table.ref, "predicate": "true"}}
    plain = run_build(store, "r1-zero", cfg, parents={"curated": raw}).snapshot.scan().collect()
    assert plain["problem_id"].to_list() == ["g1"]  # no gold, no opt-in: not an RL prompt
    cfg["difficulty"]["pseudo_labels"] = True
    snap = run_build(store, "r1-zero", cfg, parents={"curated": raw}).snapshot
    df = snap.scan().collect().sort("problem_id")
    assert df.select("problem_id", "answer", "answer_source").rows() == [("g1", "2", "gold"), ("n1", "7", "majority@4")]
    assert snap.manifest["stats"]["pseudo_labeled"] == 1 and snap.manifest["stats"]["pseudo_label_share"] == 0.5
    with pytest.raises(ValueError, match="needs difficulty.enabled=true"):
        run_build(store, "r1-zero", {"difficulty": {"pseudo_labels": True}}, parents={"curated": raw})


def test_difficulty_rates_prompts_without_gold_against_the_majority(store):
    import pyarrow as pa

    from factory.curate.majority import Vote
    from pipelines.difficulty import difficulty_rows

    result = pa.table({"problem_id": ["g", "n"], "prompt": ["a", "b"], "domain": ["math", "math"],
                       "difficulty": pa.array([1, 1], pa.int32()), "language": ["en", "en"], "policy_model": ["m", "m"],
                       "k": pa.array([4, 4], pa.int32()), "n_correct": pa.array([1, 0], pa.int32()),
                       "n_graded": pa.array([4, 0], pa.int32()), "pass_rate": [0.25, None],
                       "mean_completion_tokens": [1.0, 1.0], "max_completion_tokens": pa.array([1, 1], pa.int32()),
                       "truncated_share": [0.0, 0.0]})
    out = difficulty_rows(result, revision="r1", graders={}, measured_on="x@1",
                          votes={"g": Vote("3", 3, 4), "n": Vote("7", 2, 4)}).to_pylist()
    assert [(r["n_correct"], r["pass_rate"], r["answer_source"]) for r in out] == [(1, 0.25, "gold"), (2, 0.5, "majority@4")]
    assert out[0]["majority_answer"] == "3" and out[1]["policy_revision"] == "r1"
