"""The DuckDB catalog: derived from the manifests alone, so it can be deleted and rebuilt any time.

One view per snapshot name (latest), per ``name@id``, and per extra split (``name__test``,
``name__rejects``); names with ``-`` also get an ``_`` alias so ``cold_start`` needs no quotes
(an exact name wins over a colliding alias; new names that would collide are refused at build time).
Tables ``snapshots`` and ``lineage`` describe the store itself. The file is rebuilt into a
temp file and renamed, so open readers never see a half-built catalog.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterator

import duckdb

from factory import settings as envconfig
from factory.sql import sqlmodel
from factory.sql.sqlmodel import read_parquet_sql
from factory.store.ids import sql_names
from factory.store.locks import file_lock
from factory.store.models import all_models
from factory.store.snapshot import Snapshot
from factory.store.store import Store

CATALOG = "catalog.duckdb"


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def view_names(snap: Snapshot, latest: bool) -> Iterator[tuple[int, str, str]]:
    """(priority, view name, split) for one snapshot: 0 exact names, 1 their split views, 2 ``_`` aliases.

    When two snapshots claim one view (``c-d`` and ``c_d`` both alias to ``c_d``; ``x`` has the
    split view ``x__rejects`` and another snapshot is named ``x__rejects``), the lower priority
    wins, so an exact name always beats an alias and no collision can break the catalog.
    """
    bases = [(0, snap.ref)] + ([(0, n) if n == snap.name else (2, n) for n in sql_names(snap.name)] if latest else [])
    splits = [snap.default_split] + [s for s in snap.manifest.get("splits", {}) if s != snap.default_split]
    for prio, base in bases:
        for split in splits:
            if split == snap.default_split:
                yield prio, base, split
            else:
                yield max(prio, 1), f"{base}__{split}", split


def store_fingerprint(snaps: list[Snapshot], models: list[dict]) -> str:
    """What the catalog was built from; a changed store means a stale catalog."""
    refs = [s.ref for s in snaps] + [str(m.get("path")) for m in models]
    return hashlib.sha256("\n".join(refs).encode()).hexdigest()[:16]


class Catalog:
    """DuckDB views over every snapshot of a store."""

    def __init__(self, store: Store):
        self.store = store
        self.path = store.local_dir / CATALOG  # derived state: beside a local store, in a cache for a remote one

    def rebuild(self) -> Path:
        """Recreate the catalog from manifests (deterministic: same store, same catalog)."""
        self.store.local_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.store.local_dir / ".locks" / "catalog.lock"):
            tmp = self.path.with_suffix(".tmp")
            for p in (tmp, Path(str(tmp) + ".wal")):
                p.unlink(missing_ok=True)
            con = sqlmodel.connect(database=str(tmp))
            try:
                self._create(con)
            finally:
                con.close()
            os.replace(tmp, self.path)
        return self.path

    def _create(self, con: duckdb.DuckDBPyConnection) -> None:
        # the fingerprint is of what is read here, first: a snapshot committed while the views
        # are built changes the store's fingerprint, so the next use rebuilds and gets its view
        snaps, models = self.store.list(), all_models(self.store)
        sqlmodel.register_filesystems(con, snaps)
        latest = {s.name: s for s in snaps}  # list() is oldest-first per name
        con.execute(
            "create table snapshots (name varchar, id varchar, ref varchar, latest boolean, builder varchar,"
            " builder_version varchar, kind varchar, created_at varchar, rows bigint, splits varchar,"
            " synthetic boolean, path varchar)"
        )
        con.execute("create table lineage (name varchar, id varchar, parent_name varchar, parent_id varchar)")
        con.execute("create table models (path varchar, trainer varchar, data_ref varchar, created_at varchar, manifest varchar)")
        con.execute("create table _catalog_meta (fingerprint varchar)")
        views: list[tuple[int, str, str, Snapshot]] = []
        for s in snaps:
            m = s.manifest
            con.execute(
                "insert into snapshots values (?,?,?,?,?,?,?,?,?,?,?,?)",
                [s.name, s.id, s.ref, latest[s.name] is s, m.get("builder"), m.get("builder_version"), s.kind,
                 s.created_at, s.num_rows, json.dumps(list(m.get("splits", {}))), bool(m.get("synthetic")), str(s.path)],
            )
            for pref in s.parents.values():
                pname, _, pid = pref.partition("@")
                con.execute("insert into lineage values (?,?,?,?)", [s.name, s.id, pname, pid])
            views += [(prio, view, split, s) for prio, view, split in view_names(s, latest[s.name] is s)]
        taken: set[str] = set()
        for _, view, split, s in sorted(views, key=lambda v: (v[0], v[1], v[3].name)):
            if view.lower() not in taken:  # DuckDB names are case-insensitive
                taken.add(view.lower())
                con.execute(f"create view {_q(view)} as select * from {read_parquet_sql(s.files(split))}")
        for model in models:
            con.execute("insert into models values (?,?,?,?,?)", [model.get("path"), model.get("trainer"),
                        model.get("data_ref"), model.get("created_at"), json.dumps(model, default=str)])
        con.execute("insert into _catalog_meta values (?)", [store_fingerprint(snaps, models)])

    def is_fresh(self) -> bool:
        if not self.path.exists():
            return False
        try:
            con = duckdb.connect(str(self.path), read_only=True)
            try:
                (fp,) = con.execute("select fingerprint from _catalog_meta").fetchone()
            finally:
                con.close()
        except (duckdb.Error, TypeError):
            return False
        return fp == store_fingerprint(self.store.list(), all_models(self.store))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection on a fresh catalog, with bounded memory and spill to disk."""
        if not self.is_fresh():
            self.rebuild()
        con = sqlmodel.connect(database=str(self.path), read_only=True)
        if self.store.remote:  # the views read s3://... (or gs://...) through the store's own fsspec filesystem
            con.register_filesystem(self.store.fs)
        tmp = self.store.local_dir / ".tmp" / "duckdb"
        tmp.mkdir(parents=True, exist_ok=True)
        con.execute(f"set memory_limit='{envconfig.duckdb_memory_limit()}'")
        con.execute(f"set temp_directory='{tmp}'")
        con.execute("set preserve_insertion_order=false")
        return con

    def describe(self) -> dict[str, list]:
        """Views (name + SQL) and table contents — what 'rebuild gives the same catalog' compares."""
        con = self.connect()
        try:
            views = con.execute("select view_name, sql from duckdb_views() where not internal order by view_name").fetchall()
            snaps = con.execute("select * exclude (created_at) from snapshots order by ref").fetchall()
            lineage = con.execute("select * from lineage order by all").fetchall()
        finally:
            con.close()
        return {"views": views, "snapshots": snaps, "lineage": lineage}
