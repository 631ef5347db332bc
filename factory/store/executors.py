"""Executors run the shards of a split: in this process, or as Ray actors on a cluster.

A shard task is a picklable object with ``setup()`` (load the backend once per worker) and
``__call__(shard) -> Iterable[RecordBatch]``; optionally ``stats()`` (the worker's cumulative
counters, e.g. tokens and cost) and ``absorb(worker, stats)`` (the driver's copy of a remote
worker's counters). Workers write their own part files into the snapshot's work folder (tmp
name + rename) or straight to its object-store prefix (one upload per part), so the same resume
rule holds everywhere: a finished part is never recomputed.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, Iterable, Protocol

import pyarrow as pa

from factory.store.parts import RemoteParts
from factory.store.writer import SplitWriter, write_one_shard

EXECUTORS = ("local", "processes", "ray")


class ShardTask(Protocol):
    def setup(self) -> None: ...
    def __call__(self, shard: int) -> Iterable[pa.RecordBatch]: ...


def run_local(sw: SplitWriter, todo: list[int], task: ShardTask, on_done: Callable[[int, int], None]) -> None:
    """Run ``todo`` shards one after another in this process, with one backend."""
    task.setup()
    for shard in todo:
        on_done(shard, write_one_shard(sw.dest, sw.split, sw.kind, shard, task(shard)))


_WORKER_TASK: dict[str, Any] = {}  # the task of this worker process (set once by the pool initializer)


def _init_worker(task: ShardTask) -> None:
    from factory.settings import use_jemalloc_for_arrow

    use_jemalloc_for_arrow()  # as the CLI does: a spawned worker starts on pyarrow's default pool
    task.setup()
    _WORKER_TASK["task"] = task


def _run_in_worker(dest: Any, split: str, kind: str | None, shard: int) -> tuple[int, int]:
    return shard, write_one_shard(dest, split, kind, shard, _WORKER_TASK["task"](shard))


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
        futures = [pool.submit(_run_in_worker, sw.dest, sw.split, sw.kind, s) for s in todo]
        for fut in cf.as_completed(futures):
            on_done(*fut.result())


def run_ray(sw: SplitWriter, todo: list[int], task: ShardTask, on_done: Callable[[int, int], None],
            *, address: str | None = None, num_workers: int = 2, num_cpus_per_worker: float = 1,
            num_gpus_per_worker: float = 0, max_shard_retries: int = 3, connect_timeout_s: float = 20.0) -> None:
    """Run ``todo`` shards on Ray actors, one backend per actor; free actors pull the next shard.

    A shard whose actor dies (its node was lost) goes back to the queue and runs on another actor,
    which Ray restarts elsewhere; it rewrites the same part, so the result is exact.

    Args:
        sw: the split being written; workers write their parts straight into ``sw.dest``: an
            object-store prefix (no shared filesystem needed) or, on one machine, a local folder.
        todo: unfinished shard indexes.
        task: the shard task, pickled once per actor.
        on_done: called in the driver as each shard's part file lands.
        address: an existing cluster (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``); default:
            reuse an initialized Ray or start a local one sized for the workers.
        num_workers: actors, i.e. backend replicas.
        num_cpus_per_worker: CPUs each actor reserves.
        num_gpus_per_worker: GPUs each actor reserves (a vLLM replica: its tensor-parallel size).
        max_shard_retries: how often one shard may lose its actor before the run fails.
        connect_timeout_s: how long an ``address`` may take to answer.

    Needs ``pip install 'r1-factory[ray]'``.
    """
    if num_workers < 1:
        raise ValueError(f"num_workers={num_workers}: the ray executor needs at least 1 worker")
    ray = _init_ray(address, math.ceil(num_workers * num_cpus_per_worker), connect_timeout_s)
    if not isinstance(sw.dest, RemoteParts) and len([n for n in ray.nodes() if n.get("Alive")]) > 1:
        logging.getLogger(__name__).warning(
            "a local store on a %d-node Ray cluster: every node must see %s (a shared filesystem); "
            "an object store (--store s3://...) needs none", len(ray.nodes()), sw.dest.path)
    worker_cls = ray.remote(num_cpus=num_cpus_per_worker, num_gpus=num_gpus_per_worker, max_restarts=-1,
                            max_task_retries=0)(_ShardWorker)
    workers = [worker_cls.remote(task, i) for i in range(min(num_workers, len(todo)) or 1)]
    try:
        _drain(ray, workers, todo, (sw.dest, sw.split, sw.kind), task, on_done, max_shard_retries)
    finally:
        for w in workers:
            ray.kill(w, no_restart=True)


def _drain(ray: Any, workers: list, todo: list[int], args: tuple, task: Any, on_done: Callable[[int, int], None],
           max_retries: int, patience: int = 600) -> None:
    """Keep every actor busy until all shards are written.

    A shard whose actor fails (its node died) goes back to the queue for the other actors; the
    failed actor is pinged until Ray has restarted it (elsewhere) and then rejoins, or is given up
    after ``patience`` failed pings.
    """
    from ray.exceptions import NodeDiedError, ObjectLostError, RayActorError, WorkerCrashedError

    lost_actor = (RayActorError, WorkerCrashedError, NodeDiedError, ObjectLostError)
    queue, idle, inflight = list(reversed(todo)), list(workers), {}
    lost, pings = dict.fromkeys(todo, 0), {}
    while queue or any(kind == "run" for kind, _, _ in inflight.values()):
        while queue and idle:
            w, shard = idle.pop(), queue.pop()
            inflight[w.run.remote(*args, shard)] = ("run", w, shard)
        if not inflight:
            raise RuntimeError(f"every Ray worker is gone; {len(queue)} shard(s) left unwritten")
        (ready,), _ = ray.wait(list(inflight), num_returns=1)
        kind, w, shard = inflight.pop(ready)
        try:
            result = ray.get(ready)
        except lost_actor as e:
            if kind == "run":
                lost[shard] += 1
                if lost[shard] > max_retries:
                    raise RuntimeError(f"shard {shard} lost its Ray worker {lost[shard]} times; last: {e}") from None
                logging.getLogger(__name__).warning("shard %d: its Ray worker failed (%s); requeued", shard,
                                                    type(e).__name__)
                queue.append(shard)
            else:
                time.sleep(0.1)  # the actor is being restarted: ask again shortly
            pings[w] = pings.get(w, 0) + 1
            if pings[w] <= patience:
                inflight[w.ping.remote()] = ("ping", w, None)
            continue
        pings.pop(w, None)
        idle.append(w)
        if kind == "run":
            index, shard, rows, stats = result
            if stats and hasattr(task, "absorb"):
                task.absorb(index, stats)
            on_done(shard, rows)


def _check_reachable(address: str, timeout_s: float) -> None:
    """Fail within ``timeout_s`` when a cluster address does not answer (Ray itself may wait minutes)."""
    import socket

    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise ConnectionError(f"the Ray cluster at {address} does not answer within {timeout_s:g}s "
                              f"({e.strerror or type(e).__name__})") from None


def _init_ray(address: str | None, num_cpus: int, connect_timeout_s: float = 20.0) -> Any:
    """Import and (if needed) start Ray quietly: no dashboard, worker logs stay on the workers."""
    try:
        import ray
    except ImportError:
        raise ImportError("the ray executor needs Ray: pip install 'r1-factory[ray]'") from None
    if not ray.is_initialized():
        if address:
            _check_reachable(address, connect_timeout_s)
        ray.init(address=address, num_cpus=None if address else max(num_cpus, 1), include_dashboard=False,
                 ignore_reinit_error=True, log_to_driver=False, logging_level=logging.ERROR)
    return ray


class _ShardWorker:
    """A Ray actor body: builds the backend once, then writes shard after shard."""

    def __init__(self, task: Any, index: int):
        self.task, self.index = task, index
        self.task.setup()

    def ping(self) -> bool:
        return True

    def run(self, dest: Any, split: str, kind: str | None, shard: int) -> tuple[int, int, int, dict]:
        rows = write_one_shard(dest, split, kind, shard, self.task(shard))
        stats = self.task.stats() if hasattr(self.task, "stats") else {}
        return self.index, shard, rows, stats
