"""The view's SQL engine: one read-only DuckDB over the catalog, locked so a query can only SELECT store files.

Why these guards: the console runs whatever a user pastes. The catalog file is opened
read-only; ``allowed_directories`` + ``enable_external_access=false`` + ``lock_configuration``
keep reads inside the store (no COPY TO, ATTACH, INSTALL, read_csv('/etc/passwd'), SET); and
only a single SELECT statement is accepted (checked with DuckDB's own parser). Each query
runs on its own cursor with a timer that calls ``interrupt()`` at the time limit, and pages
come from the engine with LIMIT/OFFSET, so no table is ever loaded whole.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

import duckdb

from factory.sql.catalog import Catalog, store_fingerprint
from factory.store.models import all_models
from factory.store.store import Store

ALLOWED = (duckdb.StatementType.SELECT,)


class QueryRefused(ValueError):
    """A statement the console does not run (not a single SELECT)."""


class QueryFailed(ValueError):
    """DuckDB rejected the query or it ran past the time limit; the message is one line."""


@dataclass(frozen=True)
class EngineConfig:
    page_size: int = field(default=50, metadata={"help": "rows per page"})
    row_cap: int = field(default=100_000, metadata={"help": "rows a query may page through or export"})
    time_limit_s: float = field(default=10.0, metadata={"help": "a query is interrupted after this"})
    memory_limit: str = field(default="512MB", metadata={"help": "DuckDB memory cap (spills to <store>/.tmp)"})
    threads: int = field(default=2, metadata={"help": "DuckDB worker threads"})

    def __post_init__(self) -> None:
        if self.page_size < 1 or self.row_cap < self.page_size or self.time_limit_s <= 0:
            raise ValueError(f"page_size={self.page_size}, row_cap={self.row_cap}, time_limit_s={self.time_limit_s}:"
                             " need page_size >= 1, row_cap >= page_size and a positive time limit")


@dataclass
class Page:
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    page: int
    has_more: bool
    elapsed_s: float
    capped: bool


def check_query(sql: str) -> str:
    """The query text if it is exactly one SELECT, else ``QueryRefused`` naming what was found.

    >>> check_query("select 1;")
    'select 1'
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryFailed(f"SQL error: {_first_line(e)}") from None
    if len(statements) != 1:
        raise QueryRefused(f"one statement per query, got {len(statements)}")
    st = statements[0]
    if st.type not in ALLOWED:
        raise QueryRefused(f"only SELECT queries run here (read-only view); got {st.type.name}")
    return st.query.strip().rstrip(";").strip()


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class Engine:
    """Owns the locked DuckDB connection; hands out cursors that can be interrupted (limit or cancel)."""

    def __init__(self, store: Store, config: EngineConfig | None = None):
        self.store, self.config = store, config or EngineConfig()
        self._lock = threading.Lock()
        self._running: dict[str, duckdb.DuckDBPyConnection] = {}
        self._con: duckdb.DuckDBPyConnection | None = None
        self._fingerprint = ""
        self._checked = 0.0

    def _open(self) -> duckdb.DuckDBPyConnection:
        cat = Catalog(self.store)
        if not cat.is_fresh():
            cat.rebuild()
        # A private in-memory instance with the catalog ATTACHed read-only. Connecting to the
        # catalog path directly would hand every Engine in the process DuckDB's one cached
        # instance of that file, whose configuration the first Engine has already locked.
        con = duckdb.connect(":memory:")
        catalog = str(cat.path).replace("'", "''")
        con.execute(f"attach '{catalog}' as catalog (read_only)")
        con.execute("use catalog")
        tmp = self.store.root / ".tmp" / "duckdb"
        tmp.mkdir(parents=True, exist_ok=True)
        root = str(self.store.root).replace("'", "''")
        for setting in (f"memory_limit='{self.config.memory_limit}'", f"threads={self.config.threads}",
                        f"temp_directory='{str(tmp)}'", f"allowed_directories=['{root}/']",
                        "enable_external_access=false", "autoinstall_known_extensions=false",
                        "autoload_known_extensions=false", "lock_configuration=true"):
            con.execute(f"set {setting}")
        return con

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The shared connection, reopened when the store gained or lost snapshots (checked every 2 s)."""
        with self._lock:
            now = time.monotonic()
            if self._con is None or now - self._checked > 2.0:
                self._checked = now
                fp = store_fingerprint(self.store.list(), all_models(self.store))
                if self._con is None or fp != self._fingerprint:
                    old, self._con, self._fingerprint = self._con, self._open(), fp
                    if old is not None:
                        old.close()
            return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.connection().cursor()
        cur.execute("use catalog")  # the default database is per cursor in DuckDB
        return cur

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    # -- running -------------------------------------------------------------------------
    def cancel(self, qid: str) -> bool:
        """Interrupt the running query ``qid``; False when it is not running (finished or unknown)."""
        with self._lock:
            q = self._running.get(qid)
        if q is None:
            return False
        q.stop("cancel")
        return True

    def _run(self, sql: str, params: list[Any] | None, qid: str | None, stream: bool = False):
        """Execute on a fresh cursor under the time limit; returns (cursor or Arrow reader, the running query)."""
        q = _Running(self.cursor(), qid or uuid.uuid4().hex, self.config.time_limit_s)
        with self._lock:
            self._running[q.qid] = q
        q.start()
        try:
            result = q.cur.sql(sql).to_arrow_reader(10_000) if stream else q.cur.execute(sql, params or [])
        except (duckdb.Error, RuntimeError) as e:
            self._finish(q)
            raise q.failure(e) from None
        return (result if stream else q.cur), q

    def _finish(self, q: "_Running") -> None:
        q.done()  # joins the watcher, so no interrupt() can race the close below
        with self._lock:
            self._running.pop(q.qid, None)
        q.cur.close()

    def page(self, sql: str, page: int = 0, qid: str | None = None, page_size: int | None = None) -> Page:
        """One page of a user query: the engine skips ``page * size`` rows and stops after ``size + 1``."""
        body = check_query(sql)
        size = page_size or self.config.page_size
        if page < 0 or (page + 1) * size > self.config.row_cap:
            raise QueryRefused(f"page {page} is past the row cap ({self.config.row_cap:,} rows); narrow the query")
        t0 = time.perf_counter()
        wrapped = f"select * from ({body}) as q limit {size + 1} offset {page * size}"
        cur, q = self._run(wrapped, None, qid)
        try:
            rows = cur.fetchall()
            cols = [d[0] for d in cur.description or []]
            types = [str(d[1]) for d in cur.description or []]
        except (duckdb.Error, RuntimeError) as e:
            raise q.failure(e) from None
        finally:
            self._finish(q)
        has_more = len(rows) > size
        capped = has_more and (page + 2) * size > self.config.row_cap
        return Page(cols, types, rows[:size], page, has_more and not capped, time.perf_counter() - t0, capped)

    def rows(self, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Run the view's own (trusted, parameterised) SQL under the same limits; small results only."""
        cur, q = self._run(sql, params, None)
        try:
            return [d[0] for d in cur.description or []], cur.fetchmany(self.config.row_cap)
        except (duckdb.Error, RuntimeError) as e:
            raise q.failure(e) from None
        finally:
            self._finish(q)

    def record_batches(self, sql: str) -> Iterator[Any]:
        """Stream a user query as Arrow record batches, at most ``row_cap`` rows (for exports)."""
        body = check_query(sql)
        reader, q = self._run(f"select * from ({body}) as q limit {self.config.row_cap}", None, None, stream=True)
        try:
            yield from reader
        except (duckdb.Error, RuntimeError) as e:
            raise q.failure(e) from None
        finally:
            self._finish(q)


