"""Data-parallel vLLM: independent engine replicas, each in its own spawned process.

``LLM(data_parallel_size=k)`` is not supported in one process (vLLM raises or hangs), so each
replica is a process pinned to its own GPUs (``CUDA_VISIBLE_DEVICES``) or, on CPU, its own cores
(``VLLM_CPU_OMP_THREADS_BIND``). The replicas are *not* daemonic: a vLLM engine starts its own
engine-core process, and a daemonic process may not have children. So the pool stops them
itself, on ``close()`` and, as a last resort, when the interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import traceback
from typing import Any, Sequence

from factory.generate.backends.base import Request, Sample, SamplingParams


def replica_env(gpu_ids: Sequence[int] | None, dp: int, tp: int, on_cpu: bool) -> list[dict[str, str]]:
    """The environment of each replica: its GPUs, or on CPU a share of this process's cores.

    >>> replica_env([4, 5, 6, 7], 2, 2, on_cpu=False)
    [{'CUDA_VISIBLE_DEVICES': '4,5'}, {'CUDA_VISIBLE_DEVICES': '6,7'}]
    """
    if on_cpu:
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
        if len(cores) < dp:
            return [{} for _ in range(dp)]  # fewer cores than replicas: let them share
        return [{"VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, cores[r::dp]))} for r in range(dp)]
    ids = list(gpu_ids) if gpu_ids is not None else list(range(dp * tp))
    if len(ids) < dp * tp:
        raise ValueError(f"gpu_ids={ids}: data_parallel_size={dp} x tensor_parallel_size={tp} "
                         f"needs {dp * tp} GPUs")
    return [{"CUDA_VISIBLE_DEVICES": ",".join(map(str, ids[r * tp:(r + 1) * tp]))} for r in range(dp)]


class ReplicaPool:
    """Engine replicas in spawned processes; a batch is split into contiguous shards, one per
    replica, and reassembled in order."""

    def __init__(self, factory: str, engine_kwargs: dict, envs: list[dict[str, str]], chat_kwargs: dict) -> None:
        ctx = multiprocessing.get_context("spawn")  # CUDA cannot be forked
        self.conns, self.procs = [], []
        atexit.register(self.close)
        for env in envs:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_replica_main, args=(child, factory, engine_kwargs, env, chat_kwargs),
                               daemon=False)  # the engine starts its own child process
            proc.start()
            child.close()  # so a replica that dies is seen as EOF, not a hang
            self.conns.append(parent)
            self.procs.append(proc)
        try:
            for rank, conn in enumerate(self.conns):  # engines load in parallel; wait for all
                _expect(_recv(conn, rank), rank)
        except BaseException:
            self.close()
            raise

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Sample]]:
        k = len(self.conns)
        bounds = [len(requests) * r // k for r in range(k + 1)]
        for r, conn in enumerate(self.conns):
            conn.send((requests[bounds[r]:bounds[r + 1]], params))
        results: list[list[Sample]] = []
        for rank, conn in enumerate(self.conns):
            results += _expect(_recv(conn, rank), rank)
        return results

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):  # a replica that already died
                conn.send(None)
        for proc in self.procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
        self.conns, self.procs = [], []
        atexit.unregister(self.close)


def _recv(conn: Any, rank: int) -> tuple[str, Any]:
    try:
        return conn.recv()
    except EOFError:
        return "error", f"the replica process exited (rank {rank}); see its log above"


def _expect(message: tuple[str, Any], rank: int) -> Any:
    status, payload = message
    if status == "error":
        last = (str(payload).strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"vLLM replica {rank} failed: {last}\n{payload}")
    return payload


def _replica_main(conn: Any, factory: str, engine_kwargs: dict, env: dict[str, str], chat_kwargs: dict) -> None:
    """Child process: pin GPUs or cores, build the engine, then serve batches until told to stop."""
    from factory.generate.backends.vllm_engine import _sampling_params_class, load_object, run_engine, shutdown

    os.environ.update(env)
    try:
        engine, sp_class = load_object(factory)(**engine_kwargs), _sampling_params_class()
    except BaseException:  # noqa: BLE001 (report anything, then exit)
        conn.send(("error", traceback.format_exc()))
        return
    try:
        conn.send(("ready", None))
        while (message := _recv(conn, -1)) is not None and message[0] != "error":
            try:
                conn.send(("ok", run_engine(engine, message[0], message[1], sp_class, chat_kwargs)))
            except Exception:  # noqa: BLE001 (the parent re-raises with the traceback)
                conn.send(("error", traceback.format_exc()))
    finally:  # a spawned child exits without atexit hooks: stop the engine core, or it outlives us
        shutdown(engine)
