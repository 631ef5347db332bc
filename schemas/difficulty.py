"""Difficulty: one prompt's pass rate under one policy (k samples, rule graders), for curation by pass rate."""

import pyarrow as pa

from schemas._base import TableSchema

FIELDS = [
    pa.field("problem_id", pa.string(), nullable=False),
    pa.field("prompt_hash", pa.string()),  # xxh3-64 of the problem prompt: joins across snapshots that re-id rows
    pa.field("domain", pa.string()),
    pa.field("difficulty", pa.int32()),  # the source's label (1..5), not the measured pass rate
    pa.field("language", pa.string()),
    pa.field("policy_model", pa.string()),
    pa.field("policy_revision", pa.string()),
    pa.field("k", pa.int32(), nullable=False),  # samples (or logged rollouts) per prompt
    pa.field("n_correct", pa.int32(), nullable=False),  # unverifiable is never correct
    pa.field("n_graded", pa.int32()),  # samples with a verdict (0: no gold)
    pa.field("pass_rate", pa.float64()),  # n_correct / k (stage 2: mean reward); null without gold
    pa.field("mean_completion_tokens", pa.float64()),
    pa.field("max_completion_tokens", pa.int32()),
    pa.field("truncated_share", pa.float64()),  # share of samples that hit max_tokens
    pa.field("graders", pa.string()),  # JSON {grader: version}
    pa.field("measured_on", pa.string()),  # the rollouts snapshot the rates come from
    pa.field("answer_source", pa.string()),  # gold | majority@k (no gold: rates are against the majority)
    pa.field("majority_answer", pa.string()),  # the answer most samples agree on (grader equivalence)
    pa.field("majority_agreement", pa.float64()),  # share of the k samples in that answer's cluster
]

SPEC = TableSchema(
    kind="difficulty",
    version="1.1.0",
    doc="one prompt's pass rate under one policy",
    schema=pa.schema(FIELDS),
    optional=frozenset(f.name for f in FIELDS if f.nullable),
)
