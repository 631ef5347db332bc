"""Builders fed by a real (tiny, random, hence weak) model instead of the scripted teacher.

A random model fails every filter: the builders must still publish their rejects (so SQL can say
why), the CLI must print the top reasons, and a builder that needs rows must name the empty parent.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from factory.api.build import run_build
from factory.cli.app import app
from factory.errors import BuildError
from tests.support.backend_fixtures import tiny_lm_dir  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


def test_builders_on_a_random_tiny_model(store, tiny_lm_dir):
    gen = {"backend": "transformers", "model": str(tiny_lm_dir), "max_tokens": 12, "samples_per_prompt": 2}
    run_build(store, "problems", {"n": 30, "seed": 0})
    run_build(store, "curated", {"decontaminate_against": ["procedural-heldout"], "heldout_n": 10})

    # a scripted-teacher option (style) in cold-start's defaults must not reach another backend
    cold = run_build(store, "cold-start", {"n_prompts": 6, "target": 4, "generate": gen}).snapshot
    assert cold.num_rows == 0 and sum(cold.manifest["rejects"].values()) == 12
    rollouts = store.get("cold-start-rollouts")
    assert set(rollouts.to_arrow().column("backend").to_pylist()) == {"transformers"}
    assert rollouts.manifest["stats"]["error_rows"] == 0

    res = CliRunner().invoke(app, ["--store", str(store.root), "build", "reasoning", "--backend", "transformers",
                                   "--model", str(tiny_lm_dir), "--set", "target=10", "--set", "generate.max_tokens=12",
                                   "--set", "generate.samples_per_prompt=2", "--quiet"])
    assert res.exit_code == 0, res.output
    reasoning = store.get("reasoning")
    assert reasoning.num_rows == 0 and sum(reasoning.manifest["rejects"].values()) > 0
    out = " ".join(res.output.split())
    assert "top reject reasons" in out and "reasoning__rejects group by 1" in out
    top = max(reasoning.manifest["rejects"], key=reasoning.manifest["rejects"].get)
    assert top in res.output

    ev = run_build(store, "eval", {"benchmarks": ["procedural-heldout"], "k": 2, "heldout_n": 10,
                                   "generate": {**gen, "samples_per_prompt": 2}}).snapshot
    assert ev.num_rows > 0 and all(m["pass@1"] == 0 for m in ev.manifest["metrics"])

    with pytest.raises(BuildError, match=r"needs rows from its parent reasoning@\w+, which has none: all"):
        run_build(store, "sft-mix", {})
