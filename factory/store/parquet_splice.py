"""Add columns to a Parquet file without re-encoding the columns it already has.

Scoring a rollouts file adds a dozen small columns (verdicts, rewards) beside a completion
column of ~750 MB per 200k rows. Re-encoding that text into the output was the scoring CLI's
slowest stage: zstd alone took 2.1-2.5 s of a ~6 s run. A column chunk is self-contained
(its pages, their headers, codec and statistics), so the output here is assembled instead:
each source row group's chunks are copied byte for byte, the new columns of the same rows are
encoded by pyarrow into chunks of their own, and a footer is written that lists both, with the
offsets moved. Page indexes and bloom filters, which live outside the chunks, are copied too.
The carried columns therefore keep the source's codec and encodings exactly.

``splice_problem`` says why a file cannot be spliced (encryption, columns in other files, a
legacy writer whose chunk sizes cannot be trusted); the caller then writes the usual way.
The footer is handled with ``thrift_compact``, so every field not moved passes through as is.
"""

from __future__ import annotations

import base64
import io
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from factory.errors import InputError
from factory.store import thrift_compact as tc

MAGIC = b"PAR1"
ARROW_SCHEMA = b"ARROW:schema"

# FileMetaData, RowGroup, ColumnChunk, ColumnMetaData and SchemaElement field ids (parquet.thrift)
F_VERSION, F_SCHEMA, F_NUM_ROWS, F_ROW_GROUPS, F_KV, F_CREATED_BY, F_COLUMN_ORDERS, F_ENCRYPTION = 1, 2, 3, 4, 5, 6, 7, 8
RG_COLUMNS, RG_BYTES, RG_ROWS, RG_SORTING, RG_OFFSET, RG_COMPRESSED, RG_ORDINAL = 1, 2, 3, 4, 5, 6, 7
CC_PATH, CC_OFFSET, CC_META, CC_CRYPTO, CC_ENCRYPTED_META = 1, 2, 3, 8, 9
CC_BLOBS = ((4, 5), (6, 7))  # (offset, length): offset index, column index
CM_UNCOMPRESSED, CM_COMPRESSED, CM_DATA, CM_INDEX, CM_DICT, CM_BLOOM, CM_BLOOM_LEN = 6, 7, 9, 10, 11, 14, 15
SE_NAME, SE_CHILDREN = 4, 5
KV_KEY, KV_VALUE = 1, 2
_COPY = 8 * 2**20


