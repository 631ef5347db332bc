"""The snapshot store: content-addressed, immutable snapshots published by atomic rename.

Layout (Hub layout, pushable as is)::

    <store>/<name>/<id>/manifest.json | README.md | data/<split>-NNNNN-of-NNNNN.parquet
    <store>/.work/<name>@<id>/          a build in progress (invisible to readers)
    <store>/.locks/                     flock files: one per build, one for the store

A crash leaves at most a work folder; a rerun of the same build resumes from it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

import schemas
from factory import settings as envconfig
from factory.errors import SnapshotNotFound
from factory.store.card import render_card
from factory.store.card_plots import card_plots
from factory.store.code_version import code_version
from factory.store.durable import fsync_dir, mkdirs_durable, write_text_durable
from factory.store.fsio import is_url, local_path, open_input
from factory.store.ids import check_name, check_view_aliases, parse_ref
from factory.store.locks import file_lock
from factory.store.parts import LocalParts, RemoteParts
from factory.store.snapshot import CARD, DATA, MANIFEST, REJECTS, Snapshot
from factory.store.writer import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, PART, SplitWriter, finalize_parts

WORK, LOCKS = ".work", ".locks"


class Store:
    """All snapshots under one root: a local folder, or any fsspec URL (then an ``ObjectStore``)."""

    def __new__(cls, root: str | os.PathLike | None = None):
        if cls is Store and is_url(envconfig.store_location(root)):
            from factory.store.object_store import ObjectStore

            return super().__new__(ObjectStore)
        return super().__new__(cls)

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = local_path(envconfig.store_location(root)).resolve()

    @property
    def local_dir(self) -> Path:
        """Where this machine keeps derived state (catalog, models registry, DuckDB spill)."""
        return self.root

    @property
    def remote(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- reading -----------------------------------------------------------------------
    def list(self, name: str | None = None) -> list[Snapshot]:
        """Published snapshots, oldest first per name. Work folders are never listed."""
        if not self.root.exists():
            return []
        names = [name] if name else sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        out = []
        for n in names:
            d = self.root / n
            if not d.is_dir():
                continue
            snaps = [Snapshot.open(p) for p in d.iterdir() if (p / MANIFEST).exists()]
            out += sorted(snaps, key=lambda s: (s.created_at, s.id))
        return out

    def names(self) -> list[str]:
        return sorted({s.name for s in self.list()})

    def latest(self, name: str) -> Snapshot:
        snaps = self.list(name)
        if not snaps:
            raise SnapshotNotFound(self._not_found_message(name))
        return snaps[-1]

    def get(self, ref: str | Snapshot) -> Snapshot:
        """Resolve ``name`` (latest) or ``name@id`` (id may be a unique prefix)."""
        if isinstance(ref, Snapshot):
            return ref
        name, id_ = parse_ref(ref)
        if id_ is None:
            return self.latest(name)
        matches = [s for s in self.list(name) if s.id.startswith(id_)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise SnapshotNotFound(self._not_found_message(ref))
        raise SnapshotNotFound(f"{ref!r} is ambiguous: {', '.join(s.ref for s in matches)}")

    def find(self, name: str, id_: str) -> Snapshot | None:
        p = self.root / name / id_
        return Snapshot.open(p) if (p / MANIFEST).exists() else None

    def _not_found_message(self, ref: str) -> str:
        names = self.names()
        hint = f"known: {', '.join(names)}" if names else "the store is empty"
        return f"unknown snapshot {ref!r} in store {self.root} ({hint})"

    # -- writing -----------------------------------------------------------------------
    def begin(self, name: str, id_: str, *, kind: str | None, quiet: bool = True, **kw: Any) -> "SnapshotBuild":
        """Start (or resume) writing snapshot ``name@id``. Use as a context manager."""
        return SnapshotBuild(self, check_name(name), id_, kind=kind, quiet=quiet, **kw)

    def lock(self, what: str = "store", *, shared: bool = False, blocking: bool = True):
        return file_lock(self.root / LOCKS / f"{what}.lock", shared=shared, blocking=blocking)

    def work_dirs(self) -> list[Path]:
        d = self.root / WORK
        return sorted(p for p in d.iterdir() if p.is_dir()) if d.exists() else []

    def remove(self, snap: Snapshot) -> None:
        """Delete a snapshot folder (used by gc) — renamed away first so readers never see half of it."""
        with self.lock():
            trash = self.root / WORK / f".trash-{snap.name}@{snap.id}"
            os.rename(snap.path, trash)
            shutil.rmtree(trash)
            parent = self.root / snap.name
            if parent.exists() and not any(parent.iterdir()):
                parent.rmdir()


@dataclass
class SnapshotBuild:
    """A snapshot being written in ``<store>/.work/<name>@<id>``; ``commit()`` publishes it atomically."""

    store: Store
    name: str
    id: str
    kind: str | None
    quiet: bool = True
    max_rows_per_file: int = DEFAULT_MAX_ROWS
    max_bytes_per_file: int = DEFAULT_MAX_BYTES
    existing: Snapshot | None = None
    rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.work = self.store.local_dir / WORK / f"{self.name}@{self.id}"  # local scratch (and parts, here)
        self._lock_cm = None

    @property
    def parts(self) -> LocalParts | RemoteParts:
        """Where finished part files go (``<work>/data`` here; the snapshot's prefix on an object store)."""
        return LocalParts(self.work / DATA)

    def part_files(self, split: str) -> list[Path | str]:
        """The finished parts of ``split`` so far, in order (readable with ``fsio.open_input``)."""
        done = self._split(split).done_parts()
        return [self.parts.location(n) for n in sorted(self.parts.names())
                if (m := PART.match(n)) and m.group("split") == split and int(m.group("part")) in done]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.id}"

    def __enter__(self) -> "SnapshotBuild":
        # One build per snapshot at a time: a second process waits, then finds it published.
        self._lock_cm = self.store.lock(f"build-{self.name}@{self.id}")
        self._lock_cm.__enter__()
        try:
            self.existing = self.store.find(self.name, self.id)
            if self.existing is None:
                check_view_aliases(self.name, self.store.names())
                self.work.mkdir(parents=True, exist_ok=True)
        except BaseException:
            self._lock_cm.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        # On failure the work folder stays: the next run resumes from its finished parts.
        if self._lock_cm is not None:
            self._lock_cm.__exit__(*exc)

    @property
    def resumed(self) -> bool:
        return any(PART.match(n) for n in self.parts.names())

    def _split(self, split: str) -> SplitWriter:
        return SplitWriter(self.parts, split, self.kind, max_rows=self.max_rows_per_file,
                           max_bytes=self.max_bytes_per_file, quiet=self.quiet)

    def write(self, split: str, batches: Iterable[pa.RecordBatch], *, total: int | None = None) -> int:
        """Stream ``batches`` (deterministic order) into ``split``; a rerun resumes after finished parts."""
        self.rows[split] = self._split(split).write_stream(batches, total=total)
        return self.rows[split]

    def write_shards(self, split: str, num_shards: int, make_shard: Callable[[int], Iterable[pa.RecordBatch]]) -> int:
        """Write ``split`` as independent shards in this process; finished shards are never recomputed."""
        return self.run_shards(split, num_shards, _CallableTask(make_shard))

    def run_shards(self, split: str, num_shards: int, task: Any, *, executor: str = "local",
                   on_done: Callable[[int, int], None] | None = None, **executor_options: Any) -> int:
        """Run a picklable shard task (``setup()`` + ``__call__(shard)``) on an executor; skips finished shards."""
        from factory.store import executors

        sw = self._split(split)
        done = sw.done_parts()
        todo = [k for k in range(num_shards) if k not in done]
        rows = [sum(done.values())]

        def record(shard: int, n: int) -> None:
            rows[0] += n
            if on_done is not None:
                on_done(shard, n)

        if todo:
            if executor == "local":
                executors.run_local(sw, todo, task, record)
            elif executor == "processes":
                executors.run_processes(sw, todo, task, record, **executor_options)
            elif executor == "ray":
                executors.run_ray(sw, todo, task, record, **executor_options)
            else:
                raise ValueError(f"unknown executor {executor!r}; choose one of {executors.EXECUTORS}")
        self.rows[split] = rows[0]
        return rows[0]

    def link_split(self, split: str, source: Snapshot, source_split: str | None = None) -> int:
        """Reuse another snapshot's Parquet files for ``split`` by hard link (zero copy; both are immutable)."""
        data = self.work / DATA
        data.mkdir(parents=True, exist_ok=True)
        rows = 0
        for i, f in enumerate(source.files(source_split)):
            target = data / f"{split}-{i:05d}.parquet"
            if not target.exists():
                try:
                    os.link(f, target)
                except OSError:  # another filesystem: copy instead
                    shutil.copyfile(f, target)
            rows += pq.read_metadata(target).num_rows
        self.rows[split] = rows
        return rows

    def write_rejects(self, batches: Iterable[pa.RecordBatch]) -> int:
        """Rows a filter dropped, each with a ``reason``; they form the ``rejects`` config."""
        return self.write(REJECTS, batches)

    def commit(self, *, builder: str, builder_version: str, config: Any = None, parents: dict[str, str] | None = None,
               sources: dict[str, str] | None = None, **extra: Any) -> Snapshot:
        """Finalize parts, write manifest + card, and publish (here: by one rename)."""
        if self.existing is not None:
            return self.existing
        splits = self._finalize()
        if not any(s != REJECTS for s in splits):
            raise ValueError(f"snapshot {self.ref} has no data split; write at least one before commit()")
        manifest = self._manifest(splits, builder, builder_version, config, parents, sources, extra)
        manifest["plots"] = self._plots(manifest)  # after the id: an image never changes it
        return self._publish(manifest)

    def _plots(self, manifest: dict[str, Any]) -> dict[str, str]:
        return card_plots(self.work, manifest)

    def _finalize(self) -> dict[str, dict]:
        return finalize_parts(self.work)

    def _location(self, file: str) -> Path | str:
        """A manifest-relative file (``data/train-00000.parquet``) of the snapshot being built."""
        return self.work / file

    def _publish(self, manifest: dict[str, Any]) -> Snapshot:
        write_text_durable(self.work / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n")
        write_text_durable(self.work / CARD, render_card(manifest))
        fsync_dir(self.work)
        final = self.store.root / self.name / self.id
        with self.store.lock():
            mkdirs_durable(final.parent)
            os.rename(self.work, final)
            fsync_dir(final.parent)  # the new entry: the commit itself
            fsync_dir(self.work.parent)  # the old entry is gone: a crash never resurrects the work folder
        return Snapshot.open(final)

    def _manifest(self, splits, builder, builder_version, config, parents, sources, extra) -> dict[str, Any]:
        first = next(s for s in splits if s != REJECTS)
        schema = pq.read_schema(open_input(self._location(splits[first]["files"][0])))
        spec = schemas.get(self.kind) if self.kind else None
        manifest: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "builder": builder,
            "builder_version": builder_version,
            "kind": self.kind,
            "schema_version": spec.version if spec else None,
            "config": config if config is not None else {},
            "parents": parents or {},
            "sources": sources or {},
            "code_version": code_version(),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "schema": [{"name": f.name, "type": str(f.type)} for f in schema],
            "splits": splits,
            "rejects": _reject_counts([self._location(f) for f in splits.get(REJECTS, {}).get("files", [])]),
        }
        manifest.update(extra)
        return manifest


def _reject_counts(files: list[Path | str]) -> dict[str, int]:
    import pyarrow.compute as pc

    counts: dict[str, int] = {}
    for f in files:
        col = pq.read_table(open_input(f), columns=["reason"]).column("reason")
        vc = pc.value_counts(col)
        for item in vc.to_pylist():
            counts[item["values"]] = counts.get(item["values"], 0) + item["counts"]
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


@dataclass
class _CallableTask:
    """A plain ``shard -> batches`` function as a shard task (nothing to set up)."""

    make_shard: Callable[[int], Iterable[pa.RecordBatch]]

    def setup(self) -> None:
        pass

    def __call__(self, shard: int) -> Iterable[pa.RecordBatch]:
        return self.make_shard(shard)
