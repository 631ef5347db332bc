"""Problems: prompts with a verifiable gold — an ``answer`` (math) or ``tests`` (code, JSON)."""

import pyarrow as pa

from schemas._base import TableSchema

SPEC = TableSchema(
    kind="problems",
    version="1.0.0",
    doc="one verifiable prompt with its gold answer or tests",
    schema=pa.schema(
        [
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("prompt", pa.string(), nullable=False),
            pa.field("answer", pa.string()),  # math gold as datasets store it: "2\\pi", "3,2", "\\frac12"
            pa.field("tests", pa.string()),  # code gold: JSON {"style": "stdio"|"call", ...}
            pa.field("domain", pa.string()),  # math | code | logic | ...
            pa.field("language", pa.string()),  # ISO 639-1 of the prompt: en, zh, ...
            pa.field("source", pa.string()),
            pa.field("difficulty", pa.int32()),  # 1 (easy) .. 5 (hard); null when unknown
            pa.field("metadata", pa.string()),  # free JSON
        ]
    ),
    optional=frozenset({"answer", "tests", "domain", "language", "source", "difficulty", "metadata"}),
)
