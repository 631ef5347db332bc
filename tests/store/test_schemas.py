"""Every table kind round-trips through a snapshot; mismatches name the column and the type."""

from __future__ import annotations

import pyarrow as pa
import pytest

import schemas
from factory.errors import InputError

MSG = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
SAMPLES = {
    "problems": {"problem_id": ["p"], "prompt": ["1+1?"], "answer": ["2"], "tests": [None], "domain": ["math"],
                 "language": ["en"], "source": ["t"], "difficulty": pa.array([1], pa.int32()), "metadata": ["{}"]},
    "rollouts": {"problem_id": ["p"], "sample_idx": pa.array([0], pa.int32()), "completion": ["\\boxed{2}"],
                 "model": ["m"], "temperature": pa.array([0.6], pa.float32()), "finish_reason": ["stop"],
                 "completion_tokens": pa.array([5], pa.int32())},
    "scored_rollouts": {"problem_id": ["p"], "sample_idx": pa.array([0], pa.int32()), "completion": ["x"],
                        "verdict": ["correct"], "correct": [True], "reward": pa.array([1.0], pa.float32()),
                        "reward_accuracy": pa.array([1.0], pa.float32())},
    "sft_samples": {"sample_id": ["s"], "messages": pa.array([MSG], schemas.message_type()), "category": ["reasoning"]},
    "rl_prompts": {"problem_id": ["p"], "prompt": pa.array([MSG[:1]], schemas.message_type()), "answer": ["2"],
                   "reward_type": ["rule"]},
    "judgements": {"problem_id": ["p"], "sample_idx": pa.array([0], pa.int32()), "judge_model": ["j"],
                   "prompt_version": ["reference_match@1.0.0"], "verdict": ["correct"], "correct": [True], "raw": ["ok"]},
    "rejects": {"problem_id": ["p"], "reason": ["wrong"]},
    "difficulty": {"problem_id": ["p"], "k": pa.array([16], pa.int32()), "n_correct": pa.array([3], pa.int32()),
                   "pass_rate": [3 / 16], "policy_model": ["m"], "graders": ['{"accuracy": "1"}']},
}


@pytest.mark.parametrize("kind", sorted(schemas.REGISTRY))
def test_every_kind_round_trips(store, kind):
    batch = pa.RecordBatch.from_pydict(SAMPLES[kind])
    with store.begin(kind.replace("_", "-"), "abcd00", kind=kind) as sb:
        sb.write("train", [batch])
        snap = sb.commit(builder="t", builder_version="1")
    table = snap.to_arrow()
    spec = schemas.get(kind)
    for field in spec.schema:
        assert table.schema.field(field.name).type == field.type
    for name, values in SAMPLES[kind].items():
        got = table.column(name).to_pylist()
        want = values.to_pylist() if isinstance(values, pa.Array) else values
        assert got == pytest.approx(want) if isinstance(want[0], float) else got == want
    assert snap.manifest["schema_version"] == spec.version


def test_every_kind_is_covered():
    assert set(SAMPLES) == set(schemas.REGISTRY)


def test_mismatch_names_column_and_type(store):
    bad = pa.RecordBatch.from_pydict({"sample_id": ["s"], "messages": ["not a list"]})
    with pytest.raises(InputError, match=r"column 'messages' has type string, expected list<"):
        with store.begin("sft", "abcd01", kind="sft_samples") as sb:
            sb.write("train", [bad])
    with pytest.raises(schemas.SchemaError, match="unknown table kind 'nope'"):
        schemas.get("nope")


def test_lossless_casts_are_accepted(store):
    batch = pa.RecordBatch.from_pydict({"problem_id": ["p"], "prompt": pa.array(["q"], pa.large_string()),
                                        "difficulty": pa.array([3], pa.int64())})
    out = schemas.conform(batch, schemas.get("problems"))
    assert out.schema.field("prompt").type == pa.string() and out.schema.field("difficulty").type == pa.int32()
    with pytest.raises(schemas.SchemaError, match="cannot be cast"):
        schemas.conform(pa.RecordBatch.from_pydict({"problem_id": ["p"], "prompt": ["q"],
                                                    "difficulty": pa.array([2**40], pa.int64())}),
                        schemas.get("problems"))
