"""Card plots: builders with a funnel, a pass-rate histogram or per-step curves carry a PNG their card shows;
a rebuild writes the same bytes and the image never enters the snapshot id."""

from __future__ import annotations

import shutil

from factory.api.build import BuildOptions, run_build
from factory.store.card_plots import card_plots, funnel_stages
from tests.support.builder_contract import FIXTURE_CONFIGS, build_with_parents
from tests.support.view_store import make_view_store


def test_reasoning_card_shows_its_filter_funnel_and_a_rebuild_is_byte_identical(store):
    snap = build_with_parents(store, "reasoning").snapshot
    png = snap.path / "plots" / "funnel.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![filter funnel](plots/funnel.png)" in (snap.path / "README.md").read_text()
    stages = funnel_stages(snap.manifest)
    assert stages[0][1] == snap.num_rows + sum(snap.manifest["rejects"].values()) and stages[-1] == ("kept", snap.num_rows)
    before = png.read_bytes()
    forced = run_build(store, "reasoning", FIXTURE_CONFIGS["reasoning"], options=BuildOptions(force=True)).snapshot
    assert forced.ref == snap.ref and (forced.path / "plots" / "funnel.png").read_bytes() == before


def test_difficulty_histogram_and_grpo_curves_from_their_columns(store, tmp_path):
    snaps = make_view_store(store, rollouts=2_000)
    assert snaps["difficulty"].manifest["plots"] == {"pass-rate histogram": "plots/pass_rate.png"}
    assert snaps["grpo"].manifest["plots"] == {"training curves": "plots/curves.png"}
    assert "![training curves](plots/curves.png)" in (snaps["grpo"].path / "README.md").read_text()
    assert "plots" not in {p.name for p in snaps["rollouts"].path.iterdir()}  # nothing to draw, no folder
    # re-rendering from the same data gives the same bytes (no timestamps, fixed fonts and size)
    copy = tmp_path / "copy"
    shutil.copytree(snaps["grpo"].path, copy)
    shutil.rmtree(copy / "plots")
    card_plots(copy, snaps["grpo"].manifest)
    assert (copy / "plots" / "curves.png").read_bytes() == (snaps["grpo"].path / "plots" / "curves.png").read_bytes()


def test_difficulty_builder_card_carries_the_pass_rate_histogram(store):
    snap = build_with_parents(store, "difficulty").snapshot
    assert snap.manifest["plots"]["pass-rate histogram"] == "plots/pass_rate.png"
    assert (snap.path / "plots" / "pass_rate.png").stat().st_size > 1000
    assert "![pass-rate histogram](plots/pass_rate.png)" in (snap.path / "README.md").read_text()
