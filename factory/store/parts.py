"""Where a split's part files go: a local folder (temp name + rename + fsync) or an object-store
prefix (one PUT per part: an object appears whole or not at all, so no rename is needed).

Either way a part that exists is finished, so its existence is the completion marker a resumed
build relies on. Both kinds pickle to a few strings: a Ray worker on another node rebuilds the
filesystem from its own configuration and writes straight to the store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from factory.store.durable import fsync_dir, fsync_file
from factory.store.fsio import filesystem


@dataclass
class LocalParts:
    """Parts in a local folder (``<work>/data``)."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def names(self) -> list[str]:
        return [p.name for p in self.path.iterdir()] if self.path.exists() else []

    def location(self, name: str) -> Path:
        return self.path / name

    def remove(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)

    def open(self, name: str) -> "PartSink":
        tmp = self.path / f".tmp-{name}"
        return PartSink(str(tmp), lambda: self._publish(tmp, self.path / name), lambda: tmp.unlink(missing_ok=True))

    def clean_temps(self, split: str) -> None:
        for tmp in self.path.glob(f".tmp-{split}-*.parquet"):
            tmp.unlink()  # a part that was being written when the process died

    @staticmethod
    def _publish(tmp: Path, final: Path) -> None:
        fsync_file(tmp)
        os.rename(tmp, final)
        fsync_dir(final.parent)


@dataclass
class RemoteParts:
    """Parts under an object-store prefix (``s3://bucket/prefix/<name>/<id>/data``)."""

    url: str
    _fs: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {"url": self.url, "_fs": None}  # each node builds its own client from its own config

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs, _ = filesystem(self.url)
        return self._fs

    @property
    def _root(self) -> str:
        return filesystem(self.url)[1]

    def ensure(self) -> None:
        pass  # prefixes need no creation

    def names(self) -> list[str]:
        self.fs.invalidate_cache(self._root)  # a listing cached before other writers finished is stale
        try:
            return [p.rsplit("/", 1)[-1] for p in self.fs.ls(self._root, detail=False)]
        except FileNotFoundError:
            return []

    def location(self, name: str) -> str:
        return f"{self.url.rstrip('/')}/{name}"

    def remove(self, name: str) -> None:
        try:
            self.fs.rm_file(f"{self._root}/{name}")
        except FileNotFoundError:
            pass

    def open(self, name: str) -> "PartSink":
        f = self.fs.open(f"{self._root}/{name}", "wb")
        discard = getattr(f, "discard", None)  # abort the upload: nothing half-written becomes an object
        return PartSink(f, f.close, discard if discard is not None else f.close)

    def clean_temps(self, split: str) -> None:
        pass  # an interrupted upload never became an object


@dataclass
class PartSink:
    """The target a Parquet writer writes into, and how to publish or drop it."""

    target: str | IO[bytes]
    publish: Any
    abort: Any


def parts_of(location: str | Path) -> LocalParts | RemoteParts:
    """The part directory of a local folder or an fsspec URL."""
    from factory.store.fsio import is_url

    return RemoteParts(str(location)) if is_url(location) else LocalParts(Path(location))
