"""Scored rollouts: a rollout plus the verdict of every grader (extra ``reward_<name>`` columns allowed)."""

import pyarrow as pa

from schemas._base import TableSchema
from schemas.rollouts import FIELDS as ROLLOUT_FIELDS

FIELDS = [
    pa.field("problem_id", pa.string(), nullable=False),
    pa.field("sample_idx", pa.int32(), nullable=False),
    pa.field("completion", pa.string(), nullable=False),
    pa.field("verdict", pa.string()),  # correct | wrong | unverifiable | null (no gold)
    pa.field("correct", pa.bool_()),  # null when unverifiable — never counted as correct
    pa.field("format_ok", pa.bool_()),
    pa.field("language_consistency", pa.float32()),
    pa.field("language_consistent", pa.bool_()),
    pa.field("reward", pa.float32()),
    pa.field("graders", pa.string()),  # JSON {grader: version}: enters the snapshot id
]

SPEC = TableSchema(
    kind="scored_rollouts",
    version="1.0.0",
    doc="a rollout plus grader verdicts and rewards",
    schema=pa.schema(FIELDS),
    optional=frozenset(f.name for f in FIELDS if f.nullable) | {f.name for f in ROLLOUT_FIELDS if f.nullable},
)
