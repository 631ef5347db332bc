"""Executors run the shards of a split: in this process, or as Ray actors on a cluster.

A shard task is a picklable object with ``setup()`` (load the backend once per worker) and
``__call__(shard) -> Iterable[RecordBatch]``; optionally ``stats()`` (the worker's cumulative
counters, e.g. tokens and cost) and ``absorb(worker, stats)`` (the driver's copy of a remote
worker's counters). Workers write their own part files into the snapshot's work folder (tmp
name + rename), so the same resume rule holds everywhere: a finished part is never recomputed.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import pyarrow as pa

from factory.store.writer import SplitWriter, write_one_shard

EXECUTORS = ("local", "processes", "ray")


class ShardTask(Protocol):
    def setup(self) -> None: ...
    def __call__(self, shard: int) -> Iterable[pa.RecordBatch]: ...


def run_local(sw: SplitWriter, todo: list[int], task: ShardTask, on_done: Callable[[int, int], None]) -> None:
    """Run ``todo`` shards one after another in this process, with one backend."""
    task.setup()
    for shard in todo:
        on_done(shard, write_one_shard(sw.data_dir, sw.split, sw.kind, shard, task(shard)))


_WORKER_TASK: dict[str, Any] = {}  # the task of this worker process (set once by the pool initializer)


def _init_worker(task: ShardTask) -> None:
    task.setup()
    _WORKER_TASK["task"] = task


def _run_in_worker(data_dir: str, split: str, kind: str | None, shard: int) -> tuple[int, int]:
    return shard, write_one_shard(Path(data_dir), split, kind, shard, _WORKER_TASK["task"](shard))


def run_processes(sw: SplitWriter, todo: list[int], task: ShardTask, on_done: Callable[[int, int], None],
                  *, num_workers: int | None = None) -> None:
    """Run shards in a pool of spawned processes (CPU-bound tasks such as scoring), one task copy each.

    Spawned, not forked: the parent may hold torch or math-verify worker threads.
    """
    import concurrent.futures as cf
    import multiprocessing as mp
    import os

    workers = max(1, min(num_workers or os.cpu_count() or 1, len(todo)))
    if workers == 1:
        return run_local(sw, todo, task, on_done)
    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                initargs=(task,)) as pool:
        futures = [pool.submit(_run_in_worker, str(sw.data_dir), sw.split, sw.kind, s) for s in todo]
        for fut in cf.as_completed(futures):
            on_done(*fut.result())


def run_ray(sw: SplitWriter, todo: list[int], task: ShardTask, on_done: Callable[[int, int], None],
            *, address: str | None = None, num_workers: int = 2, num_cpus_per_worker: float = 1,
            num_gpus_per_worker: float = 0) -> None:
    """Run ``todo`` shards on Ray actors, one backend per actor; free actors pull the next shard.

    Args:
        sw: the split being written; workers write into ``sw.data_dir``, which must be a path
            every node can reach (a shared filesystem on a multi-node cluster).
        todo: unfinished shard indexes.
        task: the shard task, pickled once per actor.
        on_done: called in the driver as each shard's part file lands.
        address: an existing cluster (``"auto"``, ``"ray://host:10001"``); default: reuse an
            initialized Ray or start a local one sized for the workers.
        num_workers: actors, i.e. backend replicas.
        num_cpus_per_worker: CPUs each actor reserves.
        num_gpus_per_worker: GPUs each actor reserves (vLLM replicas: the tensor-parallel size).

    Needs ``pip install 'r1-factory[ray]'``.
    """
    if num_workers < 1:
        raise ValueError(f"num_workers={num_workers}: the ray executor needs at least 1 worker")
    ray = _init_ray(address, math.ceil(num_workers * num_cpus_per_worker))
    worker_cls = ray.remote(num_cpus=num_cpus_per_worker, num_gpus=num_gpus_per_worker)(_ShardWorker)
    workers = [worker_cls.remote(task, i) for i in range(min(num_workers, len(todo)) or 1)]
    try:
        pool = ray.util.ActorPool(workers)
        args = (str(sw.data_dir), sw.split, sw.kind)
        for worker, shard, rows, stats in pool.map_unordered(lambda w, s: w.run.remote(*args, s), todo):
            if stats and hasattr(task, "absorb"):
                task.absorb(worker, stats)
            on_done(shard, rows)
    finally:
        for w in workers:
            ray.kill(w)


def _init_ray(address: str | None, num_cpus: int) -> Any:
    """Import and (if needed) start Ray quietly: no dashboard, worker logs stay on the workers."""
    try:
        import ray
    except ImportError:
        raise ImportError("the ray executor needs Ray: pip install 'r1-factory[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else max(num_cpus, 1), include_dashboard=False,
                 ignore_reinit_error=True, log_to_driver=False, logging_level=logging.ERROR)
    return ray


class _ShardWorker:
    """A Ray actor body: builds the backend once, then writes shard after shard."""

    def __init__(self, task: Any, index: int):
        self.task, self.index = task, index
        self.task.setup()

    def run(self, data_dir: str, split: str, kind: str | None, shard: int) -> tuple[int, int, int, dict]:
        rows = write_one_shard(Path(data_dir), split, kind, shard, self.task(shard))
        stats = self.task.stats() if hasattr(self.task, "stats") else {}
        return self.index, shard, rows, stats
