"""`factory sql`: queries over the whole store, streamed so tens of millions of rows stay in bounded memory."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import duckdb

from factory.errors import InputError
from factory.sql.catalog import Catalog
from factory.store.store import Store

FORMATS = ("table", "csv", "json", "parquet")


def _connect(store: Store) -> duckdb.DuckDBPyConnection:
    return Catalog(store).connect()


def query_rows(store: Store, query: str, limit: int | None = 50) -> tuple[list[str], list[tuple], bool]:
    """Run ``query``; return (columns, up to ``limit`` rows, truncated?). Only ``limit+1`` rows are fetched."""
    con = _connect(store)
    try:
        cur = _execute(con, query)
        cols = [d[0] for d in cur.description or []]
        rows = cur.fetchmany(limit + 1) if limit is not None else cur.fetchall()
    finally:
        con.close()
    truncated = limit is not None and len(rows) > limit
    return cols, rows[:limit] if limit is not None else rows, truncated


def _execute(con: duckdb.DuckDBPyConnection, query: str) -> duckdb.DuckDBPyConnection:
    try:
        return con.execute(query)
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0]
        raise InputError(f"SQL error: {first}") from None


def export_query(store: Store, query: str, fmt: str, output: str | Path | None, stream: TextIO | None = None) -> int | None:
    """Write the result of ``query`` as csv/json/parquet to ``output`` (DuckDB COPY streams it),
    or as csv/json lines to ``stream`` (fetched in chunks). Returns rows written when known."""
    if fmt not in FORMATS or fmt == "table":
        raise ValueError(f"unknown format {fmt!r}: choose csv, json or parquet")
    con = _connect(store)
    try:
        if output is not None:
            opts = {"csv": "FORMAT csv, HEADER true", "json": "FORMAT json", "parquet": "FORMAT parquet, COMPRESSION zstd"}[fmt]
            target = str(Path(output).resolve()).replace("'", "''")
            cur = _execute(con, f"COPY ({query.rstrip().rstrip(';')}) TO '{target}' ({opts})")
            row = cur.fetchone()
            return int(row[0]) if row else None
        if fmt == "parquet":
            raise ValueError("--format parquet needs --output FILE")
        return _stream_text(_execute(con, query), fmt, stream or sys.stdout)
    finally:
        con.close()


def _stream_text(cur: duckdb.DuckDBPyConnection, fmt: str, out: TextIO, chunk: int = 10_000) -> int:
    cols = [d[0] for d in cur.description or []]
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(cols)
    n = 0
    while rows := cur.fetchmany(chunk):
        for r in rows:
            if writer:
                writer.writerow(r)
            else:
                out.write(json.dumps(dict(zip(cols, r)), default=_json_default, ensure_ascii=False) + "\n")
        n += len(rows)
    return n


def _json_default(o: Any) -> Any:
    return o.isoformat() if hasattr(o, "isoformat") else str(o)
