"""The schema type and the validator: one clear error naming the column and expected type."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


class SchemaError(ValueError):
    """A table does not match its schema; the message names the column and the type."""


def message_type() -> pa.DataType:
    """TRL's conversational format: a list of ``{"role", "content"}`` messages."""
    return pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


@dataclass(frozen=True)
class TableSchema:
    """A versioned Arrow schema of one table kind.

    Attributes:
        kind: table kind, e.g. ``"problems"``.
        version: bumped whenever a column is added, removed or changes type.
        schema: the required columns; nullable fields may be absent and are then added as nulls.
        doc: one line saying what a row is.
        alternatives: other types a column may have instead (``rl_prompts.prompt``: chat messages
            or the raw text a base model sees); such a column is kept as it is.
    """

    kind: str
    version: str
    schema: pa.Schema
    doc: str = ""
    optional: frozenset[str] = field(default_factory=frozenset)
    alternatives: dict[str, tuple[pa.DataType, ...]] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.schema if f.name not in self.optional]


def _castable(src: pa.DataType, dst: pa.DataType) -> bool:
    """Lossless casts we accept silently (int32 -> int64, large_string -> string, null -> any)."""
    if src == dst or pa.types.is_null(src):
        return True
    if pa.types.is_integer(src) and pa.types.is_integer(dst):
        return src.bit_width <= dst.bit_width or True  # checked by safe cast below
    if pa.types.is_integer(src) and pa.types.is_floating(dst):
        return True
    if pa.types.is_floating(src) and pa.types.is_floating(dst):
        return True
    if {str(src), str(dst)} <= {"string", "large_string"}:
        return True
    if pa.types.is_list(src) or pa.types.is_large_list(src):
        return (pa.types.is_list(dst) or pa.types.is_large_list(dst)) and _castable(src.value_type, dst.value_type)
    if pa.types.is_struct(src) and pa.types.is_struct(dst):
        names = {f.name: f.type for f in src}
        return all(f.name in names and _castable(names[f.name], f.type) for f in dst) and len(src) == len(dst)
    return False


def conform(data: pa.RecordBatch | pa.Table, spec: TableSchema, where: str = "") -> pa.RecordBatch | pa.Table:
    """Validate ``data`` against ``spec`` and return it with required columns cast and ordered first.

    Missing optional columns are added as nulls; extra columns are kept after the required ones.

    Raises:
        SchemaError: a required column is missing or has a type that cannot be cast safely.
    """
    at = f" in {where}" if where else ""
    names = data.schema.names
    arrays, fields = [], []
    for f in spec.schema:
        if f.name not in names:
            if f.name in spec.optional or f.nullable:
                arrays.append(pa.nulls(data.num_rows, f.type))
                fields.append(f)
                continue
            raise SchemaError(
                f"{spec.kind} table{at} is missing column {f.name!r} (expected {f.type}); "
                f"it has {', '.join(names) or 'no columns'}"
            )
        col = data.column(f.name)
        if col.type in spec.alternatives.get(f.name, ()):
            f = pa.field(f.name, col.type, nullable=f.nullable)
        elif col.type != f.type:
            if not _castable(col.type, f.type):
                raise SchemaError(f"{spec.kind} table{at}: column {f.name!r} has type {col.type}, expected {f.type}")
            try:
                col = col.cast(f.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise SchemaError(
                    f"{spec.kind} table{at}: column {f.name!r} cannot be cast from {col.type} to {f.type}: {e}"
                ) from None
        if not f.nullable and col.null_count:
            raise SchemaError(f"{spec.kind} table{at}: column {f.name!r} has {col.null_count} nulls but is not nullable")
        arrays.append(col)
        fields.append(f)
    for name in names:
        if name not in spec.schema.names:
            arrays.append(data.column(name))
            fields.append(data.schema.field(name))
    schema = pa.schema(fields, metadata={b"r1factory.kind": spec.kind.encode(), b"r1factory.schema_version": spec.version.encode()})
    if isinstance(data, pa.Table):
        return pa.Table.from_arrays(arrays, schema=schema)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
