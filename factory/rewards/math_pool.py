"""Worker processes for math-verify with a hard per-item deadline: a stuck worker is killed and replaced.

math-verify guards itself with ``signal.alarm``, which only works in a main thread and cannot
interrupt a long C call (``10**(10**10)``), so the work runs in processes and the parent
enforces the deadline from outside. Workers are plain ``python -c`` subprocesses talking over
inherited pipes: like ``spawn`` they are safe with torch and threads loaded in the parent, and
unlike ``spawn``/``forkserver`` they never re-import the caller's ``__main__`` (a script without
an ``if __name__ == "__main__"`` guard would otherwise re-run itself in every worker).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Sequence

from factory.rewards.base import Verdict
from factory.rewards.math_worker import CORRECT, UNVERIFIABLE

INLINE_BELOW = 64
"""Fewer undecided pairs than this go to a single worker in one chunk (no fan-out overhead)."""

_VERDICTS = {CORRECT: Verdict.CORRECT, UNVERIFIABLE: Verdict.UNVERIFIABLE}
_BOOT = "import sys; sys.path[:0] = __import__('json').loads(sys.argv[1]); " \
    "from factory.rewards.math_worker import main; main(sys.argv[2:])"


@dataclass
class _Worker:
    process: subprocess.Popen
    reader: Connection
    writer: Connection
    inflight: list[tuple[int, str | None, str]] = field(default_factory=list)
    answered: int = 0
    gold_idx: int | None = None
    deadline: float = 0.0


@dataclass
class PoolResult:
    """What the pool decided for one pair; ``timed_out`` verdicts are not worth caching."""

    verdict: Verdict
    timed_out: bool = False


class MathVerifyPool:
    """A small set of long-lived math-verify worker processes, reused across batches.

    Args:
        workers: Number of processes (default: CPU count, at most 8).
        memory_headroom_gb: Address-space allowance per worker above its idle size.
        chunk_size: Most pairs sent to a worker at once.
        grace_s: Added to the per-item timeout before the parent kills a worker.
        start_timeout_s: How long a new worker may take to import math-verify.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_headroom_gb: float = 2.0,
        chunk_size: int = 32,
        grace_s: float = 1.0,
        start_timeout_s: float = 120.0,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers={workers} must be >= 1 (or None for the CPU count)")
        if chunk_size < 1:
            raise ValueError(f"chunk_size={chunk_size} must be >= 1")
        self.workers = workers or min(os.cpu_count() or 1, 8)
        self._headroom = int(memory_headroom_gb * 2**30)
        self._chunk = chunk_size
        self._grace = grace_s
        self._start_timeout = start_timeout_s
        self._pool: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.kills = 0

    def judge(self, pairs: Sequence[tuple[str | None, str]], timeout_s: float) -> list[PoolResult]:
        """Verdicts for ``(extracted answer, gold)`` pairs, in order; never hangs past the deadlines.

        Args:
            pairs: Pairs the fast path could not decide (``None`` answer = only check the gold).
            timeout_s: Per-item budget; math-verify's own alarms split it, the parent kills a
                worker after ``timeout_s + grace_s`` without progress.

        Returns:
            One ``PoolResult`` per pair.
        """
        if timeout_s <= 0:
            raise ValueError(f"timeout_s={timeout_s} must be > 0")
        if not pairs:
            return []
        with self._lock:
            return _Dispatch(self, list(pairs), timeout_s).run()

    def start(self) -> "MathVerifyPool":
        """Start all workers now (otherwise the first batch that needs them does)."""
        with self._lock:
            self._workers(self.workers)
        return self

    def close(self) -> None:
        """Stop all workers (politely, then by force)."""
        with self._lock:
            for w in self._pool:
                try:
                    w.writer.send(None)
                except (OSError, ValueError):
                    pass
            for w in self._pool:
                try:
                    w.process.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
                self._kill(w)
            self._pool = []

    def __enter__(self) -> "MathVerifyPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _workers(self, n: int) -> list[_Worker]:
        """At least ``n`` live, ready workers (started on demand, in parallel)."""
        if os.getpid() != self._pid:  # we were forked: the inherited workers belong to the parent
            self._pool, self._pid = [], os.getpid()
        for w in [w for w in self._pool if w.process.poll() is not None]:
            self._kill(w)
        self._pool = [w for w in self._pool if w.process.poll() is None]
        fresh = [self._spawn() for _ in range(n - len(self._pool))]
        for w in fresh:
            self._await_ready(w)
        self._pool += fresh
        return self._pool[:n]

    def _spawn(self) -> _Worker:
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        paths = json.dumps([p for p in sys.path if p])
        args = [sys.executable, "-c", _BOOT, paths, str(to_child_r), str(to_parent_w), str(self._headroom)]
        proc = subprocess.Popen(args, pass_fds=(to_child_r, to_parent_w), stdin=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(to_parent_w)
        return _Worker(proc, Connection(to_parent_r, writable=False), Connection(to_child_w, readable=False))

    def _await_ready(self, w: _Worker) -> None:
        ok = w.reader.poll(self._start_timeout)
        try:
            if ok and w.reader.recv() == "ready":
                return
        except (EOFError, OSError):
            pass
        self._kill(w)
        raise RuntimeError(
            f"math-verify worker did not start (exit code {w.process.returncode}); "
            f"check that `{sys.executable} -c 'import math_verify, factory'` works"
        )

    def _replace(self, dead: _Worker) -> _Worker:
        self._kill(dead)
        self.kills += 1
        self._pool = [w for w in self._pool if w is not dead]
        fresh = self._spawn()
        self._await_ready(fresh)
        self._pool.append(fresh)
        return fresh

    @staticmethod
    def _kill(w: _Worker) -> None:
        if w.process.poll() is None:
            w.process.kill()
        w.process.wait(timeout=10.0)
        for conn in (w.reader, w.writer):
            if not conn.closed:
                conn.close()


class _Dispatch:
    """One batch through the pool: chunked hand-out, streaming results, deadline enforcement."""

    def __init__(self, pool: MathVerifyPool, pairs: list[tuple[str | None, str]], timeout_s: float):
        self.pool, self.pairs, self.timeout_s = pool, pairs, timeout_s
        self.limit = timeout_s + pool._grace
        self.results: list[PoolResult | None] = [None] * len(pairs)
        self.pending = deque(range(len(pairs)))
        self.poisoned: set[str] = set()
        n = len(pairs)
        n_workers = 1 if n < INLINE_BELOW else pool.workers
        self.chunk = n if n < INLINE_BELOW else max(8, min(pool._chunk, math.ceil(n / (4 * n_workers))))
        self.idle = list(pool._workers(n_workers))
        self.busy: dict[Connection, _Worker] = {}

    def run(self) -> list[PoolResult]:
        while self.pending or self.busy:
            self._hand_out()
            if not self.busy:
                continue
            timeout = max(0.0, min(w.deadline for w in self.busy.values()) - time.monotonic())
            for conn in wait(list(self.busy), timeout=timeout):
                if conn in self.busy:
                    self._drain(self.busy[conn])
            for w in [w for w in self.busy.values() if w.deadline < time.monotonic()]:
                self._drain(w)  # a result may have landed since wait() returned
                if w.reader in self.busy and w.deadline < time.monotonic():
                    self._fail(w)
        return [r if r is not None else PoolResult(Verdict.WRONG, True) for r in self.results]

    def _hand_out(self) -> None:
        while self.idle and self.pending:
            items = []
            while self.pending and len(items) < self.chunk:
                idx = self.pending.popleft()
                pred, gold = self.pairs[idx]
                if gold in self.poisoned:
                    self.results[idx] = PoolResult(Verdict.UNVERIFIABLE, True)
                else:
                    items.append((idx, pred, gold))
            if not items:
                continue
            w = self.idle.pop()
            w.inflight, w.answered, w.gold_idx = items, 0, None
            w.deadline = time.monotonic() + self.limit
            self.busy[w.reader] = w
            try:
                w.writer.send((self.timeout_s, items))
            except (OSError, ValueError):  # died while idle: nothing to blame, retry elsewhere
                self._fail(w, blame=False)

    def _drain(self, w: _Worker) -> None:
        try:
            while w.reader.poll():
                msg = w.reader.recv()
                if msg is None:
                    del self.busy[w.reader]
                    self.idle.append(w)
                    return
                if msg[0] in ("g", "p"):
                    w.gold_idx = msg[1] if msg[0] == "g" else None
                    continue
                idx, code = msg
                self.results[idx] = PoolResult(_VERDICTS.get(code, Verdict.WRONG))
                w.answered += 1
                w.deadline = time.monotonic() + self.limit
        except (EOFError, OSError):
            self._fail(w)

    def _fail(self, w: _Worker, blame: bool = True) -> None:
        """Blame the item in progress (a gold being parsed → it is unverifiable), requeue the rest."""
        self.busy.pop(w.reader, None)
        if not blame:
            self.pending.extendleft(reversed([i for i, _, _ in w.inflight]))
        elif w.answered < len(w.inflight):
            idx, _, gold = w.inflight[w.answered]
            if w.gold_idx == idx:
                self.poisoned.add(gold)
                self.results[idx] = PoolResult(Verdict.UNVERIFIABLE, True)
            else:
                self.results[idx] = PoolResult(Verdict.WRONG, True)
            self.pending.extendleft(reversed([i for i, _, _ in w.inflight[w.answered + 1 :]]))
        self.idle.append(self.pool._replace(w))
