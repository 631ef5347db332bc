"""Versioned Arrow schemas of every table kind, and the one validator writes go through.

Each table kind lives in its own module (``schemas/<kind>.py``) with a ``VERSION`` and a
``SCHEMA``. Schemas list the *required* columns; tables may carry extra columns (a scored
rollout is a rollout plus reward columns), which are kept as they are.
"""

from __future__ import annotations

from schemas import difficulty, judgements, problems, rejects, rl_prompts, rollouts, scored_rollouts, sft_samples
from schemas._base import SchemaError, TableSchema, conform, message_type

REGISTRY: dict[str, TableSchema] = {
    m.SPEC.kind: m.SPEC
    for m in (problems, rollouts, scored_rollouts, sft_samples, rl_prompts, judgements, rejects, difficulty)
}


def get(kind: str) -> TableSchema:
    """Return the schema of a table kind, with a clear error for an unknown one."""
    try:
        return REGISTRY[kind]
    except KeyError:
        raise SchemaError(f"unknown table kind {kind!r}; known kinds: {', '.join(sorted(REGISTRY))}") from None


__all__ = ["REGISTRY", "SchemaError", "TableSchema", "conform", "get", "message_type"]
