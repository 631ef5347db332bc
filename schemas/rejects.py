"""Rejects: rows a filter dropped, kept with the ``reason`` so every filter is auditable."""

import pyarrow as pa

from schemas._base import TableSchema

SPEC = TableSchema(
    kind="rejects",
    version="1.0.0",
    doc="a row removed by a filter, with the reason",
    schema=pa.schema([pa.field("reason", pa.string(), nullable=False)]),
)
