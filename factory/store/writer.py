"""Sharded, resumable, validated Parquet writing into a snapshot's work folder.

A part file becomes visible (``data/<split>-NNNNN.parquet``) only by an atomic rename after
it is fully written and fsynced, so its existence *is* the completion marker: a restarted
write skips finished parts and never duplicates or loses rows. Memory stays bounded:
batches go straight to a ``ParquetWriter`` row group by row group.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

import schemas
from factory.errors import InputError
from factory.progress import RowProgress
from factory.store.durable import fsync_dir, fsync_file
from factory.store.snapshot import DATA, REJECTS

# a part is ``<split>-NNNNN.parquet`` while written, ``<split>-NNNNN-of-NNNNN.parquet`` once finalized;
# both count as finished, so a kill -9 in the middle of the final renames still resumes
PART = re.compile(r"^(?P<split>[A-Za-z0-9_]+)-(?P<part>\d{5})(?:-of-(?P<of>\d{5}))?\.parquet$")
DEFAULT_MAX_ROWS = 2_000_000
DEFAULT_MAX_BYTES = 512 * 2**20
ROW_GROUP_ROWS = 100_000


def _conform(batch: pa.RecordBatch, kind: str | None, where: str) -> pa.RecordBatch:
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else pa.RecordBatch.from_pylist([], schema=batch.schema)
    if kind is None:
        return batch
    try:
        return schemas.conform(batch, schemas.get(kind), where=where)
    except schemas.SchemaError as e:
        raise InputError(str(e)) from None


class _PartWriter:
    """One Parquet part, written to a hidden temp name and renamed into place on close."""

    def __init__(self, data_dir: Path, split: str, part: int, schema: pa.Schema):
        self.final = data_dir / f"{split}-{part:05d}.parquet"
        self.tmp = data_dir / f".tmp-{split}-{part:05d}.parquet"
        self.schema = schema
        self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd", write_statistics=True)
        self.rows = 0
        self.bytes = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.schema != self.schema:
            try:
                extra = set(batch.schema.names) - set(self.schema.names)
                if extra:
                    raise ValueError(f"unexpected columns {sorted(extra)}")
                arrays = [batch.column(f.name) if f.name in batch.schema.names else pa.nulls(batch.num_rows, f.type)
                          for f in self.schema]
                batch = pa.RecordBatch.from_arrays(arrays, names=self.schema.names).cast(self.schema)
            except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as e:
                raise InputError(
                    f"{self.final.name}: batch schema changed mid-split: got {batch.schema.names} "
                    f"({e}); expected {self.schema.names}"
                ) from None
        self.writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
        self.rows += batch.num_rows
        self.bytes += batch.nbytes

    def close(self) -> None:
        self.writer.close()
        fsync_file(self.tmp)
        os.rename(self.tmp, self.final)
        fsync_dir(self.final.parent)


class SplitWriter:
    """Writes the parts of a split into ``<work>/data``; knows which parts are already done."""

    def __init__(self, work: Path, split: str, kind: str | None, *, max_rows: int, max_bytes: int, quiet: bool):
        if not re.fullmatch(r"[A-Za-z0-9_]+", split):
            raise ValueError(f"bad split name {split!r}: use letters, digits and _")
        self.data_dir = work / DATA
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.split, self.kind = split, ("rejects" if split == REJECTS else kind)
        self.max_rows, self.max_bytes, self.quiet = max_rows, max_bytes, quiet
        for tmp in self.data_dir.glob(f".tmp-{split}-*.parquet"):
            tmp.unlink()  # a part that was being written when the process died

    def done_parts(self) -> dict[int, int]:
        """Finished part index -> row count (from the Parquet footer)."""
        done = {}
        for p in self.data_dir.iterdir():
            m = PART.match(p.name)
            if m and m.group("split") == self.split:
                done[int(m.group("part"))] = pq.read_metadata(p).num_rows
        return done

    def write_stream(self, batches: Iterable[pa.RecordBatch], total: int | None = None) -> int:
        """Write a deterministic stream, resuming after the rows of finished parts."""
        done = self.done_parts()
        if sorted(done) != list(range(len(done))):
            raise InputError(f"{self.data_dir}: parts of split {self.split!r} are not contiguous: {sorted(done)}")
        skip = sum(done.values())
        part, rows = len(done), skip
        writer: _PartWriter | None = None
        with RowProgress(f"write {self.split}", total=total, quiet=self.quiet, completed=skip) as bar:
            for batch in _skip_rows(batches, skip):
                batch = _conform(batch, self.kind, f"split {self.split!r} row {rows}")
                if batch.num_rows == 0 and writer is not None:
                    continue
                if writer is None:
                    writer = _PartWriter(self.data_dir, self.split, part, batch.schema)
                writer.write(batch)
                rows += batch.num_rows
                bar.advance(batch.num_rows)
                if writer.rows >= self.max_rows or writer.bytes >= self.max_bytes:
                    writer.close()
                    writer, part = None, part + 1
            if writer is not None:
                writer.close()
        return rows


def write_one_shard(data_dir: Path, split: str, kind: str | None, shard: int, batches: Iterable[pa.RecordBatch]) -> int:
    """Write one shard's batches as part ``shard`` of ``split`` (tmp + rename); returns its rows."""
    writer: _PartWriter | None = None
    for batch in batches:
        batch = _conform(batch, kind, f"split {split!r} shard {shard}")
        if writer is None:
            writer = _PartWriter(data_dir, split, shard, batch.schema)
        writer.write(batch)
    if writer is None:
        raise InputError(f"shard {shard} of split {split!r} produced no batch (yield an empty one)")
    writer.close()
    return writer.rows


def _skip_rows(batches: Iterable[pa.RecordBatch], skip: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if skip <= 0:
            yield batch
        elif batch.num_rows <= skip:
            skip -= batch.num_rows
        else:
            yield batch.slice(skip)
            skip = 0


def finalize_parts(work: Path) -> dict[str, dict]:
    """Rename parts to Hub names ``<split>-NNNNN-of-NNNNN.parquet``; return per-split rows/files/bytes."""
    data_dir = work / DATA
    parts: dict[str, list[tuple[int, Path]]] = {}
    for p in sorted(data_dir.iterdir()) if data_dir.exists() else []:
        m = PART.match(p.name)
        if m:
            parts.setdefault(m.group("split"), []).append((int(m.group("part")), p))
    splits = {}
    for split, items in sorted(parts.items()):
        items.sort()
        files, rows, nbytes = [], 0, 0
        for i, (_, p) in enumerate(items):
            final = data_dir / f"{split}-{i:05d}-of-{len(items):05d}.parquet"
            rows += pq.read_metadata(p).num_rows
            nbytes += p.stat().st_size
            if p != final:  # already renamed by a run killed in the middle of this loop
                os.rename(p, final)
            files.append(f"{DATA}/{final.name}")
        splits[split] = {"rows": rows, "files": files, "bytes": nbytes}
    if parts:
        fsync_dir(data_dir)
    return splits
