"""Hugging Face datasets (Hub ids or local folders) as problem sources, streamed as Arrow batches."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from factory.sources.base import (
    ColumnMapper,
    Source,
    SourceError,
    check_batch_size,
    digest,
    hash_files,
    one_line,
    rebatch,
)
from factory.sources.files import default_name

_PACKAGED = {"json", "parquet", "csv", "arrow", "text"}


class HFSource(Source):
    """Problems from ``datasets.load_dataset(path, name, split=split, ...)``.

    Args:
        path: a Hub id (``openai/gsm8k``), a local dataset folder, or a packaged builder
            (``json``, ``parquet``, ``csv``) together with ``data_files``.
        name: the dataset config (``main``), if any.
        split: the split to read; required because a source yields one table.
        mapping: ``{dataset column: problems column}``, e.g. ``{"question": "prompt"}``.
        defaults: constant values for absent columns, e.g. ``{"domain": "math"}``.
        data_files: files for a packaged builder, as ``load_dataset`` takes them.
        revision: a Hub revision (commit sha, tag or branch); pin it for reproducible snapshots.
        streaming: iterate without downloading the whole dataset first.
        cache_dir: where ``datasets`` caches prepared data.
        source_name: the ``source`` column when absent and the prefix of generated ids; default: the
            Hub id, or the local folder or data file name.

    The fingerprint hashes the file contents for local data (so it ignores modification
    times); for Hub data it is the dataset's ``_fingerprint`` (or, when streaming, the
    hub id + revision + config), plus the mapping and defaults.
    """

    kind = "hf"

    def __init__(
        self,
        path: str,
        name: str | None = None,
        split: str = "train",
        mapping: Mapping[str, str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        data_files: str | Sequence[str] | Mapping[str, Any] | None = None,
        revision: str | None = None,
        streaming: bool | str = False,
        cache_dir: str | None = None,
        source_name: str | None = None,
    ):
        if not path:
            raise ValueError("path is empty; pass a Hub id like 'openai/gsm8k' or a local dataset folder")
        if not split:
            raise ValueError(f"split={split!r}: pass the split to read, e.g. split='train'")
        self.path, self.name, self.split = str(path), name, split
        self.data_files = data_files
        self.revision = revision
        self.streaming = streaming in (True, "true", "1", "True")
        self.cache_dir = cache_dir
        self.mapper = ColumnMapper(mapping, defaults, source_name or self._default_name())
        self._dataset = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "name": self.name, "split": self.split,
                "data_files": self.data_files, "revision": self.revision, "streaming": self.streaming,
                **self.mapper.describe()}

    def fingerprint(self) -> str:
        config = {k: v for k, v in self.describe().items() if k not in ("path", "data_files", "streaming")}
        files = self._local_files()
        if files:
            return digest("hf-local", hash_files((f.name, f) for f in files), config)
        if self.streaming:
            return digest("hf-stream", self.path, config)
        return digest("hf", self.dataset()._fingerprint, config)

    def dataset(self):
        """The loaded ``datasets`` object (loaded once, lazily)."""
        if self._dataset is None:
            import datasets  # heavy: import only when a dataset is actually read

            try:
                self._dataset = datasets.load_dataset(
                    self.path, self.name, split=self.split, data_files=self.data_files,
                    revision=self.revision, streaming=self.streaming, cache_dir=self.cache_dir,
                )
            except Exception as e:  # datasets raises many types (FileNotFoundError, ValueError, HfHubHTTPError)
                raise SourceError(f"{self._where()}: cannot load dataset ({type(e).__name__}: {one_line(e)})") from None
        return self._dataset

    def batches(self, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        check_batch_size(batch_size)
        return rebatch(self._mapped(batch_size), batch_size)

    def _mapped(self, batch_size: int) -> Iterator[pa.RecordBatch]:
        row = 1
        for table in self.dataset().with_format("arrow").iter(batch_size):
            for raw in table.combine_chunks().to_batches():
                yield self.mapper.apply(raw, self._where(), row)
                row += raw.num_rows

    def _default_name(self) -> str:
        """Hub id as is; a local folder or data file by its name (no machine-specific absolute path)."""
        if self.path in _PACKAGED and self.data_files is not None:
            spec = self.data_files
            first = next(iter(spec.values())) if isinstance(spec, Mapping) else spec
            first = first if isinstance(first, (str, os.PathLike)) else next(iter(first))
            return default_name(str(first))
        return default_name(self.path) if os.path.isdir(self.path) else self.path

    def _where(self) -> str:
        config = f"/{self.name}" if self.name else ""
        return f"hf:{self.path}{config}[{self.split}]"

    def _local_files(self) -> list[Path]:
        """Local data files behind this dataset, sorted; empty for Hub datasets."""
        if self.data_files is not None and self.path in _PACKAGED:
            spec = self.data_files
            if isinstance(spec, Mapping):
                spec = spec.get(self.split, [])
            patterns = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
            found = {Path(m) for p in patterns for m in glob.glob(str(p), recursive=True)}
            return sorted(f for f in found if f.is_file())
        if os.path.isdir(self.path):
            return sorted(f for f in Path(self.path).rglob("*") if f.is_file() and not _hidden(f, self.path))
        return []


def _hidden(file: Path, root: str) -> bool:
    """Files under dot-folders (``.cache``, ``.git``) are not data."""
    return any(part.startswith(".") for part in file.relative_to(root).parts)