class _Running:
    """One query in flight, and the thread that stops it at the time limit or on cancel.

    Why a thread that keeps interrupting: DuckDB clears a connection's interrupt flag when a
    query starts, so an ``interrupt()`` that lands between registering the query and DuckDB
    beginning it is lost and the query runs on. Once stopped, the watcher re-interrupts every
    50 ms until the query has ended, which closes that window.
    """

    def __init__(self, cur: duckdb.DuckDBPyConnection, qid: str, time_limit_s: float):
        self.cur, self.qid, self.time_limit_s = cur, qid, time_limit_s
        self.reason = ""  # "time" or "cancel" once stopped
        self._wake, self._ended = threading.Event(), threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True, name=f"query-{qid[:8]}")

    def start(self) -> None:
        self._watcher.start()

    def stop(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._wake.set()

    def done(self) -> None:
        self._ended.set()
        self._wake.set()
        self._watcher.join()

    def _watch(self) -> None:
        if not self._wake.wait(self.time_limit_s):
            self.reason = self.reason or "time"
        while not self._ended.is_set():
            try:
                self.cur.interrupt()
            except duckdb.Error:  # the cursor is already closed: nothing left to stop
                return
            self._ended.wait(0.05)

    def failure(self, e: BaseException) -> QueryFailed:
        """The one-line error for an exception the query raised, naming why it was stopped."""
        if self.reason == "time":
            return QueryFailed(f"query stopped at the time limit ({self.time_limit_s:g} s)")
        if self.reason == "cancel" or isinstance(e, duckdb.InterruptException):
            return QueryFailed("query cancelled")
        return QueryFailed(f"SQL error: {_first_line(e)}")
