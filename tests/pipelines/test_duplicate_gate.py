"""Dedup as a gate: an RL prompt set that repeats itself (DAPO's ~100x) is refused, not published."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from factory.cli.app import app
from tests.support.builder_contract import build_with_parents


def test_repeated_prompt_set_is_refused(store, tmp_path):
    rows = [{"problem_id": f"p{i}-{r}", "prompt": f"What is {i} + {i}?", "answer": str(2 * i), "domain": "math"}
            for i in range(5) for r in range(100)]
    path = tmp_path / "dapo_like.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runner = CliRunner()
    res = runner.invoke(app, ["--store", str(store.root), "build", "problems", "--set", f"source={path}", "--quiet"])
    assert res.exit_code == 0, res.output
    raw = store.get("problems").ref
    res = runner.invoke(app, ["--store", str(store.root), "build", "r1-zero", "--parent", f"curated={raw}", "--quiet"])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1
    assert "r1-zero refuses to publish: 495 of 500 prompts (99.0%) repeat another prompt" in res.output
    assert not store.list("r1-zero")
    res = runner.invoke(app, ["--store", str(store.root), "build", "r1-zero", "--parent", f"curated={raw}", "--quiet",
                              "--set", "max_duplicate_ratio=1.0"])
    assert res.exit_code == 0 and store.get("r1-zero").num_rows == 500


def test_deduplicated_set_passes_and_the_card_says_so(store):
    snap = build_with_parents(store, "r1-zero").snapshot
    gate = snap.manifest["reports"]["duplicate_gate"]
    assert gate == {"prompts": 8, "duplicates": 0, "duplicate_ratio": 0.0, "max_duplicate_ratio": 0.01}
    assert '"duplicate_gate"' in (snap.path / "README.md").read_text()
