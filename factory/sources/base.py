"""One interface for every problem source, so builders never care where problems come from.

A :class:`Source` yields record batches already conformed to the ``problems`` schema and
names its data with a content-derived :meth:`Source.fingerprint`, which enters snapshot ids:
same data, same id, so a rebuild is a cache hit. :class:`ColumnMapper` is the shared
rename/default/coerce step of the file and Hugging Face sources.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import xxhash

import schemas

PROBLEMS = schemas.get("problems")
_NESTED_TO_JSON = ("tests", "metadata")  # columns whose nested values are stored as JSON text


class SourceError(ValueError):
    """Bad source input; the one-line message names the file (and row/column where known)."""


def one_line(message: object) -> str:
    """Collapse an error message to a single line (pyarrow messages can span several)."""
    return " ".join(str(message).split())


def json_object(raw: bytes | str, where: str) -> dict | None:
    """One JSONL line as a dict (None for a blank line); bad JSON or a non-object is one clear error.

    >>> json_object(b'{"a": 1}', "f.jsonl line 1"), json_object(b"  ", "f.jsonl line 2")
    ({'a': 1}, None)
    """
    if not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise SourceError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(obj, dict):
        raise SourceError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    return obj


def digest(*parts: object) -> str:
    """A short stable hash of JSON-able parts (dict keys sorted), for fingerprints and ids.

    >>> digest("a", {"x": 1}) == digest("a", {"x": 1})
    True
    """
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return xxhash.xxh3_128_hexdigest(text.encode())


def hash_files(files: Iterable[tuple[str, str | os.PathLike]]) -> str:
    """xxh3-128 of ``(label, file)`` pairs: each label, size and content, streamed in 4 MiB blocks."""
    h = xxhash.xxh3_128()
    for label, file in files:
        h.update(f"{label}:{os.path.getsize(file)}:".encode())
        with open(file, "rb") as f:
            while block := f.read(1 << 22):
                h.update(block)
    return h.hexdigest()


class FileFingerprint:
    """A content fingerprint of one input file, for builders whose input is a file (``sources()``)."""

    def __init__(self, path: str | os.PathLike):
        self.path = path

    def fingerprint(self) -> str:
        return hash_files([("file", self.path)])


class Source(ABC):
    """Where problems come from: local files, a Hugging Face dataset, or a generator."""

    kind: str = ""

    @abstractmethod
    def fingerprint(self) -> str:
        """A content-derived string: same data (and settings) give the same string."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-able settings recorded in the snapshot manifest."""

    @abstractmethod
    def batches(self, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Yield problems batches of at most ``batch_size`` rows, in a fixed order, with bounded memory."""

    def to_table(self, batch_size: int = 65_536) -> pa.Table:
        """Materialize every batch into one table (small sources and tests)."""
        batches = list(self.batches(batch_size))
        if not batches:
            return PROBLEMS.schema.empty_table()
        return pa.Table.from_batches(batches)


def check_batch_size(batch_size: int) -> int:
    """Reject a non-positive batch size with a hint."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer, e.g. 65536")
    return batch_size


T = TypeVar("T")


def in_background(items: Iterable[T], name: str, depth: int = 2) -> Iterator[T]:
    """``items`` produced in a daemon thread, at most ``depth`` ahead of the consumer.

    Errors are re-raised in the consumer; closing the generator stops the producer at its next
    item (it is unblocked from a full queue), so an abandoned pipeline leaves no thread behind.
    """
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                out.put(item)
            out.put(_DONE)
        except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
            out.put(_Failed(e))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator upstream (another in_background) stops its own thread

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while (item := out.get()) is not _DONE:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                out.get(timeout=0.1)
            except queue.Empty:
                pass


_DONE = object()


@dataclass
class _Failed:
    error: BaseException


