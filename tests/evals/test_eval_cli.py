"""`factory build eval --set paths.<bench>=FILE` on local copies; the metrics table in `factory show` and the card."""

from __future__ import annotations

from typer.testing import CliRunner

from factory.cli.app import app
from tests.support.paths import EVALSET_PATHS


def _cli(store, *args):
    return CliRunner().invoke(app, ["--store", str(store.root), *args])


def test_build_eval_on_local_copies_prints_and_stores_the_metrics(store):
    sets = ["--set", "benchmarks=[gpqa_diamond,math_500]", "--set", "k=2", "--quiet"]
    for name in ("gpqa_diamond", "math_500"):
        sets += ["--set", f"paths.{name}={EVALSET_PATHS[name]}"]
    res = _cli(store, "build", "eval", *sets)
    assert res.exit_code == 0, res.output
    assert "Metrics (k=2)" in res.output and "gpqa_diamond" in res.output and "math_500" in res.output
    snap = store.get("eval")
    assert [m["benchmark"] for m in snap.manifest["metrics"]] == ["gpqa_diamond", "math_500"]
    assert all(m["k"] == 2 and m["samples"] == 2 * m["problems"] for m in snap.manifest["metrics"])
    card = (snap.path / "README.md").read_text()
    assert "## Metrics (k=2)" in card and "| gpqa_diamond | choice | 5 | 2 |" in card and "std_dev_across_runs" in card
    shown = _cli(store, "show", "eval")
    assert shown.exit_code == 0 and "Metrics (k=2)" in shown.output and "gpqa_diamond" in shown.output
    cols = snap.to_arrow().schema.names
    assert {"pass@1", "pass@1_std", "pass@k", "maj@k", "no_answer", "pass_at", "maj_at"} <= set(cols)


def test_a_wrong_file_is_one_clear_error_naming_file_and_column(store):
    res = _cli(store, "build", "eval", "--set", "benchmarks=[gpqa_diamond]", "--set", "k=1", "--quiet",
               "--set", f"paths.gpqa_diamond={EVALSET_PATHS['math_500']}")
    assert res.exit_code != 0
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "test.jsonl row 1: column 'Question' is missing" in lines[0]
    assert not store.list()  # nothing half-written
