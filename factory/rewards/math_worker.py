"""The math-verify side of the grader, run only in worker processes (its alarms need a main thread)."""

from __future__ import annotations

import logging
import math
import os
import resource
import signal
from typing import Any

CORRECT, WRONG, UNVERIFIABLE = 0, 1, 2
"""Result codes sent over the pipe (ints pickle faster than enums)."""


class MathVerifyJudge:
    """Parses golds and predictions with math-verify and compares them, with per-call alarms.

    One instance lives in each worker process; golds are parsed once per worker (a problem has
    8-16 samples).
    """

    def __init__(self, gold_cache_size: int = 4096) -> None:
        from math_verify import LatexExtractionConfig, parse, verify

        for name in ("math_verify", "math_verify.parser", "math_verify.grader", "latex2sympy2_extended"):
            logging.getLogger(name).disabled = True  # it logs whole inputs on timeouts
        self._parse, self._verify = parse, verify
        self._config = [LatexExtractionConfig(boxed_match_priority=0)]
        self._golds: dict[str, list[Any]] = {}
        self._gold_cache_size = gold_cache_size

    def parse(self, answer: str, timeout_s: float) -> list[Any]:
        """math-verify's parse of one bare answer (wrapped in ``\\boxed{}`` so it is the only match)."""
        seconds = max(1, math.ceil(timeout_s))
        return self._parse("\\boxed{" + answer + "}", self._config, parsing_timeout=seconds)

    def gold(self, gold: str, timeout_s: float) -> list[Any]:
        """Parsed gold (cached); an empty list means it is unverifiable."""
        parsed = self._golds.get(gold)
        if parsed is None:
            parsed = [x for x in self.parse(gold, timeout_s) if not isinstance(x, str)]
            if len(self._golds) >= self._gold_cache_size:
                self._golds.clear()
            self._golds[gold] = parsed
        return parsed

    def forget(self) -> None:
        """Drop cached golds."""
        self._golds.clear()

    def has_gold(self, gold: str) -> bool:
        """True once ``gold`` has been parsed (successfully or not) by this worker."""
        return gold in self._golds

    def judge(self, pred: str | None, gold: str, timeout_s: float, on_phase: Any = None) -> int:
        """Result code for one pair. ``on_phase("g")`` runs before a gold is parsed for the first
        time and ``on_phase("p")`` after, so the parent can blame the gold if the worker hangs."""
        new_gold = on_phase is not None and gold not in self._golds
        if new_gold:
            on_phase("g")
        gold_parsed = self.gold(gold, timeout_s / 3)
        if new_gold:
            on_phase("p")
        if not gold_parsed:
            return UNVERIFIABLE
        if pred is None:
            return WRONG
        pred_parsed = self.parse(pred, timeout_s / 3)
        if not pred_parsed:
            return WRONG
        exact = _exact_rationals(gold, pred, gold_parsed[0], pred_parsed[0])
        if exact is not None:
            return CORRECT if exact else WRONG
        seconds = max(1, math.floor(timeout_s / 3))
        if not self._verify(gold_parsed, pred_parsed, timeout_seconds=seconds):
            return WRONG
        if "." not in gold + pred and _constants_differ(gold_parsed[0], pred_parsed[0]):
            return WRONG  # math-verify compares numbers rounded: 355/113 "equals" pi
        return CORRECT


def _constants_differ(a: Any, b: Any) -> bool:
    """True when two exact constant expressions differ at 60 significant digits."""
    try:
        if a.free_symbols or b.free_symbols:
            return False
        diff = (a - b).evalf(60)
        scale = max(abs(a.evalf(60)), abs(b.evalf(60)), 1)
        return bool(diff.is_number and abs(diff) > scale * 1e-45)
    except Exception:  # noqa: BLE001 - sets, relations, matrices: keep math-verify's verdict
        return False


def _exact_rationals(gold: str, pred: str, a: Any, b: Any) -> bool | None:
    """Compare two integer-built expressions exactly (math-verify rounds, so it finds 1/2^99 equal
    to 1/2^98). ``None`` (let math-verify decide) for decimals, percents or anything else."""
    if "." in gold + pred or "%" in gold + pred:
        return None
    va, vb = exact_value(a), exact_value(b)
    if va is None or vb is None:
        return None
    return bool(va == vb)


