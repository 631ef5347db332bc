"""Every scripted backend marks its snapshot synthetic, and so does everything made from it."""

from __future__ import annotations

import pytest

from factory import api
from factory.api.build import BuildOptions, run_build
from factory.generate.generation import GenerateConfig


@pytest.mark.parametrize("backend", ["scripted", "scripted_general", "scripted_judge"])
def test_scripted_backends_mark_rollouts_and_what_is_scored_from_them(store, backend):
    run_build(store, "problems", {"n": 6})
    cfg = GenerateConfig(backend=backend, model=f"{backend}-model", samples_per_prompt=2, prompts_per_shard=4)
    rollouts = api.generate(store, "problems", cfg, options=BuildOptions(workers=1)).snapshot
    assert rollouts.manifest["synthetic"] is True
    assert "synthetic" in (rollouts.path / "README.md").read_text().split("---")[1]  # a card tag
    scored = api.score(store, rollouts.ref, options=BuildOptions(workers=1)).snapshot
    assert scored.manifest["synthetic"] is True


def test_procedural_problems_are_not_synthetic(store):
    assert run_build(store, "problems", {"n": 3}).snapshot.manifest["synthetic"] is False
