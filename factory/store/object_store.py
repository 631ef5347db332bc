"""Stores on object stores (``s3://bucket/prefix``, any fsspec URL): a commit protocol without rename.

Layout as on a local store, but parts are written straight under the snapshot's prefix::

    <url>/<name>/<id>/data/<split>-NNNNN.parquet   one upload each: an object is whole or absent
    <url>/<name>/<id>/README.md                    the card, written before the manifest
    <url>/<name>/<id>/manifest.json                written last, exclusively: the commit point
    <url>/.locks/build-<name>@<id>.lock            the build's lease (one writer per snapshot)

Readers and the catalog list only snapshots whose manifest exists and whose listed parts all
exist, so a build in progress or a half-deleted snapshot is never visible. A killed build
leaves finished parts and a lease that expires (at once, when its process is known dead); the
rerun skips the finished parts. Credentials come from the filesystem's usual configuration
(``AWS_*`` variables, ``~/.aws``) and are never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from factory import settings as envconfig
from factory.store.card import render_card
from factory.store.fsio import StoreUnavailable, describe_error, filesystem, parquet_rows, redact
from factory.store.ids import check_name
from factory.store.parts import RemoteParts
from factory.store.snapshot import CARD, DATA, MANIFEST, Snapshot
from factory.store.store import SnapshotBuild, Store
from factory.store.writer import PART

LEASE_TTL_S = 60.0
_MANIFEST_KEY = re.compile(r"^(?P<name>[^/.][^/]*)/(?P<id>[^/]+)/manifest\.json$")


class ObjectStore(Store):
    """All snapshots under one fsspec URL; derived state (catalog) lives in a local cache folder."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.url = envconfig.store_location(root).rstrip("/")
        self.root = self.url
        self.fs, self.base = filesystem(self.url)
        self._manifests: dict[str, dict] = {}  # manifests are immutable: fetched once per process
        self._usable = False

    def __repr__(self) -> str:
        return f"ObjectStore({redact(self.url)!r})"

    @property
    def local_dir(self) -> Path:
        return envconfig.cache_dir() / "stores" / hashlib.sha256(redact(self.url).encode()).hexdigest()[:16]

    @property
    def remote(self) -> bool:
        return True

    def key(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def url_of(self, *parts: str) -> str:
        return "/".join([self.url, *parts])

    def check(self) -> None:
        """Fail with one line naming the URL if the store cannot be used (reachability, bucket, credentials)."""
        if self._usable:
            return
        bucket = self.base.split("/", 1)[0]
        try:
            self.fs.invalidate_cache(bucket)
            self.fs.ls(bucket, detail=False)
        except Exception as e:  # noqa: BLE001 - each filesystem raises its own types
            raise StoreUnavailable(describe_error(self.url, e)) from None
        self._usable = True

    # -- reading -----------------------------------------------------------------------
    def _listing(self, under: str) -> list[str]:
        self.check()
        self.fs.invalidate_cache()  # listings cached by an earlier find (its children too) would hide new objects
        try:
            return self.fs.find(under, detail=False)
        except FileNotFoundError:
            return []

    def list(self, name: str | None = None) -> list[Snapshot]:
        """Committed snapshots (manifest present, every listed part present), oldest first per name."""
        keys = self._listing(self.key(name) if name else self.base)
        present = {k[len(self.base) + 1:] for k in keys}
        found = [m for k in sorted(present) if (m := _MANIFEST_KEY.match(k))]
        manifests = self._load([f"{m.group('name')}/{m.group('id')}" for m in found])
        snaps: dict[str, list[Snapshot]] = {}
        for rel, manifest in manifests.items():
            if _complete(rel, manifest, present):
                snaps.setdefault(manifest["name"], []).append(
                    Snapshot(manifest["name"], manifest["id"], self.url_of(rel), manifest))
        return [s for n in sorted(snaps) for s in sorted(snaps[n], key=lambda s: (s.created_at, s.id))]

    def _load(self, rels: list[str]) -> dict[str, dict]:
        missing = [r for r in rels if r not in self._manifests]
        if missing:
            blobs = self.fs.cat([self.key(r, MANIFEST) for r in missing], on_error="omit")
            for r in missing:
                blob = blobs.get(self.key(r, MANIFEST))
                if blob is not None:
                    self._manifests[r] = json.loads(blob)
        return {r: self._manifests[r] for r in rels if r in self._manifests}

    def find(self, name: str, id_: str) -> Snapshot | None:
        snaps = [s for s in self.list(name) if s.id == id_]
        return snaps[0] if snaps else None

    # -- writing -----------------------------------------------------------------------
    def begin(self, name: str, id_: str, *, kind: str | None, quiet: bool = True, **kw: Any) -> "ObjectSnapshotBuild":
        self.check()
        return ObjectSnapshotBuild(self, check_name(name), id_, kind=kind, quiet=quiet, **kw)

    def lock(self, what: str = "store", *, shared: bool = False, blocking: bool = True):
        return lease(self.fs, self.key(".locks", f"{what}.lock"), blocking=blocking)

    def work_dirs(self) -> list[Path]:
        return []  # unfinished builds are prefixes without a manifest; their lease tells if anyone works on them

    def remove(self, snap: Snapshot) -> None:
        """Delete a snapshot: the manifest first, so readers stop seeing it before any part goes."""
        rel = f"{snap.name}/{snap.id}"
        self.fs.rm_file(self.key(rel, MANIFEST))
        self._manifests.pop(rel, None)
        self.fs.rm(self.key(rel), recursive=True)
        self.fs.invalidate_cache(self.key(rel))


def _complete(rel: str, manifest: dict, present: set[str]) -> bool:
    files = [f for info in manifest.get("splits", {}).values() for f in info.get("files", [])]
    return all(f"{rel}/{f}" in present for f in files)


@dataclass
class ObjectSnapshotBuild(SnapshotBuild):
    """A snapshot being written under its final prefix; the exclusive manifest write publishes it."""

    @property
    def prefix(self) -> str:
        return f"{self.store.url}/{self.name}/{self.id}"

    @property
    def parts(self) -> RemoteParts:
        return RemoteParts(f"{self.prefix}/{DATA}")

    def _location(self, file: str) -> str:
        return f"{self.prefix}/{file}"

    def _finalize(self) -> dict[str, dict]:
        """Per-split rows/files/bytes of the parts as uploaded (object stores cannot rename them)."""
        fs, root = filesystem(self.parts.url)
        fs.invalidate_cache(root)
        try:
            sizes = {i["name"].rsplit("/", 1)[-1]: i["size"] for i in fs.ls(root, detail=True)}
        except FileNotFoundError:
            sizes = {}
        parts: dict[str, list[tuple[int, str]]] = {}
        for name in sizes:
            if m := PART.match(name):
                parts.setdefault(m.group("split"), []).append((int(m.group("part")), name))
        splits = {}
        for split, items in sorted(parts.items()):
            items.sort()
            if [i for i, _ in items] != list(range(len(items))):
                raise StoreUnavailable(f"{redact(self.parts.url)}: parts of split {split!r} are not contiguous")
            rows = sum(parquet_rows(self.parts.location(n)) for _, n in items)
            splits[split] = {"rows": rows, "files": [f"{DATA}/{n}" for _, n in items],
                             "bytes": sum(sizes[n] for _, n in items)}
        return splits

    def _plots(self, manifest: dict[str, Any]) -> dict[str, str]:
        return {}  # the parts are remote; card plots are rendered for local stores only

    def _publish(self, manifest: dict[str, Any]) -> Snapshot:
        store: ObjectStore = self.store  # type: ignore[assignment]
        fs = store.fs
        rel = f"{self.name}/{self.id}"
        fs.pipe_file(store.key(rel, CARD), render_card(manifest).encode())
        blob = (json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n").encode()
        if not put_exclusive(fs, store.key(rel, MANIFEST), blob):
            existing = store.find(self.name, self.id)  # another writer committed first: theirs stands
            if existing is not None:
                return existing
        shutil.rmtree(self.work, ignore_errors=True)
        fs.invalidate_cache(store.key(rel))
        snap = store.find(self.name, self.id)
        if snap is None:
            raise StoreUnavailable(f"{redact(self.prefix)}: the manifest was written but the snapshot is not complete")
        return snap

    def link_split(self, split: str, source: Snapshot, source_split: str | None = None) -> int:
        """Reuse another snapshot's files for ``split`` by a server-side copy (no data leaves the store)."""
        fs, _ = filesystem(self.prefix)
        rows = 0
        for i, f in enumerate(source.files(source_split)):
            target = self.parts.location(f"{split}-{i:05d}.parquet")
            if not fs.exists(filesystem(target)[1]):
                fs.copy(filesystem(str(f))[1], filesystem(target)[1])
            rows += parquet_rows(target)
        self.rows[split] = rows
        return rows


def put_exclusive(fs: Any, path: str, data: bytes) -> bool:
    """Create ``path`` only if absent (S3 ``If-None-Match: *`` through fsspec's ``xb`` mode); False if it exists."""
    try:
        with fs.open(path, "xb") as f:
            f.write(data)
        return True
    except FileExistsError:
        return False
    except (NotImplementedError, ValueError, TypeError):  # a filesystem without exclusive create
        if fs.exists(path):
            return False
        fs.pipe_file(path, data)
        return True


def _whereami() -> str:
    """Host + boot + pid namespace: a pid means the same process only where all three match."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        pidns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        boot, pidns = "", 0
    return f"{socket.gethostname()}/{boot}/{pidns}"


def _stale(holder: dict | None) -> bool:
    if holder is None:
        return True
    if holder.get("expires", 0) < time.time():
        return True
    if holder.get("where") == _whereami():
        try:
            os.kill(int(holder["pid"]), 0)
        except ProcessLookupError:
            return True  # killed (kill -9 included): its lease need not run out
        except PermissionError:
            return False
    return False


def _read_lease(fs: Any, path: str) -> dict | None:
    try:
        return json.loads(fs.cat_file(path))
    except (FileNotFoundError, ValueError):
        return None


@contextmanager
def lease(fs: Any, path: str, *, blocking: bool = True, ttl_s: float = LEASE_TTL_S) -> Iterator[bool]:
    """A lock object with an expiry, renewed while held: object stores have no flock.

    Created exclusively; a holder that died (its expiry passed, or its pid is gone on this
    host) is replaced. Yields False when non-blocking and busy.
    """
    me = {"owner": uuid.uuid4().hex, "where": _whereami(), "pid": os.getpid()}

    def body() -> bytes:
        return json.dumps({**me, "expires": time.time() + ttl_s}).encode()

    while not put_exclusive(fs, path, body()):
        if _stale(_read_lease(fs, path)):
            try:
                fs.rm_file(path)
            except FileNotFoundError:
                pass
            continue
        if not blocking:
            yield False
            return
        time.sleep(0.2)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl_s / 3):
            if (_read_lease(fs, path) or {}).get("owner") != me["owner"]:
                return
            fs.pipe_file(path, body())

    renewer = threading.Thread(target=renew, daemon=True, name="lease-renewal")
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        if (_read_lease(fs, path) or {}).get("owner") == me["owner"]:
            fs.rm_file(path)