def exact_value(expr: Any, max_bits: int = 1 << 16) -> Any:
    """The SymPy ``Rational`` an expression of integers, ``+ * / ^`` and ``n!`` evaluates to, or
    ``None`` when it has other parts or its size bound exceeds ``max_bits`` (never a huge power)."""
    from sympy import Rational

    if _bits(expr, max_bits) is None:
        return None
    value = expr.doit()
    return value if isinstance(value, Rational) else None


def _bits(expr: Any, budget: int, depth: int = 0) -> int | None:
    """Upper bound on the bit size of ``expr``'s value; ``None`` if unsupported or over ``budget``."""
    from sympy import Add, Integer, Mul, Pow, Rational, UnevaluatedExpr, factorial

    if depth > 50:
        return None
    if isinstance(expr, Rational):
        bits = max(int(expr.p).bit_length(), int(expr.q).bit_length())
    elif isinstance(expr, (Add, Mul, UnevaluatedExpr)):
        parts = [_bits(arg, budget, depth + 1) for arg in expr.args]
        bits = None if None in parts else sum(parts) + len(parts)
    elif isinstance(expr, Pow) and isinstance(expr.exp, Integer):
        base = _bits(expr.base, budget, depth + 1)
        bits = None if base is None else base * max(1, abs(int(expr.exp)))
    elif isinstance(expr, factorial) and isinstance(expr.args[0], Integer) and 0 <= expr.args[0] <= budget:
        n = int(expr.args[0])
        bits = n * max(1, n.bit_length())
    else:
        return None
    return bits if bits is not None and bits <= budget else None


def limit_memory(headroom_bytes: int) -> None:
    """Cap this process's address space at its current size plus ``headroom_bytes``, so a
    ``10^{10^{10}}`` raises MemoryError instead of swapping the machine (Linux only)."""
    try:
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = current + headroom_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        pass


def worker_main(conn: Any, memory_headroom: int) -> None:
    """Worker loop: send ``"ready"``; then receive ``(timeout_s, [(idx, pred, gold), ...])`` and
    send ``("g", idx)``/``("p", idx)`` around parsing a new gold, ``(idx, code)`` per item and
    ``None`` per chunk; stop on ``None`` or a closed pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and shuts us down
    limit_memory(memory_headroom)
    judge = MathVerifyJudge()
    judge.judge(r"\frac{x}{2}+1", r"1+0.5x", 5.0)  # warm SymPy's lazy imports before taking deadlines
    judge.forget()
    try:
        conn.send("ready")
        while (msg := conn.recv()) is not None:
            timeout_s, items = msg
            for idx, pred, gold in items:
                conn.send((idx, _judge_one(judge, conn, idx, pred, gold, timeout_s)))
            conn.send(None)
    except (EOFError, OSError):  # the parent went away
        return


def _judge_one(
    judge: MathVerifyJudge, conn: Any, idx: int, pred: str | None, gold: str, timeout_s: float
) -> int:
    """One pair's result code; a grader error is WRONG (UNVERIFIABLE if the gold never parsed)."""
    try:
        return judge.judge(pred, gold, timeout_s, on_phase=lambda tag: conn.send((tag, idx)))
    except (KeyboardInterrupt, SystemExit, OSError):
        raise
    except BaseException:  # noqa: BLE001 - math-verify's TimeoutException is a BaseException
        return WRONG if judge.has_gold(gold) else UNVERIFIABLE


def main(argv: list[str]) -> None:
    """Entry point of ``python -c`` workers: ``<read fd> <write fd> <memory headroom bytes>``."""
    from multiprocessing.connection import Connection

    read_fd, write_fd, headroom = (int(a) for a in argv)
    worker_main(_Duplex(Connection(read_fd, writable=False), Connection(write_fd, readable=False)), headroom)


class _Duplex:
    """Two one-way pipe ends seen as one connection."""

    def __init__(self, reader: Any, writer: Any) -> None:
        self.reader, self.writer = reader, writer

    def recv(self) -> Any:
        return self.reader.recv()

    def send(self, obj: Any) -> None:
        self.writer.send(obj)
