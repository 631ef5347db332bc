"""The per-completion text graders (format, language, readability) fanned out over worker processes.

Why: these graders cost ~100-150 µs per 3.8k-character completion even with their compiled
kernels (``text_kernel``; deflate, and the Python paths for rows the kernels hand back), and a
batch's distinct completions share nothing, so they split cleanly across cores while the parent
grades accuracy (which shares work across rows and stays in one process). Workers are
plain ``python -c`` subprocesses on inherited pipes, as in ``math_pool``: safe with threads and
torch in the parent and never re-importing the caller's ``__main__``. They are started once and
reused for every batch; a worker that dies mid-job is not trusted again and its chunk is graded
in the parent, so a crash costs time, never a wrong or missing column.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from itertools import accumulate
from multiprocessing.connection import Connection
from typing import Any, Sequence

import numpy as np

from factory import gc_pause
from factory.rewards.base import use_kernel
from factory.rewards.batch_text import Utf8Rows
from factory.rewards.format_reward import format_ok
from factory.rewards.language import language_consistency
from factory.rewards.readability import readability_reasons

INLINE_BELOW = 2_000
"""Fewer distinct completions than this are graded in the parent (the fan-out costs ~10 ms)."""

_FAILED = "failed"
_BOOT = "import sys; sys.path[:0] = __import__('json').loads(sys.argv[1]); " \
    "from factory.rewards.text_pool import serve; serve(int(sys.argv[2]), int(sys.argv[3]))"


@dataclass(frozen=True)
class TextJob:
    """What to grade per text: ``format_template`` None = no format; ``readability`` None = none."""

    format_template: str | None = None
    language: bool = False
    readability: Any = None


def grade(texts: Sequence[str] | Utf8Rows, languages: Sequence[str | None], templates: Sequence[str | None] | None,
          job: TextJob) -> tuple[list[bool] | None, list[float] | None, list[str | None] | None]:
    """(format_ok, language share (NaN = unknown target), readability reason) for each text.

    ``Utf8Rows`` (an Arrow column's bytes) are graded in place by ``text_grades`` when the
    kernel is on and the job's checks are ones its facts decide; the values are the same."""
    if isinstance(texts, Utf8Rows):
        from factory.rewards import text_grades

        if use_kernel(len(texts)) and text_grades.supports(job.readability):
            return text_grades.grade_rows(texts, languages, templates, job)
        texts = texts.texts()
    texts = list(texts)
    fmt = format_ok(texts, job.format_template, templates) if job.format_template else None
    share = language_consistency(texts, list(languages)).tolist() if job.language else None
    reasons = readability_reasons(texts, job.readability) if job.readability is not None else None
    return fmt, share, reasons


def warm_kernels(*, accuracy: bool = False, text: bool = True) -> None:
    """Load the compiled kernels a scoring batch calls (numba's disk cache) and the BMP tables."""
    from factory.rewards import text_kernel

    rows = Utf8Rows.from_strings(["<think>a</think> b"])
    if accuracy:
        text_kernel.summary_keys(rows.data, rows.starts, rows.ends)
    if text:
        text_kernel.text_facts(rows, lines=True)
        text_kernel.count_batch(rows, ["en"])


def serve(read_fd: int, write_fd: int) -> None:
    """Worker loop: a job in, its three result lists out; ``None`` stops it."""
    reader, writer = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    if use_kernel(INLINE_BELOW):
        try:
            warm_kernels()  # before "ready": the parent's first batch is then not kept waiting
        except Exception:  # noqa: BLE001 - a real fault shows in the first job
            pass
    writer.send("ready")
    while (msg := reader.recv()) is not None:
        try:
            with gc_pause.paused():  # per job: a long-lived worker still collects between jobs
                result = grade(*msg)
            writer.send(result)
        except Exception:  # noqa: BLE001 - the parent regrades the chunk and raises the error itself
            writer.send(_FAILED)


class TextPool:
    """Long-lived text-grading workers; ``submit`` splits a batch across them and the parent."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: list[tuple[subprocess.Popen, Connection, Connection]] = []
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def submit(self, texts: Sequence[str] | Utf8Rows, languages: Sequence[str | None],
               templates: Sequence[str | None] | None, job: TextJob, *, parent_share: float = 1.0) -> "Pending":
        """Hand all but the first chunk to the workers now; ``Pending.result()`` grades the rest here.

        ``parent_share`` sizes the parent's chunk against one worker's: below 1 when the parent
        has other work meanwhile (scoring grades accuracy there), so both finish together.

        The pool is held from ``submit`` to ``result`` (its pipes carry one batch at a time), so
        the caller must always call ``result()``, also when it fails in between.
        """
        self._lock.acquire()
        try:
            n = len(texts)
            live = self._live() if self.workers >= 1 and n >= INLINE_BELOW else []
            weights = [parent_share if live else 1.0] + [1.0] * len(live)
            bounds = [round(n * w / sum(weights)) for w in accumulate(weights, initial=0.0)]
            args = [(_part(texts, lo, hi, first=k == 0), languages[lo:hi],
                     None if templates is None else templates[lo:hi], job)
                    for k, (lo, hi) in enumerate(zip(bounds, bounds[1:]))]
            items: list[tuple[Any, tuple]] = [(None, args[0])]
            for worker, a in zip(live, args[1:]):
                items.append((worker if _send(worker[2], a) else self._drop(worker), a))
            return Pending(self, items)
        except BaseException:
            self._lock.release()
            raise

    def start(self) -> None:
        """Start the workers now (``submit`` would start them at the first large batch)."""
        with self._lock:
            if self.workers >= 1:
                self._live()

    def _live(self) -> list[tuple[subprocess.Popen, Connection, Connection]]:
        if os.getpid() != self._pid:  # forked: the inherited workers belong to the parent
            self._pool, self._pid = [], os.getpid()
        self._pool = [w for w in self._pool if w[0].poll() is None]
        while len(self._pool) < self.workers:
            worker = _spawn()
            if worker is None:
                break
            self._pool.append(worker)
        return list(self._pool)

    def _drop(self, worker) -> None:
        self._pool = [w for w in self._pool if w is not worker]
        _kill(worker)

    def close(self) -> None:
        with self._lock:
            for worker in self._pool:
                _send(worker[2], None)
                _kill(worker, wait_s=1.0)
            self._pool = []


class Pending:
    """A batch in flight, chunk by chunk: ``(worker, args)``, worker None = graded in the parent."""

    def __init__(self, pool: TextPool, items: list[tuple[Any, tuple]]) -> None:
        self.pool, self.items = pool, items

    def result(self) -> tuple[list[bool] | None, list[float] | None, list[str | None] | None]:
        """Grade the parent's chunk, then collect every worker's (always all of them: a reply
        left in a pipe would be read as the next batch's). A chunk whose worker died or failed
        is graded here, so an error is raised where the caller sees it."""
        try:
            parts: list[Any] = []
            for worker, args in self.items:
                parts.append(_attempt(args) if worker is None else _recv(worker[1]))
                if parts[-1] is None and worker is not None:  # it died; it is replaced next batch
                    self.pool._drop(worker)
        finally:
            self.pool._lock.release()
        parts = [_attempt(args) if got is None or got == _FAILED else got
                 for got, (_, args) in zip(parts, self.items)]
        for got in parts:
            if isinstance(got, BaseException):
                raise got
        return tuple(None if parts[0][i] is None else [v for part in parts for v in part[i]]
                     for i in range(3))  # type: ignore[return-value]


def _part(texts: Sequence[str] | Utf8Rows, lo: int, hi: int, first: bool) -> Sequence[str] | Utf8Rows:
    """Rows lo:hi; a worker's ``Utf8Rows`` chunk carries only its own bytes (the parent's is a view)."""
    if isinstance(texts, Utf8Rows):
        return texts.take(np.arange(lo, hi)) if first else texts.chunk(lo, hi)
    return texts[lo:hi]


def _attempt(args: tuple) -> Any:
    try:
        return grade(*args)
    except Exception as e:  # noqa: BLE001 - raised by result() once every worker's reply is read
        return e


def _spawn() -> tuple[subprocess.Popen, Connection, Connection] | None:
    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    paths = json.dumps([p for p in sys.path if p])
    proc = subprocess.Popen([sys.executable, "-c", _BOOT, paths, str(to_child_r), str(to_parent_w)],
                            pass_fds=(to_child_r, to_parent_w), stdin=subprocess.DEVNULL)
    os.close(to_child_r)
    os.close(to_parent_w)
    worker = (proc, Connection(to_parent_r, writable=False), Connection(to_child_w, readable=False))
    if _recv(worker[1], timeout_s=60.0) != "ready":
        _kill(worker)
        return None  # the batch is graded with the workers that did start (or in the parent)
    return worker


def _send(conn: Connection, msg: Any) -> bool:
    try:
        conn.send(msg)
        return True
    except (OSError, ValueError):
        return False


def _recv(conn: Connection, timeout_s: float | None = None) -> Any:
    try:
        if timeout_s is not None and not conn.poll(timeout_s):
            return None
        return conn.recv()
    except (EOFError, OSError):
        return None


def _kill(worker, wait_s: float = 0.0) -> None:
    proc, reader, writer = worker
    if wait_s:
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10.0)
    for conn in (reader, writer):
        if not conn.closed:
            conn.close()


_POOLS: dict[int, TextPool] = {}


def text_pool(workers: int) -> TextPool:
    """The process's pool of ``workers`` text graders (shared by every scoring call)."""
    pool = _POOLS.get(workers)
    if pool is None:
        pool = _POOLS[workers] = TextPool(workers)
    return pool


@atexit.register
def _close_all() -> None:
    for pool in _POOLS.values():
        pool.close()
