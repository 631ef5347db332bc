"""reasoning-gym as a source: seeded tasks into a snapshot whose lineage names the package version,
its own scorer as a reward (only 1.0 counts), and one-line errors for unknown tasks."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from factory.api.build import run_build
from factory.cli.app import app

SOURCE = "reasoning-gym:leg_counting,basic_arithmetic"


def test_tasks_build_into_a_snapshot_with_the_package_version(store):
    from importlib.metadata import version

    snap = run_build(store, "problems", {"source": SOURCE, "n": 5, "seed": 3}).snapshot
    df = snap.scan().collect()
    assert df.height == 10 and set(df["source"]) == {"reasoning-gym/leg_counting", "reasoning-gym/basic_arithmetic"}
    src = snap.manifest["source"]
    assert src["package"] == f"reasoning-gym=={version('reasoning-gym')}" == "reasoning-gym==0.1.25"
    assert src["seeds"] == {"leg_counting": 3, "basic_arithmetic": 4}
    entry = json.loads(df["metadata"][0])
    assert entry["task"] == "leg_counting" and entry["entry"]["answer"] == df["answer"][0]
    again = run_build(store, "problems", {"source": SOURCE, "n": 5, "seed": 3})
    assert again.cached and again.snapshot.ref == snap.ref
    other = run_build(store, "problems", {"source": SOURCE, "n": 5, "seed": 3,
                                          "options": {"configs": {"basic_arithmetic": {"min_terms": 3, "max_terms": 3}}}})
    assert other.snapshot.id != snap.id  # a per-task config is part of the fingerprint
    metas = [json.loads(m) for m in other.snapshot.scan().collect()["metadata"]]
    arith = [m for m in metas if m["task"] == "basic_arithmetic"]
    assert len(arith) == 5 and all(m["entry"]["metadata"]["num_terms"] == 3 for m in arith)


def test_its_scorer_is_a_reward_and_only_full_marks_count(store):
    from factory.rewards.registry import for_trl

    snap = run_build(store, "problems", {"source": "reasoning-gym:gsm_symbolic", "n": 3}).snapshot
    rows = snap.scan().collect().to_dicts()
    reward = for_trl("reasoning_gym")[0]
    gold = [f"<answer>{r['answer']}</answer>" for r in rows]
    metas = [r["metadata"] for r in rows]
    assert reward(gold, metadata=metas) == [1.0, 1.0, 1.0]
    from factory.rewards.reasoning_gym_reward import get_reasoning_gym_reward, score_entry

    # gsm_symbolic's own scorer gives full marks to a hedged answer: the binary reward inherits that (README)
    assert [score_entry(f"{r['answer']} or 7", r["metadata"]) for r in rows] == [1.0, 1.0, 1.0]
    partial = get_reasoning_gym_reward(partial_credit=True)
    assert partial(["<answer>zzz</answer>"], metadata=metas[:1]) == [0.0] and reward(["x"], metadata=[None]) == [None]


def test_scoring_with_the_reasoning_gym_reward(store, tmp_path):
    import pyarrow as pa

    from factory.rewards.scoring import ScoreConfig, score_batch

    snap = run_build(store, "problems", {"source": "reasoning-gym:basic_arithmetic", "n": 2}).snapshot
    rows = snap.scan().collect().to_dicts()
    batch = pa.RecordBatch.from_pylist([{"completion": f"<answer>{r['answer']}{extra}</answer>", "metadata": r["metadata"],
                                         "answer": r["answer"]} for r in rows for extra in ("", " and 1")])
    out = score_batch(batch, ScoreConfig(rewards=("accuracy", "reasoning_gym"))).to_pydict()
    assert out["reward_reasoning_gym"] == [1.0, 0.0, 1.0, 0.0]  # its raw score for the superstring is 1/3


def test_unknown_task_lists_the_known_ones(store):
    res = CliRunner().invoke(app, ["--store", str(store.root), "build", "problems", "--set",
                                   "source=reasoning-gym:leg_countin", "--quiet"])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1
    assert "unknown reasoning-gym task leg_countin; known tasks: ab, acre," in res.output and "leg_counting" in res.output
    with pytest.raises(ValueError, match="configs for tasks not in the source"):
        run_build(store, "problems", {"source": SOURCE, "options": {"configs": {"gcd": {}}}})
