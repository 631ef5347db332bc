"""Catalog: views per snapshot, rebuild gives the same catalog, SQL streaming export."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from factory.errors import InputError
from factory.sql import query as sqlmod
from factory.sql.catalog import Catalog


def _snap(store, name, id_, n, parents=None, rejects=False):
    with store.begin(name, id_, kind="problems") as sb:
        sb.write("train", [pa.RecordBatch.from_pydict({"problem_id": [f"{name}{i}" for i in range(n)],
                                                       "prompt": ["q"] * n, "domain": ["math"] * (n - 1) + ["code"]})])
        if rejects:
            sb.write_rejects([pa.RecordBatch.from_pydict({"problem_id": ["r"], "reason": ["dup"]})])
        return sb.commit(builder="t", builder_version="1", parents=parents or {})


def test_views_and_tables(store):
    a1 = _snap(store, "cold-start", "aaaa01", 3)
    a2 = _snap(store, "cold-start", "aaaa02", 5, rejects=True)
    _snap(store, "reasoning", "bbbb01", 4, parents={"cold-start": a2.ref})
    con = Catalog(store).connect()
    assert con.execute('select count(*) from "cold-start"').fetchone() == (5,)
    assert con.execute("select count(*) from cold_start").fetchone() == (5,)
    assert con.execute(f'select count(*) from "{a1.ref}"').fetchone() == (3,)
    assert con.execute("select reason from cold_start__rejects").fetchall() == [("dup",)]
    assert con.execute("select parent_name, parent_id from lineage").fetchall() == [("cold-start", "aaaa02")]
    assert con.execute("select ref from snapshots where latest order by ref").fetchall() == [
        ("cold-start@aaaa02",), ("reasoning@bbbb01",)]
    con.close()


def test_rebuild_is_identical_and_tracks_new_snapshots(store):
    _snap(store, "problems", "cccc01", 3)
    cat = Catalog(store)
    before = cat.describe()
    cat.path.unlink()
    cat.rebuild()
    assert cat.describe() == before
    _snap(store, "problems", "cccc02", 7)  # a new snapshot makes the catalog stale -> refreshed on use
    cols, rows, _ = sqlmod.query_rows(store, "select count(*) from problems")
    assert rows == [(7,)]


def test_sql_export_formats(store, tmp_path):
    _snap(store, "problems", "dddd01", 4)
    q = "select problem_id, domain from problems order by problem_id"
    assert sqlmod.export_query(store, q, "parquet", tmp_path / "o.parquet") == 4
    assert duckdb.connect().execute(f"select count(*) from '{tmp_path / 'o.parquet'}'").fetchone() == (4,)
    sqlmod.export_query(store, q, "csv", tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text().splitlines()[0] == "problem_id,domain"
    sqlmod.export_query(store, q, "json", tmp_path / "o.json")
    assert json.loads((tmp_path / "o.json").read_text().splitlines()[0])["problem_id"] == "problems0"


def test_sql_errors_are_one_line(store):
    _snap(store, "problems", "eeee01", 2)
    with pytest.raises(InputError, match="SQL error: .*nope"):
        sqlmod.query_rows(store, "select * from nope")
