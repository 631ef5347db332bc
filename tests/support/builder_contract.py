"""The shared contract every builder's test subclasses (tfds-style): set BUILDER and the expected counts.

The harness builds the builder (and its parents) on tiny fixtures with the offline scripted
teachers, reloads the snapshot through Polars, Arrow and `datasets`, checks the schema of its
table kind, checks that a forced rebuild gives the same id and identical rows, and checks that
training rows share no prompt with the eval fixture.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pytest

import schemas
from factory.api.build import BuildOptions, load_builder, run_build
from tests.support.paths import FIXTURES  # noqa: E402

PROBLEMS = FIXTURES / "problems" / "problems.jsonl"
EVAL = FIXTURES / "problems" / "eval.jsonl"
FLAWS = {"wrong_rate": 0.3, "mixed_language_rate": 0.1}

# The mini configs every builder's parents are built with (the recipe's chain on the fixtures).
FIXTURE_CONFIGS: dict[str, dict[str, Any]] = {
    "problems": {"source": str(PROBLEMS)},
    "curated": {"decontaminate_against": ["math_500"], "paths": {"math_500": str(EVAL)}},
    "cold-start": {"n_prompts": 8, "target": 4, "generate": {"backend_options": {"style": "readable", **FLAWS}}},
    "r1-zero": {},
    "reasoning": {"target": 6, "max_per_problem": 1, "generate": {"samples_per_prompt": 4, "backend_options": FLAWS}},
    "non-reasoning": {"target": 10},
    "sft-mix": {},
    "rl-mix": {},
    "distill": {},
    "eval": {"benchmarks": ["math_500"], "paths": {"math_500": str(EVAL)}, "k": 2},
    "difficulty": {"generate": {"samples_per_prompt": 4, "backend_options": FLAWS}},
    "scored": {},
    "rollout-difficulty": {},
    "trainer-rollouts": {"path": str(FIXTURES / "rollouts" / "verl_dump.jsonl"), "format": "verl"},
    "pretrain-corpus": {"n_docs": 30, "general_n": 10},
    "preference-pairs": {"max_pairs": 6},
}


def build_with_parents(store, name: str) -> Any:
    """Build ``name`` after its declared parents, each with its fixture config."""
    mod = load_builder(name)
    for parent in getattr(mod, "PARENTS", ()):
        build_with_parents(store, parent)
    return run_build(store, name, FIXTURE_CONFIGS.get(name, {}), options=BuildOptions())


def _prompts(table: pa.Table) -> set[str]:
    if "messages" in table.schema.names or "prompt" in table.schema.names:
        col = "messages" if "messages" in table.schema.names else "prompt"
        values = table.column(col).to_pylist()
        if values and isinstance(values[0], list):
            return {m["content"] for conv in values for m in conv if m["role"] == "user"}
        return set(values)
    return set()


class BuilderTestCase:
    """Subclass with ``BUILDER = "<name>"`` and ``EXPECTED_ROWS`` (exact) or ``MIN_ROWS``."""

    BUILDER: ClassVar[str] = ""
    EXPECTED_ROWS: ClassVar[int | None] = None
    MIN_ROWS: ClassVar[int] = 1
    EXPECTED_REJECTS: ClassVar[int | None] = None
    TRAINING_DATA: ClassVar[bool] = True  # False: no train/eval overlap check (raw problems, metrics tables)

    @pytest.fixture
    def built(self, store):
        return store, build_with_parents(store, self.BUILDER)

    def test_builds_expected_rows(self, built):
        _, res = built
        snap = res.snapshot
        if self.EXPECTED_ROWS is not None:
            assert snap.num_rows == self.EXPECTED_ROWS
        assert snap.num_rows >= self.MIN_ROWS
        if self.EXPECTED_REJECTS is not None:
            assert sum(snap.manifest.get("rejects", {}).values()) == self.EXPECTED_REJECTS
        assert snap.manifest["builder"] == self.BUILDER and snap.manifest["builder_version"]
        mod = load_builder(self.BUILDER)
        assert mod.VERSION in mod.RELEASE_NOTES, "every VERSION needs a release note"

    def test_reloads_with_schema(self, built):
        _, res = built
        snap = res.snapshot
        table = snap.to_arrow()
        assert snap.scan().collect().height == table.num_rows
        assert snap.load_dataset().num_rows == table.num_rows
        if snap.kind:
            schemas.conform(table, schemas.get(snap.kind))

    def test_rebuild_is_identical(self, built):
        store, res = built
        again = run_build(store, self.BUILDER, FIXTURE_CONFIGS.get(self.BUILDER, {}))
        assert again.cached and again.snapshot.ref == res.snapshot.ref
        before = res.snapshot.to_arrow()
        forced = run_build(store, self.BUILDER, FIXTURE_CONFIGS.get(self.BUILDER, {}), options=BuildOptions(force=True))
        assert forced.snapshot.ref == res.snapshot.ref and not forced.cached
        assert forced.snapshot.to_arrow().equals(before)

    def test_train_and_eval_share_no_rows(self, built):
        if not self.TRAINING_DATA:
            pytest.skip(f"{self.BUILDER} is not training data")
        _, res = built
        eval_prompts = {line for line in (pa.json.read_json(EVAL).column("problem").to_pylist())}
        assert not (_prompts(res.snapshot.to_arrow()) & eval_prompts)
