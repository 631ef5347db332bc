"""The store's failure paths: kill -9 while parts are renamed, directory fsyncs, the catalog's
freshness under concurrent commits, colliding view aliases, and no local paths in what is published."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest

from factory.errors import InputError
from factory.sql import query as sqlmod
from factory.sql import sqlmodel
from factory.sql.catalog import Catalog
from factory.store.store import Store
from tests.support.paths import ROOT

KILL_DURING_FINALIZE = textwrap.dedent(
    """
    import os, signal, sys
    import pyarrow as pa
    from factory.store.store import Store

    real_rename, renamed = os.rename, []

    def rename(src, dst):
        if "-of-" in os.path.basename(dst) and sys.argv[2] == "kill":
            renamed.append(dst)
            if len(renamed) == 3:  # two parts got their Hub name, the rest did not
                os.kill(os.getpid(), signal.SIGKILL)
        real_rename(src, dst)

    os.rename = rename
    store = Store(sys.argv[1])
    with store.begin("big", "feed02", kind=None, max_rows_per_file=10) as sb:
        sb.write("train", (pa.RecordBatch.from_pydict({"x": list(range(i, i + 10))}) for i in range(0, 60, 10)))
        sb.commit(builder="t", builder_version="1")
    print("committed", flush=True)
    """
)


def _run(root, mode):
    return subprocess.run([sys.executable, "-c", KILL_DURING_FINALIZE, str(root), mode], capture_output=True,
                          text=True, cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_kill9_during_the_final_renames_resumes(tmp_path):
    root = tmp_path / "store"
    first = _run(root, "kill")
    assert first.returncode == -signal.SIGKILL
    names = sorted(os.listdir(root / ".work" / "big@feed02" / "data"))
    assert any("-of-" in n for n in names) and any("-of-" not in n for n in names)  # half renamed
    second = _run(root, "resume")
    assert second.returncode == 0, second.stderr
    (snap,) = Store(root).list()
    assert snap.num_rows == 60 and len(snap.files()) == 6
    assert sorted(snap.to_arrow().column("x").to_pylist()) == list(range(60))


def test_directories_are_fsynced_where_the_commit_depends_on_them(store, monkeypatch):
    synced, real = [], os.fsync

    def fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with store.begin("problems", "aaaa11", kind=None) as sb:
        sb.write("train", [pa.RecordBatch.from_pydict({"x": [1, 2]})])
        work = str(sb.work)
        snap = sb.commit(builder="t", builder_version="1")
    for needed in (work + "/data", work, str(store.root / "problems"), str(store.root / ".work"), str(store.root)):
        assert needed in synced, f"{needed} was not fsynced"
    assert snap.num_rows == 2


def _snap(store, name, id_, n=2, rejects=False):
    with store.begin(name, id_, kind=None) as sb:
        sb.write("train", [pa.RecordBatch.from_pydict({"x": list(range(n))})])
        if rejects:
            sb.write_rejects([pa.RecordBatch.from_pydict({"x": [9], "reason": ["dup"]})])
        return sb.commit(builder="t", builder_version="1")


def test_a_snapshot_committed_mid_rebuild_gets_its_view(store, monkeypatch):
    import factory.sql.catalog as catalog_mod

    _snap(store, "early", "aaaa01")
    real, calls = catalog_mod.read_parquet_sql, []

    def commit_while_building(paths):
        calls.append(1)
        if len(calls) == 1:
            _snap(store, "late", "bbbb01", n=3)
        return real(paths)

    monkeypatch.setattr(catalog_mod, "read_parquet_sql", commit_while_building)
    Catalog(store).rebuild()
    monkeypatch.undo()
    assert sqlmod.query_rows(store, "select count(*) from late")[1] == [(3,)]


def test_a_name_whose_alias_collides_is_refused_at_build_time(store):
    _snap(store, "c-d", "aaaa01")
    with pytest.raises(InputError, match="'c_d'.*'c-d'"):
        _snap(store, "c_d", "aaaa02")
    _snap(store, "x", "aaaa03", rejects=True)
    with pytest.raises(InputError, match="'x__rejects'.*'x'"):
        _snap(store, "x__rejects", "aaaa04")
    assert sqlmod.query_rows(store, "select count(*) from c_d")[1] == [(2,)]


def test_colliding_names_already_in_a_store_never_break_sql(store, monkeypatch):
    """Stores written before the check (or by two concurrent first builds) still answer every query."""
    from factory.store import store as store_mod

    monkeypatch.setattr(store_mod, "check_view_aliases", lambda *a, **k: None)
    _snap(store, "c-d", "aaaa01", n=2)
    _snap(store, "c_d", "aaaa02", n=5)
    _snap(store, "x", "aaaa03", n=1, rejects=True)
    _snap(store, "x__rejects", "aaaa04", n=4)
    assert sqlmod.query_rows(store, "select count(*) from c_d")[1] == [(5,)]  # the real name wins over an alias
    assert sqlmod.query_rows(store, 'select count(*) from "c-d"')[1] == [(2,)]
    assert sqlmod.query_rows(store, "select count(*) from x__rejects")[1] == [(4,)]
    assert sqlmod.query_rows(store, 'select count(*) from "x@aaaa03__rejects"')[1] == [(1,)]


def test_published_manifests_and_cards_hold_no_local_paths(store):
    from factory.api.demo import demo

    demo(store)
    root = str(store.root.resolve())
    for path in store.root.rglob("*"):
        if path.name in ("manifest.json", "README.md") and ".work" not in path.parts:
            assert root not in path.read_text(), f"{path} holds the local path {root}"
    reasoning = store.get("reasoning")
    stored = reasoning.manifest["queries"]["reasoning_filter"]
    scored_ref = reasoning.parents["reasoning-scored"]
    assert "{{ ref('%s') }}" % scored_ref in stored
    # the stored SQL runs again: its refs resolve against the store at run time
    import duckdb

    sql = sqlmodel.resolve_refs(stored, store)
    kept = duckdb.connect().execute(f"select count(*) from ({sql}) where reason is null").fetchone()[0]
    assert kept == reasoning.num_rows