def rebatch(batches: Iterable[pa.RecordBatch], batch_size: int) -> Iterator[pa.RecordBatch]:
    """Re-chunk a stream of batches into batches of exactly ``batch_size`` rows (the last may be short)."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        held += batch.num_rows
        if held < batch_size:
            continue
        table, start = pa.Table.from_batches(pending), 0
        while held - start >= batch_size:
            yield _single(table.slice(start, batch_size))
            start += batch_size
        rest = table.slice(start)  # zero-copy: rows are copied once, when a full batch is combined
        pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield _single(pa.Table.from_batches(pending))


def _single(table: pa.Table) -> pa.RecordBatch:
    """One record batch holding all of ``table`` (copies only when it spans several chunks)."""
    return table.combine_chunks().to_batches()[0]


def problem_ids(sources: pa.Array, prompts: pa.Array) -> pa.Array:
    """Stable ids ``<source>-<xxh3_64(source NUL prompt)>`` for rows that have none.

    The same prompt under the same source name always gets the same id, whatever the file,
    row order or batch size; duplicate prompts therefore share an id (dedup is a later step).

    >>> problem_ids(pa.array(["gsm8k"]), pa.array(["1+1?"])).to_pylist()[0].startswith("gsm8k-")
    True
    """
    hexes = [
        f"{s}-{xxhash.xxh3_64_hexdigest((s + chr(0) + p).encode())}"
        for s, p in zip(sources.to_pylist(), prompts.to_pylist())
    ]
    return pa.array(hexes, pa.string())


class ColumnMapper:
    """Rename source columns to problems columns, fill defaults, coerce types, add ids.

    Args:
        mapping: ``{source column: problems column}``, e.g. ``{"problem": "prompt", "solution": "answer"}``.
        defaults: constant values for columns the data lacks (or has nulls in), e.g. ``{"domain": "math"}``.
        name: the source name, used for a missing ``source`` column and for generated problem ids.

    Columns that are neither problems columns nor mapped onto one are dropped.
    """

    def __init__(self, mapping: Mapping[str, str] | None, defaults: Mapping[str, Any] | None, name: str):
        self.mapping = dict(mapping or {})
        self.defaults = dict(defaults or {})
        self.name = name
        known = set(PROBLEMS.schema.names)
        for label, cols in (("mapping target", self.mapping.values()), ("defaults key", self.defaults)):
            bad = sorted(set(cols) - known)
            if bad:
                raise ValueError(f"{label} {bad} is not a problems column; use one of {sorted(known)}")

    def describe(self) -> dict[str, Any]:
        return {"mapping": self.mapping, "defaults": self.defaults, "name": self.name}

    def target(self, column: str) -> str | None:
        """The problems column a source column lands in, or None when it is dropped."""
        if column in self.mapping:
            return self.mapping[column]
        if column in PROBLEMS.schema.names and column not in self.mapping.values():
            return column
        return None

    def apply(self, batch: pa.RecordBatch, where: str, first_row: int = 1) -> pa.RecordBatch:
        """Return ``batch`` as a conformed problems batch.

        Args:
            batch: raw rows with source column names.
            where: the file or dataset named in errors.
            first_row: 1-based number of the batch's first row in ``where``, for error messages.

        Raises:
            SourceError: a mapped column is missing, a value has the wrong type, or a required value is null.
        """
        missing = [c for c in self.mapping if c not in batch.schema.names]
        if missing:
            raise SourceError(
                f"{where}: column {missing[0]!r} named in mapping is missing; columns are {batch.schema.names}"
            )
        cols: dict[str, pa.Array] = {}
        for name, col in zip(batch.schema.names, batch.columns):
            target = self.target(name)
            if target is not None:
                cols[target] = _coerce(target, col, where)
        n = batch.num_rows
        for key, value in self.defaults.items():
            kind = PROBLEMS.schema.field(key).type
            fill = pa.scalar(value, kind)
            cols[key] = pc.fill_null(cols[key], fill) if key in cols else pa.repeat(fill, n)
        name = pa.scalar(self.name, pa.string())
        cols["source"] = pc.fill_null(cols["source"], name) if "source" in cols else pa.repeat(name, n)
        _require(cols, "prompt", where, first_row, batch.schema.names)
        _require(cols, "source", where, first_row, batch.schema.names)
        if "problem_id" not in cols:
            cols["problem_id"] = problem_ids(cols["source"], cols["prompt"])
        _require(cols, "problem_id", where, first_row, batch.schema.names)
        try:
            return schemas.conform(pa.RecordBatch.from_pydict(cols), PROBLEMS, where=where)
        except schemas.SchemaError as e:
            raise SourceError(one_line(e)) from None


def _coerce(target: str, col: pa.Array, where: str) -> pa.Array:
    """Bring common near-miss types to the problems type: integer answers and ids, nested tests, JSON extension."""
    if isinstance(col.type, pa.ExtensionType):
        col = col.storage
    if target in ("answer", "problem_id") and pa.types.is_integer(col.type):
        return col.cast(pa.string())
    if target in _NESTED_TO_JSON and (pa.types.is_struct(col.type) or pa.types.is_list(col.type)
                                      or pa.types.is_large_list(col.type) or pa.types.is_map(col.type)):
        values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in col.to_pylist()]
        return pa.array(values, pa.string())
    if target == "difficulty" and pa.types.is_floating(col.type):
        try:
            return col.cast(pa.int32(), safe=True)
        except pa.ArrowInvalid:
            raise SourceError(f"{where}: column 'difficulty' has non-integer values; expected integers 1..5") from None
    return col


def _require(cols: dict[str, pa.Array], name: str, where: str, first_row: int, present: list[str]) -> None:
    """Fail on a missing required column or its first null, naming the row."""
    if name not in cols:
        raise SourceError(
            f"{where}: no {name!r} column after mapping (columns are {present}); "
            f"add it to mapping, e.g. mapping={{'question': {name!r}}}"
        )
    col = cols[name]
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_null(col.type)):
        raise SourceError(f"{where}: column {name!r} has type {col.type}, expected string")
    if col.null_count:
        row = pc.index(col.is_null(), True).as_py() + first_row
        raise SourceError(f"{where} row {row}: column {name!r} is null")
