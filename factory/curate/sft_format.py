"""Turn prompt/completion columns into TRL's conversational ``messages`` — vectorized with Arrow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import message_type

R1_SPECIAL = "|special_token|"


def messages_array(roles_and_columns: list[tuple[str, pa.Array]], system: str | None = None) -> pa.Array:
    """A ``list<struct<role, content>>`` array with one conversation per row.

    >>> messages_array([("user", pa.array(["hi"])), ("assistant", pa.array(["hello"]))]).to_pylist()
    [[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'hello'}]]
    """
    turns = ([("system", pa.array([system] * len(roles_and_columns[0][1]), pa.string()))] if system else [])
    turns += roles_and_columns
    n, k = len(turns[0][1]), len(turns)
    # interleave turn columns row by row: row i owns items [i*k, (i+1)*k)
    contents = pa.concat_arrays([c.cast(pa.string()) for _, c in turns])
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
    contents = contents.take(pa.array(order))
    roles = pa.array(np.tile(np.array([r for r, _ in turns], dtype=object), n), pa.string())
    items = pa.StructArray.from_arrays([roles, contents], names=["role", "content"])
    offsets = pa.array(range(0, n * k + 1, k), pa.int32())
    return pa.ListArray.from_arrays(offsets, items).cast(message_type())


def sft_batch(batch: pa.RecordBatch | pa.Table, *, prompt: str = "prompt", completion: str = "completion",
              category: str | pa.Array, source: str | None = None, has_cot: bool | pa.Array = True,
              keep: tuple[str, ...] = ("domain", "difficulty", "language", "completion_tokens")) -> pa.RecordBatch:
    """An ``sft_samples`` batch from prompt/completion columns (``sample_id`` = problem_id/sample_idx)."""
    n = batch.num_rows
    if "sample_idx" in batch.schema.names:
        sample_id = pc.binary_join_element_wise(batch.column("problem_id"), batch.column("sample_idx").cast(pa.string()), "/")
    else:
        sample_id = batch.column("problem_id")
    cols: dict[str, Any] = {
        "sample_id": sample_id,
        "messages": messages_array([("user", batch.column(prompt)), ("assistant", batch.column(completion))]),
        "category": category if isinstance(category, (pa.Array, pa.ChunkedArray)) else pa.array([category] * n, pa.string()),
        "problem_id": batch.column("problem_id"),
        "source": pa.array([source] * n, pa.string()) if source or "source" not in batch.schema.names else batch.column("source"),
        "has_cot": has_cot if isinstance(has_cot, (pa.Array, pa.ChunkedArray)) else pa.array([has_cot] * n, pa.bool_()),
    }
    for k in keep:
        if k in batch.schema.names:
            cols[k] = batch.column(k)
    return pa.RecordBatch.from_pydict({k: (v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v) for k, v in cols.items()})


def to_readable(reasoning: str, summary: str) -> str:
    """R1's cold-start output format: ``|special_token|<reasoning>|special_token|<summary>``.

    >>> to_readable("think", "answer")
    '|special_token|think|special_token|answer'
    """
    return f"{R1_SPECIAL}{reasoning}{R1_SPECIAL}{summary}"
