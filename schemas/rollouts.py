"""Rollouts: one sampled completion of one problem, with how it was sampled."""

import pyarrow as pa

from schemas._base import TableSchema

FIELDS = [
    pa.field("problem_id", pa.string(), nullable=False),
    pa.field("sample_idx", pa.int32(), nullable=False),
    pa.field("prompt", pa.string()),
    pa.field("completion", pa.string(), nullable=False),
    pa.field("reasoning", pa.string()),  # separate reasoning text when the server returns it
    pa.field("model", pa.string()),
    pa.field("backend", pa.string()),
    pa.field("template", pa.string()),  # prompt template name@version
    pa.field("temperature", pa.float32()),
    pa.field("top_p", pa.float32()),
    pa.field("max_tokens", pa.int32()),
    pa.field("seed", pa.int64()),
    pa.field("finish_reason", pa.string()),  # stop | length | error
    pa.field("prompt_tokens", pa.int32()),
    pa.field("completion_tokens", pa.int32()),
    pa.field("latency_s", pa.float32()),
]

SPEC = TableSchema(
    kind="rollouts",
    version="1.0.0",
    doc="one sampled completion of one problem",
    schema=pa.schema(FIELDS),
    optional=frozenset(f.name for f in FIELDS if f.nullable),
)
