"""Raw benchmark rows, read as their publishers ship them (JSONL, JSON, Parquet, CSV, or the Hub).

Converters need every column in the publisher's own names and types, so unlike
:class:`~factory.sources.FileSource` nothing is renamed or coerced here. Rows stream in small
batches: LiveCodeBench's ``test6.jsonl`` holds hundreds of MB of hidden tests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from factory.sources.base import SourceError, json_object, one_line
from factory.sources.files import resolve_files

Row = dict[str, Any]
_BATCH = 64


def read_rows(path: str | os.PathLike | list[str]) -> Iterator[tuple[str, int, Row]]:
    """Yield ``(file, 1-based row number, row)`` for every record of a file, folder, glob or list.

    Raises:
        SourceError: a missing/empty/unreadable file or a record that is not a JSON object.
    """
    paths = [str(p) for p in path] if isinstance(path, list) else str(path)
    for file, fmt in resolve_files(paths):
        reader = {"jsonl": _jsonl, "json": _json, "parquet": _parquet, "csv": _csv}[fmt]
        n = 0
        for n, row in enumerate(reader(file), start=1):
            yield str(file), n, row
        if n == 0:
            raise SourceError(f"{file}: file has no records")


def hub_rows(path: str, config: str | None, split: str, *, data_files: list[str] | None = None,
             revision: str | None = None) -> Iterator[tuple[str, int, Row]]:
    """Rows of a Hub dataset (through ``datasets``, so its cache and offline mode apply)."""
    from factory.sources.hf import HFSource

    src = HFSource(path, config, split=split, data_files=data_files, revision=revision)
    where = f"hf:{path}" + (f"/{config}" if config else "") + f"[{split}]"
    n = 0
    for table in src.dataset().with_format("arrow").iter(_BATCH):
        for row in table.to_pylist():
            n += 1
            yield where, n, row


def _jsonl(file: Path) -> Iterator[Row]:
    with open(file, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            obj = json_object(raw, f"{file} line {line_no}")
            if obj is not None:
                yield obj


def _json(file: Path) -> Iterator[Row]:
    with open(file, "rb") as f:
        head = f.read(4096).lstrip()
    if not head.startswith(b"["):
        yield from _jsonl(file)
        return
    try:
        rows = json.loads(file.read_bytes())
    except json.JSONDecodeError as e:
        raise SourceError(f"{file} line {e.lineno}: invalid JSON ({e.msg})") from None
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise SourceError(f"{file} row {i}: expected a JSON object, got {type(row).__name__}")
        yield row


def _parquet(file: Path) -> Iterator[Row]:
    try:
        pf = pq.ParquetFile(file)
        for batch in pf.iter_batches(batch_size=_BATCH):
            yield from batch.to_pylist()
    except (pa.ArrowInvalid, OSError) as e:
        raise SourceError(f"{file}: not a readable Parquet file ({one_line(e)})") from None


def _csv(file: Path) -> Iterator[Row]:
    """CSV cells stay text (a gold ``007`` is not the number 7); empty cells become None."""
    try:
        parse = pacsv.ParseOptions(newlines_in_values=True)  # GPQA questions span lines
        read = pacsv.ReadOptions(block_size=16 << 20)
        names = pacsv.open_csv(file, read_options=read, parse_options=parse).schema.names
        opts = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
        reader = pacsv.open_csv(file, read_options=read, parse_options=parse, convert_options=opts)
        for batch in reader:
            yield from batch.to_pylist()
    except (pa.ArrowInvalid, OSError) as e:
        raise SourceError(f"{file}: bad CSV ({one_line(e)})") from None
