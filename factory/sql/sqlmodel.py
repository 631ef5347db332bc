"""dbt-style SQL models: one SELECT per .sql file, parents only through ``ref()``, contracts in YAML.

``{{ ref('scored') }}`` becomes a ``read_parquet([...])`` over that parent snapshot's files and
``{{ var('k') }}`` a SQL literal from the builder's config. The manifest stores the query with
``{{ ref('name@id') }}`` in place of file lists (``stored_sql``): exactly what ran, with no local path. Contracts (``unique``, ``not_null``, ``accepted_values``) are
checked on the result before anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import duckdb
import yaml

from factory.errors import BuildError
from factory.store.snapshot import Snapshot

SQL_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "sql"
_REF = re.compile(r"\{\{\s*ref\(\s*'([^']+)'\s*\)\s*\}\}")
_VAR = re.compile(r"\{\{\s*var\(\s*'([^']+)'\s*\)\s*\}\}")


def _literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def connect(snapshots: Sequence[Snapshot] = (), database: str = ":memory:", **kw: Any) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can read ``snapshots`` wherever they live.

    Snapshots on an object store are read through their fsspec filesystem, registered in
    DuckDB's Python API; extension downloads stay off (no httpfs fetched at run time).
    """
    con = duckdb.connect(database, **kw)
    con.execute("set autoinstall_known_extensions=false")
    con.execute("set autoload_known_extensions=false")
    register_filesystems(con, snapshots)
    return con


def register_filesystems(con: duckdb.DuckDBPyConnection, snapshots: Sequence[Snapshot]) -> None:
    from factory.store.fsio import filesystem

    seen = set()
    for snap in snapshots:
        if snap.remote:
            fs, _ = filesystem(snap.path)
            proto = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
            if proto not in seen:
                seen.add(proto)
                con.register_filesystem(fs)


def read_parquet_sql(paths: Sequence[str | Path]) -> str:
    """A DuckDB ``read_parquet([...])`` over exact files (quoted), as views and models use them."""
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{files}])"


def load(name: str) -> tuple[str, dict[str, Any]]:
    """The SQL text of model ``name`` and its contracts (``<name>.yml`` beside it, may be absent)."""
    sql = (SQL_DIR / f"{name}.sql").read_text()
    spec = SQL_DIR / f"{name}.yml"
    return sql, (yaml.safe_load(spec.read_text()) or {}) if spec.exists() else {}


def _sub_vars(sql: str, variables: dict[str, Any]) -> str:
    def var(m: re.Match) -> str:
        if m.group(1) not in variables:
            raise BuildError(f"SQL model uses var('{m.group(1)}') that the config does not provide")
        return _literal(variables[m.group(1)])

    return _VAR.sub(var, sql)


def render(sql: str, refs: dict[str, Snapshot | str], variables: dict[str, Any], split: str | None = None) -> str:
    """Substitute ``ref()`` and ``var()``; unknown names are errors naming the model's needs."""

    def ref(m: re.Match) -> str:
        name = m.group(1)
        if name not in refs:
            raise BuildError(f"SQL model refers to ref('{name}') but only {sorted(refs)} are available")
        target = refs[name]
        if isinstance(target, str):
            return target
        return read_parquet_sql(target.files(split))

    return _sub_vars(_REF.sub(ref, sql), variables)


def stored_sql(sql: str, refs: dict[str, Snapshot | str], variables: dict[str, Any]) -> str:
    """The form of a model's SQL that manifests keep: ``var()`` substituted, each parent as
    ``{{ ref('name@id') }}`` — no local path, so a published card says exactly what ran
    wherever the store lives; ``resolve_refs`` turns it back into runnable SQL."""

    def ref(m: re.Match) -> str:
        target = refs.get(m.group(1))
        if target is None:
            raise BuildError(f"SQL model refers to ref('{m.group(1)}') but only {sorted(refs)} are available")
        return target if isinstance(target, str) else "{{ ref('" + target.ref + "') }}"

    return _sub_vars(_REF.sub(ref, sql), variables)


def resolve_refs(sql: str, store: Any, split: str | None = None) -> str:
    """Resolve stored ``{{ ref('name@id') }}`` against ``store`` (a ``Store``) at run time."""
    names = set(_REF.findall(sql))
    return render(sql, {n: store.get(n) for n in names}, {}, split)


def check_contracts(con: duckdb.DuckDBPyConnection, relation: str, contracts: dict[str, Any]) -> None:
    """Run the YAML column tests against ``relation``; the first failure raises BuildError."""
    if contracts.get("unique"):
        cols = ", ".join(f'"{c}"' for c in contracts["unique"])
        ((bad,),) = con.execute(f"select count(*) from (select {cols} from {relation} group by all having count(*) > 1)").fetchall()
        if bad:
            raise BuildError(f"contract unique({', '.join(contracts['unique'])}) failed: {bad} duplicated key(s)")
    for col, tests in (contracts.get("columns") or {}).items():
        for test in tests or []:
            name, arg = (next(iter(test.items())) if isinstance(test, dict) else (test, None))
            if name == "not_null":
                q = f'select count(*) from {relation} where "{col}" is null'
            elif name == "unique":
                cols = ", ".join(f'"{c}"' for c in (arg or [col]))
                q = f"select count(*) from (select {cols} from {relation} group by all having count(*) > 1)"
            elif name == "accepted_values":
                values = ", ".join(_literal(v) for v in arg)
                q = f'select count(*) from {relation} where "{col}" is not null and "{col}" not in ({values})'
            else:
                raise BuildError(f"unknown column test {name!r} on {col!r}")
            ((bad,),) = con.execute(q).fetchall()
            if bad:
                raise BuildError(f"contract {name} failed on column {col!r}: {bad} offending row(s)")
