"""gc_pause keeps the cyclic collector out of the scoring loop and always gives it back."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from factory import gc_pause
from factory.rewards.scoring import ScoreConfig, score_batches


@pytest.fixture(autouse=True)
def _collector_on():
    gc.enable()
    yield
    gc.unfreeze()
    gc.enable()


def test_paused_disables_and_restores_nested() -> None:
    with gc_pause.paused():
        assert not gc.isenabled() and gc.get_freeze_count() > 0
        with gc_pause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner exit leaves the outer pause in place
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_paused_keeps_a_disabled_collector_disabled() -> None:
    gc.disable()
    with gc_pause.paused():
        pass
    assert not gc.isenabled()


def test_a_freeze_made_by_the_process_itself_stands() -> None:
    gc.freeze()
    before = gc.get_freeze_count()
    with gc_pause.paused():
        pass
    assert gc.get_freeze_count() >= before > 0  # not unfrozen behind the caller's back
    assert gc.isenabled()


def test_settle_freezes_survivors_only_inside_a_pause() -> None:
    gc_pause.settle()
    assert gc.get_freeze_count() == 0  # outside a pause it does nothing
    with gc_pause.paused():
        before = gc.get_freeze_count()
        kept = [[i] for i in range(1000)]
        gc_pause.settle()
        assert gc.get_freeze_count() >= before + 1000
        del kept


def test_cycles_made_while_paused_are_collected_after() -> None:
    import weakref

    class Node:
        pass

    with gc_pause.paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        gc_pause.settle()
        gc.collect()
        assert ref() is not None  # frozen: not even a full collection walks it inside the loop
    gc.collect()
    assert ref() is None  # unfrozen at the end, the cycle is garbage like any other


def _batches(n: int) -> list[pa.RecordBatch]:
    texts = [f"<think>t</think> \\boxed{{{i % 7}}}" for i in range(n)]
    return [pa.RecordBatch.from_pydict({"completion": texts, "answer": [str(i % 7) for i in range(n)]})]


def test_score_batches_runs_paused_and_restores_the_collector() -> None:
    seen = []
    it = score_batches(_batches(300), ScoreConfig(rewards=("accuracy",), batch_rows=100))
    for out in it:
        seen.append(out.num_rows)
    assert seen == [100, 100, 100]
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_abandoned_score_batches_restores_the_collector() -> None:
    it = score_batches(_batches(300), ScoreConfig(rewards=("accuracy",), batch_rows=100))
    next(it)
    it.close()  # stops the scoring thread, whose generator exits its pause
    assert gc.isenabled() and gc.get_freeze_count() == 0


EXIT_PROBE = """
import gc, sys
from factory import gc_pause
if sys.argv[1] == "skip":
    gc_pause.skip_exit_collection()
    gc_pause.skip_exit_collection()  # idempotent: one hook
class Node:
    def __del__(self):
        sys.stdout.write("finalized\\n")
gc.disable()
a, b = Node(), Node()
a.other, b.other = b, a
del a, b  # a garbage cycle: only a collection finds it
"""


@pytest.mark.parametrize("mode", ["default", "skip"])
def test_exit_collection_skips_the_frozen_heap(mode) -> None:
    """The interpreter's last collection finds the garbage cycle unless the heap was frozen at exit."""
    out = subprocess.run([sys.executable, "-c", EXIT_PROBE, mode], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert out.stdout.count("finalized") == (2 if mode == "default" else 0)
