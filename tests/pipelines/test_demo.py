"""The offline end-to-end demo: every dataset built, then a second run is all cache hits."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from factory.api.demo import STEPS, demo
from factory.cli.app import app


def test_demo_builds_everything_then_caches(store):
    first = demo(store)
    assert [s.builder for s in first] == [b for b, _ in STEPS]
    assert not any(s.result.cached for s in first)
    names = set(store.names())
    for expected in ("problems", "curated", "cold-start", "r1-zero", "reasoning", "non-reasoning", "sft-mix",
                     "rl-mix", "distill", "eval", "reasoning-rollouts", "reasoning-scored"):
        assert expected in names
    r1_zero = store.get("r1-zero")
    assert r1_zero.parents["difficulty"] == store.get("difficulty").ref and r1_zero.manifest["rejects"]["too_easy"] > 0
    reasoning = store.get("reasoning").manifest
    assert reasoning["synthetic"] and reasoning["rejects"]["wrong"] > 0 and "reasoning_filter" in reasoning["queries"]
    mix = store.get("sft-mix")
    assert mix.num_rows == store.get("reasoning").num_rows + store.get("non-reasoning").num_rows
    second = demo(store)
    assert all(s.result.cached for s in second)
    assert [s.result.snapshot.ref for s in second] == [s.result.snapshot.ref for s in first]


def test_demo_cli_prints_stages_lineage_and_query(store):
    res = CliRunner().invoke(app, ["--store", str(store.root), "demo"])
    assert res.exit_code == 0, res.output
    for needle in ("the R1 recipe, mini scale", "filters", "pass@1", "distill@", "example query", "cache hits",
                   "difficulty: pass rates under the policy", "1..k-1", "too_easy"):
        assert needle in res.output


def test_review_round_trip(store, tmp_path):
    from factory.api import export_for_review, import_review
    from tests.support.builder_contract import build_with_parents

    original = build_with_parents(store, "cold-start").snapshot
    path = export_for_review(store, "cold-start", tmp_path / "review")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["summary"] = "Edited by a reviewer: **42**."
    rows[1]["keep"] = False
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    res = import_review(store, tmp_path / "review")
    snap = res.snapshot
    assert snap.name == "cold-start" and snap.id != original.id
    assert snap.parents == {"reviewed": original.ref}
    assert snap.manifest["review"]["edited"] == 1 and snap.manifest["review"]["dropped"] == 1
    assert snap.num_rows == original.num_rows - 1
    assert store.get("cold-start").ref == snap.ref
    edited = [m for m in snap.to_arrow().to_pylist() if m["edited"]]
    assert edited[0]["messages"][-1]["content"].endswith("Edited by a reviewer: **42**.")
    assert import_review(store, tmp_path / "review").cached
