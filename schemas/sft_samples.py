"""SFT samples in TRL's conversational format (``messages``)."""

import pyarrow as pa

from schemas._base import TableSchema, message_type

SPEC = TableSchema(
    kind="sft_samples",
    version="1.0.0",
    doc="one conversation for supervised fine-tuning",
    schema=pa.schema(
        [
            pa.field("sample_id", pa.string(), nullable=False),
            pa.field("messages", message_type(), nullable=False),
            pa.field("category", pa.string()),  # reasoning | writing | factual_qa | self_cognition | translation | ...
            pa.field("problem_id", pa.string()),
            pa.field("source", pa.string()),
            pa.field("has_cot", pa.bool_()),
        ]
    ),
    optional=frozenset({"category", "problem_id", "source", "has_cot"}),
)