def read_footer(fh: BinaryIO) -> tc.Struct:
    """The FileMetaData of an open Parquet file (plaintext footer)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size < 12:
        raise tc.ThriftError("too small for a Parquet file")
    fh.seek(size - 8)
    tail = fh.read(8)
    n = struct.unpack("<i", tail[:4])[0]
    if tail[4:] != MAGIC or not 0 < n <= size - 12:
        raise tc.ThriftError("no plaintext Parquet footer")
    fh.seek(size - 8 - n)
    return tc.decode(fh.read(n), trailing=True)  # a signed plaintext footer: its signature follows


_OLD_PARQUET_MR = re.compile(r"parquet-mr version (\d+)\.(\d+)\.(\d+)")


def splice_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot have columns spliced onto it, or None when it can."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            if b"PARE" in (head, fh.read(4)):
                return "encrypted"
            meta = read_footer(fh)
    except (OSError, tc.ThriftError) as e:
        return f"unreadable footer ({e})"
    if head != MAGIC or meta.get(F_ENCRYPTION) is not None:
        return "encrypted"
    groups = meta.get(F_ROW_GROUPS)
    if groups is None or not meta.get(F_NUM_ROWS):
        return "no rows"
    created = (meta.get(F_CREATED_BY) or b"").decode("utf-8", "replace")
    m = _OLD_PARQUET_MR.match(created)
    if created.startswith("parquet-mr") and (m is None or tuple(map(int, m.groups())) < (1, 2, 9)):
        return f"written by {created!r}, whose chunk sizes are unreliable (PARQUET-816)"
    for rg in groups.items:
        for cc in rg.get(RG_COLUMNS).items:
            if cc.get(CC_PATH) is not None:
                return "column chunks in other files"
            if cc.get(CC_CRYPTO) is not None or cc.get(CC_ENCRYPTED_META) is not None or cc.get(CC_META) is None:
                return "encrypted columns"
    return None


def _span(meta: tc.Struct) -> tuple[int, int]:
    """(start, length) of a chunk's pages, as Arrow's reader computes it."""
    start = meta.get(CM_DATA)
    dictionary = meta.get(CM_DICT)
    if dictionary is not None and 0 < dictionary < start:
        start = dictionary
    index = meta.get(CM_INDEX)
    if index is not None and 0 < index < start:
        start = index
    return start, meta.get(CM_COMPRESSED)


def _moved(cc: tc.Struct, delta: int) -> tc.Struct:
    """A copy of column chunk ``cc`` with its page offsets moved by ``delta`` (blobs detached)."""
    meta = tc.Struct(dict(cc.get(CC_META).fields))
    for fid in (CM_DATA, CM_INDEX, CM_DICT):
        v = meta.get(fid)
        if v is not None and v > 0:
            meta.set(fid, tc.I64, v + delta)
    out = tc.Struct(dict(cc.fields))
    out.set(CC_META, tc.STRUCT, meta)
    offset = cc.get(CC_OFFSET)
    if offset:
        out.set(CC_OFFSET, tc.I64, offset + delta)
    return out


def _tree(schema: list[tc.Struct]) -> list[tuple[str, list[tc.Struct], int]]:
    """Top-level fields of a flattened Parquet schema: (name, its elements, its leaf count)."""
    out, i = [], 1
    for _ in range(schema[0].get(SE_CHILDREN, 0)):
        start, pending, leaves = i, 1, 0
        while pending:
            children = schema[i].get(SE_CHILDREN)
            pending += (children or 0) - 1
            leaves += not children
            i += 1
        out.append((schema[start].get(SE_NAME).decode(), schema[start:i], leaves))
    return out


@dataclass
class _Chunk:
    src: BinaryIO
    cc: tc.Struct


class ColumnAppender:
    """Writes SOURCE's rows with extra columns to ``out``, one source row group at a time.

    Columns of the source named like a new column are replaced (dropped from the copy), as
    ``score_batch`` replaces them. Call ``write_group`` with the new columns of each source row
    group in turn (``group_rows`` gives their sizes), then ``close``."""

    def __init__(self, source: str | Path, out: BinaryIO, new_schema: pa.Schema, compression: str = "zstd"):
        """``new_schema``: the added columns (and so the names that replace source columns)."""
        problem = splice_problem(source)
        if problem:
            raise InputError(f"{source}: cannot add columns in place: {problem}")
        self.source = open(source, "rb")
        self.meta = read_footer(self.source)
        self.out, self.new_schema, self.compression = out, new_schema, compression
        fields = _tree(self.meta.get(F_SCHEMA).items)
        new = set(new_schema.names)
        self.keep_fields = [(name, elems) for name, elems, _ in fields if name not in new]
        self.keep_leaves, leaf = [], 0
        for name, _, leaves in fields:
            if name not in new:
                self.keep_leaves.extend(range(leaf, leaf + leaves))
            leaf += leaves
        self.arrow_schema = pq.read_schema(source)
        self.groups = self.meta.get(F_ROW_GROUPS).items
        self.group_rows = [rg.get(RG_ROWS) for rg in self.groups]
        self.row_groups: list[tc.Struct] = []
        self.new_elements: list[tc.Struct] | None = None
        self.new_orders: list[tc.Struct] = []
        self.blobs: list[tuple[BinaryIO, tc.Struct, tc.Struct, int, int]] = []  # src, old owner, new owner, fids
        self.started: tuple[int, list[tc.Struct]] | None = None  # a group whose carried chunks are out
        self.out.write(MAGIC)
        self.pos = len(MAGIC)

    def start_group(self) -> None:
        """Copy the next source row group's carried chunks. Their bytes do not depend on the new
        columns, so ``append_columns`` copies them while those are still being computed."""
        i = len(self.row_groups)
        if self.started is not None or i >= len(self.groups):
            return
        src = self.groups[i].get(RG_COLUMNS).items
        self.started = (self.pos, self._place([_Chunk(self.source, src[j]) for j in self.keep_leaves]))

    def write_group(self, columns: pa.Table) -> None:
        """The next source row group, with ``columns`` (exactly its rows, ``new_schema``) beside it."""
        i = len(self.row_groups)
        if i >= len(self.groups):
            raise InputError(f"{self.source.name}: more rows than the source's {sum(self.group_rows):,}")
        if columns.num_rows != self.group_rows[i]:
            raise ValueError(f"row group {i} has {self.group_rows[i]} rows, got {columns.num_rows}")
        self.start_group()
        start, placed = self.started
        self.started = None
        extra, meta = self._encode(columns.cast(self.new_schema))
        placed += self._place([_Chunk(extra, cc) for cc in meta.get(F_ROW_GROUPS).items[0].get(RG_COLUMNS).items])
        metas = [cc.get(CC_META) for cc in placed]
        rg = tc.Struct()
        rg.set(RG_COLUMNS, tc.LIST, tc.TList(tc.STRUCT, placed))
        rg.set(RG_BYTES, tc.I64, sum(m.get(CM_UNCOMPRESSED) for m in metas))
        rg.set(RG_ROWS, tc.I64, columns.num_rows)
        rg.set(RG_OFFSET, tc.I64, start)
        rg.set(RG_COMPRESSED, tc.I64, sum(m.get(CM_COMPRESSED) for m in metas))
        rg.set(RG_ORDINAL, tc.I16, i)
        self.row_groups.append(rg)

    def _place(self, chunks: list[_Chunk]) -> list[tc.Struct]:
        """Copy ``chunks`` to the end of the output; their metadata, moved there."""
        placed = []
        for chunk in chunks:
            begin, length = _span(chunk.cc.get(CC_META))
            self._copy(chunk.src, begin, length)
            moved = _moved(chunk.cc, self.pos - begin)
            self._keep_blobs(chunk.src, chunk.cc, moved)
            placed.append(moved)
            self.pos += length
        return placed

    def _encode(self, table: pa.Table) -> tuple[io.BytesIO, tc.Struct]:
        """``table`` as a one-row-group Parquet file in memory, and its footer (whose schema
        elements and column orders the output's footer takes, once)."""
        buf = io.BytesIO()
        with pq.ParquetWriter(buf, self.new_schema, compression=self.compression, write_statistics=True) as w:
            w.write_table(table, row_group_size=max(1, table.num_rows))
        meta = read_footer(buf)
        if self.new_elements is None:
            self.new_elements = meta.get(F_SCHEMA).items[1:]
            orders = meta.get(F_COLUMN_ORDERS)
            self.new_orders = orders.items if orders is not None else []
        return buf, meta

    def _keep_blobs(self, src: BinaryIO, cc: tc.Struct, moved: tc.Struct) -> None:
        """Page indexes and the bloom filter live outside the chunk: queued for ``close`` (or dropped
        where a writer recorded no length, so they cannot be copied)."""
        for off, length in CC_BLOBS:
            if cc.get(off) is not None:
                if cc.get(length):
                    self.blobs.append((src, cc, moved, off, length))
                else:
                    moved.drop(off, length)
        meta = moved.get(CC_META)
        if meta.get(CM_BLOOM) is not None:
            if meta.get(CM_BLOOM_LEN):
                self.blobs.append((src, cc.get(CC_META), meta, CM_BLOOM, CM_BLOOM_LEN))
            else:
                meta.drop(CM_BLOOM, CM_BLOOM_LEN)

    def _copy(self, src: BinaryIO, begin: int, length: int) -> None:
        self.out.flush()
        _copy_bytes(src, self.out, begin, length)

    def close(self) -> None:
        """Copy the queued blobs and write the footer (the file is complete only after this)."""
        try:
            if len(self.row_groups) != len(self.groups):
                raise InputError(f"{self.source.name}: got rows for {len(self.row_groups)} of "
                                 f"{len(self.groups)} row groups")
            for src, old, new, off, length in self.blobs:
                self._copy(src, old.get(off), old.get(length))
                new.set(off, tc.I64, self.pos)
                self.pos += old.get(length)
            self.out.write(self._footer())
        finally:
            self.source.close()

    def _footer(self) -> bytes:
        meta = self.meta
        root = tc.Struct(dict(meta.get(F_SCHEMA).items[0].fields))
        root.set(SE_CHILDREN, tc.I32, len(self.keep_fields) + len(self.new_schema))
        elements = [root] + [e for _, elems in self.keep_fields for e in elems] + list(self.new_elements or [])
        out = tc.Struct()
        out.set(F_VERSION, tc.I32, meta.get(F_VERSION, 1))
        out.set(F_SCHEMA, tc.LIST, tc.TList(tc.STRUCT, elements))
        out.set(F_NUM_ROWS, tc.I64, sum(self.group_rows))
        out.set(F_ROW_GROUPS, tc.LIST, tc.TList(tc.STRUCT, self.row_groups))
        kept = [f for f in self.arrow_schema if f.name not in set(self.new_schema.names)]
        merged = pa.schema(kept + list(self.new_schema), metadata=self.arrow_schema.metadata)
        kv = [e for e in (meta.get(F_KV).items if meta.get(F_KV) else []) if e.get(KV_KEY) != ARROW_SCHEMA]
        entry = tc.Struct()
        entry.set(KV_KEY, tc.BINARY, ARROW_SCHEMA)
        entry.set(KV_VALUE, tc.BINARY, base64.b64encode(merged.serialize().to_pybytes()))
        out.set(F_KV, tc.LIST, tc.TList(tc.STRUCT, kv + [entry]))
        if meta.get(F_CREATED_BY) is not None:  # readers key bug workarounds on the carried chunks' writer
            out.set(F_CREATED_BY, tc.BINARY, meta.get(F_CREATED_BY))
        orders = meta.get(F_COLUMN_ORDERS)
        if orders is not None and self.new_orders:
            out.set(F_COLUMN_ORDERS, tc.LIST,
                    tc.TList(tc.STRUCT, [orders.items[j] for j in self.keep_leaves] + self.new_orders))
        body = tc.encode(out)
        return body + struct.pack("<i", len(body)) + MAGIC


def _copy_bytes(src: BinaryIO, dst: BinaryIO, begin: int, length: int) -> None:
    """``length`` bytes of ``src`` from ``begin`` to the end of ``dst``: in the kernel where both
    are real files (``copy_file_range``, no pass through Python's buffers), else by reads."""
    done = 0
    try:
        if not isinstance(src, io.BufferedReader) or not hasattr(os, "copy_file_range"):
            raise io.UnsupportedOperation
        while done < length:
            n = os.copy_file_range(src.fileno(), dst.fileno(), length - done, begin + done)
            if n == 0:
                break
            done += n
        dst.seek(0, os.SEEK_END)
    except (OSError, io.UnsupportedOperation):
        if done:
            raise
        src.seek(begin)
        while done < length:
            data = src.read(min(_COPY, length - done))
            if not data:
                break
            dst.write(data)
            done += len(data)
    if done < length:
        raise InputError(f"{getattr(src, 'name', 'source')}: a column chunk runs past the end of the file")


def append_columns(source: str | Path, dest: str | Path, columns: Iterable[pa.RecordBatch]) -> int:
    """Write ``dest`` = ``source`` + the streamed new ``columns`` (row-aligned with the source),
    via a temp name and a rename; returns the rows written. The stream is re-cut to the
    source's row groups, so memory holds one group's new columns at most."""
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.tmp")
    dest.parent.mkdir(parents=True, exist_ok=True)
    appender = None
    pending: list[pa.RecordBatch] = []
    have = rows = 0
    try:
        with open(tmp, "wb") as fh:
            for batch in columns:
                if appender is None:
                    appender = ColumnAppender(source, fh, batch.schema)
                    appender.start_group()
                pending.append(batch)
                have += batch.num_rows
                while len(appender.row_groups) < len(appender.group_rows) and \
                        have >= appender.group_rows[len(appender.row_groups)]:
                    need = appender.group_rows[len(appender.row_groups)]
                    table = pa.Table.from_batches(pending, schema=appender.new_schema)
                    appender.write_group(table.slice(0, need))
                    appender.start_group()  # the next group's chunks go out while its rows are scored
                    rest = table.slice(need)
                    pending, have, rows = rest.to_batches(), have - need, rows + need
            if appender is None:
                raise InputError(f"{source}: no rows to add columns to")
            total = sum(appender.group_rows)
            if rows + have != total:
                raise InputError(f"{source}: got new columns for {rows + have:,} rows, not its {total:,}")
            appender.close()
        os.replace(tmp, dest)
    except BaseException:
        if appender is not None:
            appender.source.close()
        tmp.unlink(missing_ok=True)
        raise
    return rows
