"""Local JSONL / JSON / Parquet / CSV problem files, streamed as Arrow batches with bounded memory."""

from __future__ import annotations

import glob
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from factory.sources.base import (
    PROBLEMS,
    ColumnMapper,
    Source,
    SourceError,
    check_batch_size,
    digest,
    hash_files,
    json_object,
    one_line,
    rebatch,
)

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
_NESTED_OK = ("tests", "metadata")


class FileSource(Source):
    """Problems from local files: one file, a glob, a folder (searched recursively), or a list of those.

    Args:
        path: a file, a glob (``data/*.jsonl``), a folder, or a list of them.
        mapping: ``{file column: problems column}``, e.g. ``{"problem": "prompt", "solution": "answer"}``.
        defaults: constant values for absent columns (and nulls), e.g. ``{"domain": "math", "source": "gsm8k"}``.
        name: source name for a missing ``source`` column and for generated ids; default: the file stem
            or folder name.
        format: force a format (``jsonl``, ``json``, ``parquet``, ``csv``) instead of using extensions.
        chunk_bytes: bytes of text parsed at once (bounds memory for JSONL and CSV).

    A missing ``problem_id`` becomes ``<source>-<xxh3_64(source NUL prompt)>``: stable across
    files, row order and batch sizes. Integer answers become strings; nested ``tests`` and
    ``metadata`` values become JSON text. Errors name the file and, where known, the row
    (1-based record number) or line.
    """

    kind = "files"

    def __init__(
        self,
        path: str | os.PathLike | Sequence[str | os.PathLike],
        mapping: Mapping[str, str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        name: str | None = None,
        format: str | None = None,
        chunk_bytes: int = 8 << 20,
    ):
        if format is not None and format not in set(FORMATS.values()):
            raise ValueError(f"format={format!r} is unknown; use one of {sorted(set(FORMATS.values()))}")
        self.path = [str(p) for p in path] if isinstance(path, (list, tuple)) else str(path)
        self.format = format
        self.chunk_bytes = chunk_bytes
        self.files = resolve_files(self.path, format)
        self.name = name or default_name(self.path if isinstance(self.path, str) else self.path[0])
        self.mapper = ColumnMapper(mapping, defaults, self.name)

    def fingerprint(self) -> str:
        return digest("files", hash_files((fmt, f) for f, fmt in self.files), self.mapper.describe())

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "files": [str(f) for f, _ in self.files],
                "format": self.format, **self.mapper.describe()}

    def batches(self, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        check_batch_size(batch_size)
        return rebatch(self._mapped(), batch_size)

    def _mapped(self) -> Iterator[pa.RecordBatch]:
        for file, fmt in self.files:
            where, row = str(file), 1
            for raw in _READERS[fmt](file, self.mapper, self.chunk_bytes):
                yield self.mapper.apply(raw, where, row)
                row += raw.num_rows
            if row == 1 and fmt != "parquet":
                raise SourceError(f"{where}: file has no records")


def resolve_files(path: str | list[str], format: str | None = None) -> list[tuple[Path, str]]:
    """Expand a file, glob, folder or list of them into sorted ``(file, format)`` pairs.

    Raises:
        SourceError: nothing matches, a file is missing or empty, or an extension is unknown.
    """
    out: list[tuple[Path, str]] = []
    for p in [path] if isinstance(path, str) else path:
        if any(ch in p for ch in "*?["):
            found = sorted(m for m in glob.glob(p, recursive=True) if os.path.isfile(m))
            if not found:
                raise SourceError(f"{p}: no files match this pattern")
        elif os.path.isdir(p):
            found = sorted(str(f) for f in Path(p).rglob("*") if f.is_file() and _listed(f, format))
            if not found:
                raise SourceError(f"{p}: folder has no {', '.join(FORMATS)} files")
        elif os.path.isfile(p):
            found = [p]
        else:
            raise SourceError(f"{p}: no such file or folder")
        out.extend((Path(f), _format_of(Path(f), format)) for f in found)
    for file, _ in out:
        if file.stat().st_size == 0:
            raise SourceError(f"{file}: file is empty")
    return out


def default_name(path: str) -> str:
    """The source name implied by a path: file stem, folder name, or last glob-free folder."""
    p = Path(path)
    while any(ch in p.name for ch in "*?[") and p.parent != p:
        p = p.parent
    return (p.name if p.is_dir() or p.suffix == "" else p.name.split(".")[0]) or "files"


def _listed(file: Path, format: str | None) -> bool:
    hidden = any(part.startswith((".", "_")) for part in file.parts[-1:])
    return not hidden and (format is not None or file.suffix.lower() in FORMATS)


def _format_of(file: Path, format: str | None) -> str:
    if format is not None:
        return format
    fmt = FORMATS.get(file.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        raise SourceError(f"{file}: unknown extension {file.suffix!r}; use one of {known} or pass format=...")
    return fmt


# -- readers: each yields raw batches with the file's own column names --------------------------


def _read_parquet(file: Path, mapper: ColumnMapper, chunk_bytes: int) -> Iterator[pa.RecordBatch]:
    try:
        pf = pq.ParquetFile(file)
    except (pa.ArrowInvalid, OSError) as e:
        raise SourceError(f"{file}: not a readable Parquet file ({one_line(e)})") from None
    names = pf.schema_arrow.names
    missing = [c for c in mapper.mapping if c not in names]
    if missing:
        raise SourceError(f"{file}: column {missing[0]!r} named in mapping is missing; columns are {names}")
    keep = [c for c in names if mapper.target(c) is not None] or names[:1]
    try:
        yield from pf.iter_batches(batch_size=65_536, columns=keep)
    except (pa.ArrowInvalid, OSError) as e:
        raise SourceError(f"{file}: corrupt Parquet data ({one_line(e)})") from None


def _read_csv(file: Path, mapper: ColumnMapper, chunk_bytes: int) -> Iterator[pa.RecordBatch]:
    # Keep text columns as text: "007" must not become 7 when it is a gold answer.
    text = {c for c in PROBLEMS.schema.names if PROBLEMS.schema.field(c).type == pa.string()}
    column_types = {c: pa.string() for c in [*mapper.mapping, *text] if mapper.target(c) in text}
    try:
        reader = pacsv.open_csv(
            file,
            read_options=pacsv.ReadOptions(block_size=chunk_bytes),
            convert_options=pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=True),
        )
        yield from reader
    except (pa.ArrowInvalid, OSError) as e:
        raise SourceError(f"{file}: bad CSV ({one_line(e)})") from None


def _read_jsonl(file: Path, mapper: ColumnMapper, chunk_bytes: int) -> Iterator[pa.RecordBatch]:
    line, row = 1, 1
    with open(file, "rb") as f:
        carry = b""
        while True:
            block = f.read(chunk_bytes)
            data = carry + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            chunk, carry = data[:cut], data[cut:]
            if chunk.strip():
                batch = _parse_jsonl_chunk(chunk, file, line, row, mapper)
                row += batch.num_rows
                yield batch
            line += chunk.count(b"\n")
            if not block:
                return


def _read_json(file: Path, mapper: ColumnMapper, chunk_bytes: int) -> Iterator[pa.RecordBatch]:
    with open(file, "rb") as f:
        head = f.read(4096).lstrip()
    if not head.startswith(b"["):
        yield from _read_jsonl(file, mapper, chunk_bytes)
        return
    try:  # a JSON array cannot be streamed without a parser dependency; it is read whole
        rows = json.loads(file.read_bytes())
    except json.JSONDecodeError as e:
        raise SourceError(f"{file} line {e.lineno}: invalid JSON ({e.msg})") from None
    for i in range(0, len(rows), 65_536):
        part = rows[i : i + 65_536]
        bad = next((j for j, r in enumerate(part) if not isinstance(r, dict)), None)
        if bad is not None:
            raise SourceError(f"{file} row {i + bad + 1}: expected a JSON object, got {type(part[bad]).__name__}")
        yield _rows_to_batch(part, mapper, str(file), i + 1)


_READERS = {"parquet": _read_parquet, "csv": _read_csv, "jsonl": _read_jsonl, "json": _read_json}


def _parse_jsonl_chunk(chunk: bytes, file: Path, line: int, row: int, mapper: ColumnMapper) -> pa.RecordBatch:
    """Parse with pyarrow (fast); fall back to ``json`` for exact errors, mixed types or nested tests."""
    try:
        table = pajson.read_json(io.BytesIO(chunk))
        nested = any(
            mapper.target(f.name) in _NESTED_OK and pa.types.is_nested(f.type) for f in table.schema
        )
        if not nested:
            return table.combine_chunks().to_batches()[0] if table.num_rows else pa.record_batch([])
    except pa.ArrowInvalid:
        pass  # the slow path below says exactly which line is wrong, or copes with mixed types
    rows = []
    for i, raw in enumerate(chunk.split(b"\n")):
        obj = json_object(raw, f"{file} line {line + i}")
        if obj is not None:
            rows.append(obj)
    return _rows_to_batch(rows, mapper, str(file), row)


def _rows_to_batch(rows: list[dict], mapper: ColumnMapper, where: str, first_row: int) -> pa.RecordBatch:
    """Python rows to a batch whose kept columns already have problems types (nested -> JSON text)."""
    names = dict.fromkeys(k for r in rows for k in r)
    cols = {}
    for name in names:
        target = mapper.target(name)
        values = [r.get(name) for r in rows]
        if target is None:
            cols[name] = pa.nulls(len(rows))
        else:
            cols[name] = _python_column(values, name, target, where, first_row)
    if not cols:
        return pa.RecordBatch.from_arrays([pa.nulls(len(rows))], names=["_"])
    return pa.RecordBatch.from_pydict(cols)


def _python_column(values: list, name: str, target: str, where: str, first_row: int) -> pa.Array:
    kind = PROBLEMS.schema.field(target).type
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(v)
        elif kind == pa.string() and isinstance(v, str):
            out.append(v)
        elif kind == pa.string() and target in _NESTED_OK and isinstance(v, (dict, list)):
            out.append(json.dumps(v, ensure_ascii=False))
        elif (kind == pa.string() and target in ("answer", "problem_id") or kind == pa.int32()) and type(v) is int:
            out.append(str(v) if kind == pa.string() else v)
        else:
            expected = "an integer" if kind == pa.int32() else "a string"
            got = type(v).__name__
            raise SourceError(f"{where} row {first_row + i}: column {name!r} has a {got} value, expected {expected}")
    return pa.array(out, kind)
