"""Each builder against the shared contract (tests/builder_contract.py): ~one class per builder."""

from __future__ import annotations

import pyarrow.json  # noqa: F401  (used by the contract)

from tests.support.builder_contract import BuilderTestCase


class TestProblems(BuilderTestCase):
    BUILDER = "problems"
    EXPECTED_ROWS = 10
    TRAINING_DATA = False  # raw problems still hold the contaminated row; `curated` is where it goes


class TestCurated(BuilderTestCase):
    BUILDER = "curated"
    EXPECTED_ROWS = 8  # fx-9 duplicates fx-1, fx-10 is in the eval fixture
    EXPECTED_REJECTS = 2


class TestR1Zero(BuilderTestCase):
    BUILDER = "r1-zero"
    EXPECTED_ROWS = 8


class TestColdStart(BuilderTestCase):
    BUILDER = "cold-start"
    MIN_ROWS = 2


class TestReasoning(BuilderTestCase):
    BUILDER = "reasoning"
    MIN_ROWS = 4


class TestNonReasoning(BuilderTestCase):
    BUILDER = "non-reasoning"
    MIN_ROWS = 8


class TestSftMix(BuilderTestCase):
    BUILDER = "sft-mix"
    MIN_ROWS = 12


class TestRlMix(BuilderTestCase):
    BUILDER = "rl-mix"
    MIN_ROWS = 9


class TestDistill(BuilderTestCase):
    BUILDER = "distill"
    MIN_ROWS = 12


class TestEval(BuilderTestCase):
    BUILDER = "eval"
    EXPECTED_ROWS = 1
    TRAINING_DATA = False  # the eval snapshot is the metrics table


class TestTrainerRollouts(BuilderTestCase):
    BUILDER = "trainer-rollouts"
    EXPECTED_ROWS = 12  # tests/fixtures/rollouts/verl_dump.jsonl: 2 steps x 3 prompts x 2 samples


class TestDifficulty(BuilderTestCase):
    BUILDER = "difficulty"
    EXPECTED_ROWS = 8  # one row per curated prompt
    TRAINING_DATA = False  # a metrics table: pass rates, no prompts


class TestRolloutDifficulty(BuilderTestCase):
    BUILDER = "rollout-difficulty"
    EXPECTED_ROWS = 10  # the scored parent: one row per fixture problem
    TRAINING_DATA = False


class TestPretrainCorpus(BuilderTestCase):
    BUILDER = "pretrain-corpus"
    EXPECTED_ROWS = 30


class TestPreferencePairs(BuilderTestCase):
    BUILDER = "preference-pairs"
    EXPECTED_ROWS = 6
