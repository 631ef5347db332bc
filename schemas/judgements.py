"""Judgements: an LLM judge's verdict on one rollout against the ground truth."""

import pyarrow as pa

from schemas._base import TableSchema

SPEC = TableSchema(
    kind="judgements",
    version="1.0.0",
    doc="one LLM-as-judge verdict on one rollout",
    schema=pa.schema(
        [
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("sample_idx", pa.int32(), nullable=False),
            pa.field("judge_model", pa.string(), nullable=False),
            pa.field("prompt_version", pa.string(), nullable=False),
            pa.field("verdict", pa.string()),  # correct | wrong | unparseable
            pa.field("correct", pa.bool_()),
            pa.field("raw", pa.string()),  # the judge's raw text, kept for audit
        ]
    ),
    optional=frozenset({"verdict", "correct", "raw"}),
)
