"""Sharded, resumable, validated Parquet writing into a snapshot's work folder.

A part file becomes visible (``data/<split>-NNNNN.parquet``) only by an atomic rename after
it is fully written and fsynced (on an object store: by its one upload completing), so its
existence *is* the completion marker: a restarted
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
from factory.store.durable import fsync_dir
from factory.store.fsio import parquet_rows
from factory.store.parts import LocalParts, RemoteParts
from factory.store.snapshot import DATA, REJECTS

# a part is ``<split>-NNNNN.parquet`` while written, ``<split>-NNNNN-of-NNNNN.parquet`` once finalized;
# both count as finished, so a kill -9 in the middle of the final renames still resumes
PART = re.compile(r"^(?P<split>[A-Za-z0-9_]+)-(?P<part>\d{5})(?:-of-(?P<of>\d{5}))?\.parquet$")
DEFAULT_MAX_ROWS = 2_000_000
DEFAULT_MAX_BYTES = 512 * 2**20
ROW_GROUP_ROWS = 100_000
ROW_GROUP_BYTES = 32 * 2**20
"""Row groups hold at most this much Arrow data. A reader decodes whole groups: an 80k-row group
of R1 rollouts (~200 MB) made every 50k-row scoring shard decode ~130k rows, a third of the
shard's time; 32 MB (~13k rollouts) bounds that waste and a decoded group's memory."""


def _conform(batch: pa.RecordBatch, kind: str | None, where: str) -> pa.RecordBatch:
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else pa.RecordBatch.from_pylist([], schema=batch.schema)
    if kind is None:
        return batch
    try:
        return schemas.conform(batch, schemas.get(kind), where=where)
    except schemas.SchemaError as e:
        raise InputError(str(e)) from None


def _group_rows(batch: pa.RecordBatch) -> int:
    """Rows per row group for this batch: ``ROW_GROUP_ROWS``, fewer where rows are large."""
    if batch.num_rows == 0 or batch.nbytes <= ROW_GROUP_BYTES:
        return ROW_GROUP_ROWS
    return max(1, min(ROW_GROUP_ROWS, ROW_GROUP_BYTES * batch.num_rows // batch.nbytes))


class _PartWriter:
    """One Parquet part: a hidden temp name renamed into place (local) or one upload (object store)."""

    def __init__(self, dest: LocalParts | RemoteParts, split: str, part: int, schema: pa.Schema):
        self.name = f"{split}-{part:05d}.parquet"
        self.sink = dest.open(self.name)
        self.schema = schema
        self.writer = pq.ParquetWriter(self.sink.target, schema, compression="zstd", write_statistics=True)
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
                    f"{self.name}: batch schema changed mid-split: got {batch.schema.names} "
                    f"({e}); expected {self.schema.names}"
                ) from None
        self.writer.write_batch(batch, row_group_size=_group_rows(batch))
        self.rows += batch.num_rows
        self.bytes += batch.nbytes

    def close(self) -> None:
        self.writer.close()
        self.sink.publish()

    def abort(self) -> None:
        """Drop the part (an exception, not a kill: a kill leaves a temp name or no object at all)."""
        try:
            self.writer.close()
        finally:
            self.sink.abort()


class SplitWriter:
    """Writes the parts of a split into ``<work>/data`` (or an object-store prefix); knows which are done."""

    def __init__(self, work: Path | LocalParts | RemoteParts, split: str, kind: str | None, *, max_rows: int,
                 max_bytes: int, quiet: bool):
        if not re.fullmatch(r"[A-Za-z0-9_]+", split):
            raise ValueError(f"bad split name {split!r}: use letters, digits and _")
        self.dest = work if isinstance(work, (LocalParts, RemoteParts)) else LocalParts(Path(work) / DATA)
        self.dest.ensure()
        self.split, self.kind = split, ("rejects" if split == REJECTS else kind)
        self.max_rows, self.max_bytes, self.quiet = max_rows, max_bytes, quiet
        self.dest.clean_temps(split)

    @property
    def data_dir(self) -> Path:
        """The local folder of the parts (local stores only)."""
        return self.dest.path

    def done_parts(self) -> dict[int, int]:
        """Finished part index -> row count (from the Parquet footer; an unreadable part is dropped)."""
        done = {}
        for name in self.dest.names():
            m = PART.match(name)
            if m and m.group("split") == self.split:
                try:
                    done[int(m.group("part"))] = parquet_rows(self.dest.location(name))
                except (OSError, pa.ArrowInvalid):  # e.g. an upload of another filesystem cut short
                    self.dest.remove(name)
        return done

    def write_stream(self, batches: Iterable[pa.RecordBatch], total: int | None = None) -> int:
        """Write a deterministic stream, resuming after the rows of finished parts."""
        done = self.done_parts()
        if sorted(done) != list(range(len(done))):
            raise InputError(f"{self.dest}: parts of split {self.split!r} are not contiguous: {sorted(done)}")
        skip = sum(done.values())
        part, rows = len(done), skip
        writer: _PartWriter | None = None
        with RowProgress(f"write {self.split}", total=total, quiet=self.quiet, completed=skip) as bar:
            try:
                for batch in _skip_rows(batches, skip):
                    batch = _conform(batch, self.kind, f"split {self.split!r} row {rows}")
                    if batch.num_rows == 0 and writer is not None:
                        continue
                    if writer is None:
                        writer = _PartWriter(self.dest, self.split, part, batch.schema)
                    writer.write(batch)
                    rows += batch.num_rows
                    bar.advance(batch.num_rows)
                    if writer.rows >= self.max_rows or writer.bytes >= self.max_bytes:
                        writer.close()
                        writer, part = None, part + 1
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
            if writer is None and rows == 0 and self.kind is not None and self.split != REJECTS:
                # a filter that kept no row still publishes (with its rejects, so SQL can say why)
                writer = _PartWriter(self.dest, self.split, part, schemas.get(self.kind).schema)
            if writer is not None:
                writer.close()
        return rows


def write_one_shard(dest: Path | LocalParts | RemoteParts, split: str, kind: str | None, shard: int,
                    batches: Iterable[pa.RecordBatch]) -> int:
    """Write one shard's batches as part ``shard`` of ``split`` (published whole); returns its rows."""
    dest = dest if isinstance(dest, (LocalParts, RemoteParts)) else LocalParts(Path(dest))
    writer: _PartWriter | None = None
    try:
        for batch in batches:
            batch = _conform(batch, kind, f"split {split!r} shard {shard}")
            if writer is None:
                writer = _PartWriter(dest, split, shard, batch.schema)
            writer.write(batch)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
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
