"""The view's SQL engine: only one SELECT runs, nothing outside the store is read, pages come from DuckDB."""

from __future__ import annotations

import threading

import pytest

from factory.view.engine import Engine, EngineConfig, QueryFailed, QueryRefused, check_query


@pytest.mark.parametrize("sql", ["drop table snapshots", "insert into lineage values (1,2,3,4)",
                                 "copy snapshots to '/tmp/x.csv'", "attach '/tmp/x.db' as x", "set threads=8",
                                 "select 1; select 2", "install httpfs", "create table t as select 1",
                                 "pragma enable_profiling"])
def test_non_select_statements_are_refused(sql):
    with pytest.raises(QueryRefused):
        check_query(sql)


def test_files_outside_the_store_are_refused(view_store, tmp_path):
    store, _ = view_store
    outside = tmp_path / "x.csv"
    outside.write_text("a\n1\n")
    eng = Engine(store)
    try:
        for sql in (f"select * from read_csv('{outside}')", f"select * from '{outside}'",
                    "select * from read_text('/etc/passwd')"):
            with pytest.raises(QueryFailed, match="disabled|Permission"):
                eng.page(sql)
        # the store's own files stay readable: views are read_parquet over them
        assert eng.page("select count(*) as n from rollouts").rows == [(1_000_000,)]
    finally:
        eng.close()


def test_pages_come_from_the_engine_and_stop_at_the_row_cap(view_store):
    store, _ = view_store
    eng = Engine(store, EngineConfig(page_size=10, row_cap=30))
    try:
        first = eng.page("select problem_id, sample_idx from rollouts where domain = 'code'")
        assert len(first.rows) == 10 and first.has_more and first.columns == ["problem_id", "sample_idx"]
        third = eng.page("select problem_id, sample_idx from rollouts where domain = 'code'", page=2)
        assert third.capped and not third.has_more and third.rows[0] not in first.rows
        with pytest.raises(QueryRefused, match="row cap"):
            eng.page("select * from rollouts", page=3)
    finally:
        eng.close()


def test_time_limit_and_cancel_interrupt_the_query_and_the_engine_keeps_serving(view_store):
    store, _ = view_store
    eng = Engine(store, EngineConfig(time_limit_s=0.5))
    slow = "select count(*) from range(1000000000000) a"
    try:
        with pytest.raises(QueryFailed, match="time limit"):
            eng.page(slow)
        eng2 = Engine(store, EngineConfig(time_limit_s=60))
        errors = []
        t = threading.Thread(target=lambda: errors.append(pytest.raises(QueryFailed, eng2.page, slow, 0, "q1")))
        t.start()
        while t.is_alive() and not eng2.cancel("q1"):
            t.join(0.05)
        t.join(30)
        assert not t.is_alive() and "cancelled" in str(errors[0].value)
        assert eng.page("select 42 as x").rows == [(42,)]
        eng2.close()
    finally:
        eng.close()


@pytest.mark.timeout(60)  # a lost cancel lets the query run its full ~100 s
def test_a_cancel_that_lands_before_duckdb_starts_the_query_still_stops_it(view_store, monkeypatch):
    """DuckDB clears the interrupt flag when a query begins; an early cancel must not be lost."""
    from factory.view import engine as engine_mod

    store, _ = view_store
    eng = Engine(store, EngineConfig(time_limit_s=120))
    start = engine_mod._Running.start

    def cancel_first(self):
        self.stop("cancel")  # the user's cancel arrives before cur.execute() is even called
        start(self)

    monkeypatch.setattr(engine_mod._Running, "start", cancel_first)
    try:
        with pytest.raises(QueryFailed, match="cancelled"):
            eng.page("select count(*) from range(1000000000000) a")
        monkeypatch.setattr(engine_mod._Running, "start", start)
        assert eng.page("select 7 as x").rows == [(7,)] and not eng._running
    finally:
        eng.close()
