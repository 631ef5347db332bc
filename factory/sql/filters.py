"""Filters as SQL: run a dbt-style model to get one reason per row, then stream kept rows in order.

The model works on narrow columns (ids, verdicts, flags); the wide text columns are read
once, in the parent's own row order, and kept rows are picked with an Arrow ``is_in`` on
their keys — deterministic output without sorting gigabytes of text.
"""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from factory import settings as envconfig
from factory.sql import sqlmodel
from factory.store.snapshot import Snapshot

EMPTY_JUDGEMENTS = ("(select NULL::varchar as problem_id, NULL::integer as sample_idx, NULL::boolean as correct "
                    "where false)")


def run_model(model: str, refs: dict[str, Snapshot | str], variables: dict[str, Any],
              split: str | None = None) -> tuple[pa.Table, str]:
    """Run SQL model ``model`` and check its contracts; returns (result table, the SQL that ran,
    in its stored form: parents as ``{{ ref('name@id') }}``)."""
    text, contracts = sqlmodel.load(model)
    sql = sqlmodel.render(text, refs, variables, split)
    con = sqlmodel.connect([r for r in refs.values() if isinstance(r, Snapshot)])
    try:
        con.execute(f"set memory_limit='{envconfig.duckdb_memory_limit()}'")
        con.execute("set preserve_insertion_order=false")
        con.execute(f"create temp table model_result as {sql}").fetchall()
        sqlmodel.check_contracts(con, "model_result", contracts)
        table = con.sql("select * from model_result order by all").to_arrow_table()
    finally:
        con.close()
    return table, sqlmodel.stored_sql(text, refs, variables)


def row_keys(table: pa.Table | pa.RecordBatch, id_col: str = "problem_id", idx_col: str = "sample_idx") -> pa.Array:
    """``problem_id/sample_idx`` string keys for is_in lookups."""
    return pc.binary_join_element_wise(table.column(id_col).cast(pa.string()),
                                       table.column(idx_col).cast(pa.string()), "/")


def select_rows(snap: Snapshot, keys: pa.Array, *, split: str | None = None, columns: list[str] | None = None,
                batch_size: int = 20_000) -> Iterator[pa.RecordBatch]:
    """Stream the rows of ``snap`` whose ``problem_id/sample_idx`` key is in ``keys``, in snapshot order."""
    for batch in snap.batches(split, batch_size=batch_size, columns=columns):
        mask = pc.is_in(row_keys(batch), value_set=keys)
        if pc.any(mask).as_py():
            yield batch.filter(mask)


def rejects_of(decisions: pa.Table) -> Iterator[pa.RecordBatch]:
    """The rejected rows of a decisions table (narrow: keys, strata and reason; text stays in the parent)."""
    rejected = decisions.filter(pc.is_valid(decisions.column("reason")))
    yield from (rejected.to_batches(max_chunksize=100_000) or [pa.RecordBatch.from_pylist([], schema=decisions.schema)])
