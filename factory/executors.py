"""Executors run the shards of a split: in this process, or as Ray actors on a cluster.

A shard task is a picklable object with ``setup()`` (load the backend once per worker) and
``__call__(shard) -> Iterable[RecordBatch]``. Workers write their own part files into the
snapshot's work folder (tmp name + rename), so the same resume rule holds everywhere: a
finished part is never recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import pyarrow as pa

from factory.writer import SplitWriter, write_one_shard

EXECUTORS = ("local", "ray")


class ShardTask(Protocol):
    def setup(self) -> None: ...
    def __call__(self, shard: int) -> Iterable[pa.RecordBatch]: ...


def run_local(sw: SplitWriter, todo: list[int], task: ShardTask, on_done: Callable[[int, int], None]) -> None:
    task.setup()
    for shard in todo:
        on_done(shard, write_one_shard(sw.data_dir, sw.split, sw.kind, shard, task(shard)))


def run_ray(sw: SplitWriter, todo: list[int], task: ShardTask, on_done: Callable[[int, int], None],
            *, address: str | None = None, num_workers: int = 2, num_cpus_per_worker: float = 1,
            num_gpus_per_worker: float = 0) -> None:
    """One backend per Ray actor; shards are pulled by free actors. Needs ``pip install 'r1-factory[ray]'``."""
    try:
        import ray
    except ImportError:
        raise ImportError("the ray executor needs Ray: pip install 'r1-factory[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else max(num_workers, 1), include_dashboard=False,
                 ignore_reinit_error=True, log_to_driver=False)

    @ray.remote(num_cpus=num_cpus_per_worker, num_gpus=num_gpus_per_worker)
    class ShardWorker:
        def __init__(self, task: Any):
            self.task = task
            self.task.setup()

        def run(self, data_dir: str, split: str, kind: str | None, shard: int) -> tuple[int, int]:
            return shard, write_one_shard(Path(data_dir), split, kind, shard, self.task(shard))

    workers = [ShardWorker.remote(task) for _ in range(min(num_workers, len(todo)) or 1)]
    pool = ray.util.ActorPool(workers)
    results = pool.map_unordered(lambda w, s: w.run.remote(str(sw.data_dir), sw.split, sw.kind, s), todo)
    for shard, rows in results:
        on_done(shard, rows)
    for w in workers:
        ray.kill(w)
