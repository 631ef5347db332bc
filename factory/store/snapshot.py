"""A published snapshot: an immutable folder (or object-store prefix) in Hub layout, readable as Polars, Arrow or `datasets`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from factory.errors import InputError
from factory.store.fsio import filesystem, join, open_input, redact

if TYPE_CHECKING:  # heavy imports stay lazy
    import datasets
    import polars as pl
    import pyarrow.dataset as pads

MANIFEST = "manifest.json"
CARD = "README.md"
DATA = "data"
REJECTS = "rejects"


@dataclass(frozen=True)
class Snapshot:
    """Handle on one published snapshot ``<store>/<name>/<id>``.

    Reading never needs the project: the folder is plain Parquet + JSON + a dataset card.
    """

    name: str
    id: str
    path: Path | str  # a local folder, or an fsspec URL for snapshots on an object store
    manifest: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @classmethod
    def open(cls, path: Path) -> "Snapshot":
        """Open a snapshot folder; a missing or corrupt manifest is a clear error."""
        mpath = path / MANIFEST
        try:
            manifest = json.loads(mpath.read_text())
        except FileNotFoundError:
            raise InputError(f"{path} is not a snapshot: it has no {MANIFEST}") from None
        except json.JSONDecodeError as e:
            raise InputError(f"{mpath} is corrupt: {e}") from None
        return cls(name=manifest["name"], id=manifest["id"], path=path, manifest=manifest)

    @property
    def remote(self) -> bool:
        return isinstance(self.path, str)

    def read_text(self, name: str) -> str | None:
        """A file of the snapshot folder (``README.md``, ``manifest.json``), or None if absent."""
        if not self.remote:
            p = self.path / name
            return p.read_text() if p.exists() else None
        fs, root = filesystem(self.path)
        try:
            return fs.cat_file(f"{root}/{name}").decode()
        except FileNotFoundError:
            return None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.id}"

    @property
    def kind(self) -> str:
        return self.manifest.get("kind", "")

    @property
    def created_at(self) -> str:
        return self.manifest.get("created_at", "")

    @property
    def splits(self) -> list[str]:
        """Data splits (``rejects`` excluded: it is a separate config)."""
        return [s for s in self.manifest.get("splits", {}) if s != REJECTS]

    @property
    def default_split(self) -> str:
        splits = self.splits
        return "train" if "train" in splits or not splits else splits[0]

    @property
    def num_rows(self) -> int:
        return sum(v["rows"] for k, v in self.manifest.get("splits", {}).items() if k != REJECTS)

    @property
    def parents(self) -> dict[str, str]:
        return dict(self.manifest.get("parents", {}))

    def has_split(self, split: str) -> bool:
        return split in self.manifest.get("splits", {})

    def copy_to(self, dest: Path) -> Path:
        """Copy the snapshot folder (manifest, card, data files) into local folder ``dest``."""
        import shutil

        if not self.remote:
            shutil.copytree(self.path, dest)
            return dest
        fs, root = filesystem(self.path)
        names = [MANIFEST, CARD] + [f for info in self.manifest.get("splits", {}).values() for f in info["files"]]
        for name in names:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(f"{root}/{name}", str(dest / name))
        return dest

    def files(self, split: str | None = None) -> list[Path] | list[str]:
        """The Parquet files of one split, in order (URLs for a snapshot on an object store)."""
        split = split or self.default_split
        info = self.manifest.get("splits", {}).get(split)
        if info is None:
            known = ", ".join(self.manifest.get("splits", {})) or "none"
            raise InputError(f"snapshot {self.ref} has no split {split!r} (splits: {known})")
        return [join(self.path, *f.split("/")) for f in info["files"]]

    # -- readers -----------------------------------------------------------------------
    def scan(self, split: str | None = None) -> "pl.LazyFrame":
        """A Polars LazyFrame over one split (nothing is read until collected)."""
        import polars as pl

        if self.remote:  # through the same fsspec filesystem as every other reader
            return pl.scan_pyarrow_dataset(self.arrow_dataset(split))
        return pl.scan_parquet([str(p) for p in self.files(split)])

    def arrow_dataset(self, split: str | None = None) -> "pads.Dataset":
        """A ``pyarrow.dataset.Dataset`` over one split (streams record batches)."""
        import pyarrow.dataset as pads

        if self.remote:
            fs, _ = filesystem(self.path)
            return pads.dataset([filesystem(str(p))[1] for p in self.files(split)], format="parquet", filesystem=fs)
        return pads.dataset([str(p) for p in self.files(split)], format="parquet")

    def to_arrow(self, split: str | None = None):
        """Read one split fully into a ``pyarrow.Table`` (small snapshots only)."""
        return self.arrow_dataset(split).to_table()

    def load_dataset(self, split: str | None = None) -> "datasets.Dataset":
        """A Hugging Face ``datasets.Dataset`` of one split (memory-mapped Arrow cache)."""
        import datasets

        # `datasets` would download remote files into its cache anyway (and refuses in offline
        # mode): fetch them once into a local copy keyed by the immutable snapshot id
        files = [str(p) for p in (self._local_files(split) if self.remote else self.files(split))]
        return datasets.Dataset.from_parquet(files, split=split or self.default_split)

    def _local_files(self, split: str | None) -> list[Path]:
        import hashlib

        from factory import settings

        fs, _ = filesystem(self.path)
        key = hashlib.sha256(redact(self.path).encode()).hexdigest()[:16]
        folder = settings.cache_dir() / "snapshots" / f"{self.ref}-{key}"
        out = []
        for f in self.files(split):
            target = folder / str(f).rsplit("/", 1)[-1]
            if not target.exists():
                folder.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".tmp-{target.name}")
                fs.get_file(filesystem(str(f))[1], str(tmp))
                tmp.replace(target)
            out.append(target)
        return out

    def batches(self, split: str | None = None, batch_size: int = 65_536, columns: list[str] | None = None):
        """Stream record batches of one split with bounded memory."""
        # small readahead: rows with long completions make pyarrow's default (16 batches x 4 files) gigabytes
        yield from self.arrow_dataset(split).to_batches(batch_size=batch_size, columns=columns, batch_readahead=2,
                                                        fragment_readahead=1)

    @cached_property
    def schema(self):
        import pyarrow.parquet as pq

        if not self.files():
            return None
        src = open_input(self.files()[0])
        return pq.read_schema(src)



class RowRangeReader:
    """Reads rows ``[start, stop)`` across Parquet files, decoding each row group once.

    Shards of a stage address their input this way. Shards are often much smaller than row
    groups (256 prompts vs 100k rows), so the last decoded group is cached: without it every
    shard would decode a whole group, O(rows x group size) work.
    """

    def __init__(self, files: Sequence[str | Path], columns: list[str] | None = None):
        import pyarrow.parquet as pq

        self.files, self.columns = [str(f) for f in files], columns
        self.groups: list[tuple[int, int, int, int]] = []  # (file index, row group, first row, rows)
        offset = 0
        for i, f in enumerate(self.files):
            meta = pq.read_metadata(open_input(f))
            for rg in range(meta.num_row_groups):
                self.groups.append((i, rg, offset, meta.row_group(rg).num_rows))
                offset += meta.row_group(rg).num_rows
        self.num_rows = offset
        self._cached: tuple[int, Any] | None = None

    def _group(self, g: int):
        import pyarrow.parquet as pq

        if self._cached is None or self._cached[0] != g:
            file_idx, rg, _, _ = self.groups[g]
            self._cached = (g, pq.ParquetFile(open_input(self.files[file_idx])).read_row_group(rg, columns=self.columns))
        return self._cached[1]

    def read(self, start: int, stop: int):
        """Rows ``[start, stop)`` as one table (empty, with the files' schema, if none)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        pieces = []
        for g, (_, _, first, rows) in enumerate(self.groups):
            lo, hi = max(start, first), min(stop, first + rows)
            if lo < hi:
                pieces.append(self._group(g).slice(lo - first, hi - lo))
        if not pieces:
            if not self.files:
                return pa.table({})
            empty = pq.read_schema(open_input(self.files[0])).empty_table()
            return empty.select(self.columns) if self.columns else empty
        return pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]


def read_rows(files: Sequence[str | Path], start: int, stop: int, columns: list[str] | None = None):
    """Rows ``[start, stop)`` across Parquet files (see ``RowRangeReader``)."""
    return RowRangeReader(files, columns).read(start, stop)
