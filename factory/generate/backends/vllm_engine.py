"""vLLM's offline engine as a backend: the fast path for rejection sampling on GPUs.

vLLM is an optional extra, imported only when an engine is built. Data parallelism runs
independent replicas in spawned processes, each pinned to its own GPUs, because
``LLM(data_parallel_size=k)`` is not supported in a single process (vLLM raises or hangs).
Any engine object with vLLM's ``generate``/``chat`` shape can be injected (``engine=`` or
``engine_factory=``), which is how the surrounding logic is tested without a GPU.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import time
import traceback
from types import SimpleNamespace
from typing import Any, Callable, Sequence

from factory.generate.backends.base import Backend, Request, Sample, SamplingParams, error_sample

INSTALL_HINT = ("vLLM is not installed: pip install 'r1-factory[vllm]' (needs a CUDA GPU), "
                "or use backend 'openai' against a vLLM server, or 'transformers' on CPU")
DEFAULT_FACTORY = "factory.generate.backends.vllm_engine:build_llm"
_FINISH = {"stop": "stop", "length": "length"}


def build_llm(**engine_kwargs: Any) -> Any:
    """Build a ``vllm.LLM``; the default ``engine_factory``."""
    try:
        from vllm import LLM
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return LLM(**engine_kwargs)


def to_vllm_kwargs(params: SamplingParams) -> dict[str, Any]:
    """Keyword arguments for ``vllm.SamplingParams``.

    >>> to_vllm_kwargs(SamplingParams(n=4, seed=1, stop=("</answer>",)))["stop"]
    ['</answer>']
    """
    return {"n": params.n, "temperature": params.temperature, "top_p": params.top_p,
            "max_tokens": params.max_tokens, "seed": params.seed, "stop": list(params.stop)}


def _sampling_params_class() -> Callable[..., Any]:
    """``vllm.SamplingParams``, or a plain namespace for stand-in engines when vLLM is absent."""
    try:
        from vllm import SamplingParams as VLLMSamplingParams
    except ImportError:
        return SimpleNamespace
    return VLLMSamplingParams


class VLLMBackend(Backend):
    """Generate with ``vllm.LLM`` (``chat`` for messages, ``generate`` for raw prompts).

    Args:
        model: model id or path.
        tensor_parallel_size: GPUs per replica.
        data_parallel_size: replicas, each in its own process on its own GPUs.
        gpu_memory_utilization: share of each GPU's memory vLLM may take.
        max_model_len: context length cap (prompt + completion); default: the model's.
        dtype: ``"auto"``, ``"bfloat16"``…
        seed: engine seed.
        gpu_ids: physical GPU ids to split across replicas (default ``0..dp*tp-1``).
        engine: an already-built engine (or stand-in) to use instead of building one.
        engine_factory: ``"module:function"`` that builds an engine from the engine kwargs.
        chat_template_kwargs: passed to ``LLM.chat`` (e.g. ``{"enable_thinking": True}``).
        engine_kwargs: any other ``vllm.LLM`` arguments.
    """

    name = "vllm"

    def __init__(self, model: str, *, tensor_parallel_size: int = 1, data_parallel_size: int = 1,
                 gpu_memory_utilization: float = 0.9, max_model_len: int | None = None,
                 dtype: str = "auto", seed: int = 0, gpu_ids: Sequence[int] | None = None,
                 engine: Any = None, engine_factory: str = DEFAULT_FACTORY,
                 chat_template_kwargs: dict | None = None,
                 engine_kwargs: dict[str, Any] | None = None) -> None:
        if tensor_parallel_size < 1 or data_parallel_size < 1:
            raise ValueError(f"tensor_parallel_size={tensor_parallel_size}, data_parallel_size="
                             f"{data_parallel_size}: both must be at least 1")
        if not 0 < gpu_memory_utilization <= 1:
            raise ValueError(f"gpu_memory_utilization={gpu_memory_utilization}: use a share in (0, 1]")
        if engine is not None and data_parallel_size > 1:
            raise ValueError("engine= is one engine; for data_parallel_size > 1 pass engine_factory=")
        self.model = str(model)
        kwargs = {"model": self.model, "tensor_parallel_size": tensor_parallel_size,
                  "gpu_memory_utilization": gpu_memory_utilization, "dtype": dtype, "seed": seed,
                  **({"max_model_len": max_model_len} if max_model_len else {}),
                  **(engine_kwargs or {})}
        self.chat_kwargs = {"chat_template_kwargs": chat_template_kwargs} if chat_template_kwargs else {}
        self.options = {k: v for k, v in kwargs.items() if k != "model"}
        self.options["data_parallel_size"] = data_parallel_size
        self._pool: _ReplicaPool | None = None
        if data_parallel_size > 1:
            groups = _gpu_groups(gpu_ids, data_parallel_size, tensor_parallel_size)
            self._pool = _ReplicaPool(engine_factory, kwargs, groups, self.chat_kwargs)
            self._engine = None
        else:
            self._engine = engine if engine is not None else load_object(engine_factory)(**kwargs)
        self._sp_class = _sampling_params_class()

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        """Sample ``params.n`` completions per request (see ``Backend.generate``).

        ``latency_s`` is the engine call's wall time divided by the number of requests
        (vLLM batches everything, so per-request wall time is not meaningful).
        """
        if self._pool is not None:
            return self._pool.generate(list(requests), params)
        return run_engine(self._engine, requests, params, self._sp_class, self.chat_kwargs)

    def close(self) -> None:
        """Stop replica processes and drop the engine."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._engine = None


def run_engine(engine: Any, requests: Sequence[Request], params: SamplingParams,
               sp_class: Callable[..., Any], chat_kwargs: dict) -> list[list[Sample]]:
    """One batch on one engine. If the engine rejects the batch with ``ValueError`` (vLLM does
    for a prompt longer than ``max_model_len``), retry request by request so only the bad
    request ends as error samples."""
    try:
        return _run_batch(engine, requests, params, sp_class, chat_kwargs)
    except ValueError as exc:
        if len(requests) == 1:
            return [[error_sample(f"{type(exc).__name__}: {exc}") for _ in range(params.n)]]
    return [one for r in requests for one in run_engine(engine, [r], params, sp_class, chat_kwargs)]


def _run_batch(engine: Any, requests: Sequence[Request], params: SamplingParams,
               sp_class: Callable[..., Any], chat_kwargs: dict) -> list[list[Sample]]:
    sp = sp_class(**to_vllm_kwargs(params))
    chat = [i for i, r in enumerate(requests) if r.messages is not None]
    raw = [i for i, r in enumerate(requests) if r.messages is None]
    start = time.perf_counter()
    outputs: list[Any] = [None] * len(requests)
    if chat:
        got = engine.chat([requests[i].messages for i in chat], sp, use_tqdm=False, **chat_kwargs)
        for i, out in zip(chat, got):
            outputs[i] = out
    if raw:
        got = engine.generate([requests[i].prompt for i in raw], sp, use_tqdm=False)
        for i, out in zip(raw, got):
            outputs[i] = out
    latency = (time.perf_counter() - start) / max(1, len(requests))
    return [convert_output(out, params.n, latency) for out in outputs]


def convert_output(out: Any, n: int, latency: float) -> list[Sample]:
    """Samples from one vLLM ``RequestOutput`` (``.prompt_token_ids``, ``.outputs[i]`` with
    ``.text``, ``.token_ids``, ``.finish_reason``); pads with error samples if fewer than n."""
    if out is None:
        return [error_sample("engine returned no output for this request", latency) for _ in range(n)]
    prompt_tokens = len(getattr(out, "prompt_token_ids", None) or ())
    completions = sorted(out.outputs, key=lambda c: getattr(c, "index", 0))
    samples = []
    for c in completions[:n]:
        finish = _FINISH.get(c.finish_reason, "error")
        error = None if finish != "error" else f"finish_reason={c.finish_reason}"
        samples.append(Sample(c.text, None, finish, prompt_tokens, len(c.token_ids), latency, error))
    missing = n - len(samples)
    return samples + [error_sample(f"engine returned {len(samples)} of {n} samples", latency)
                      for _ in range(missing)]


def load_object(path: str) -> Any:
    """``"package.module:name"`` → the object."""
    module, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"engine_factory={path!r}: write it as 'package.module:function'")
    return getattr(importlib.import_module(module), attr)


def _gpu_groups(gpu_ids: Sequence[int] | None, dp: int, tp: int) -> list[list[int]]:
    ids = list(gpu_ids) if gpu_ids is not None else list(range(dp * tp))
    if len(ids) < dp * tp:
        raise ValueError(f"gpu_ids={ids}: data_parallel_size={dp} x tensor_parallel_size={tp} "
                         f"needs {dp * tp} GPUs")
    return [ids[r * tp:(r + 1) * tp] for r in range(dp)]


class _ReplicaPool:
    """Independent engine replicas in spawned processes; a batch is split into contiguous
    shards, one per replica, and reassembled in order."""

    def __init__(self, factory: str, engine_kwargs: dict, groups: list[list[int]], chat_kwargs: dict) -> None:
        ctx = multiprocessing.get_context("spawn")  # CUDA cannot be forked
        self.conns, self.procs = [], []
        for gpus in groups:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_replica_main, args=(child, factory, engine_kwargs, gpus, chat_kwargs),
                               daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        try:
            for rank, conn in enumerate(self.conns):  # engines load in parallel; wait for all
                _expect(conn.recv(), rank)
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
            results += _expect(conn.recv(), rank)
        return results

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):  # a replica that already died
                conn.send(None)
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
        self.conns, self.procs = [], []


def _expect(message: tuple[str, Any], rank: int) -> Any:
    status, payload = message
    if status == "error":
        raise RuntimeError(f"vLLM replica {rank} failed:\n{payload}")
    return payload


def _replica_main(conn: Any, factory: str, engine_kwargs: dict, gpus: list[int], chat_kwargs: dict) -> None:
    """Child process: pin GPUs, build the engine, then serve batches until told to stop."""
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
    try:
        engine, sp_class = load_object(factory)(**engine_kwargs), _sampling_params_class()
    except BaseException:  # noqa: BLE001 (report anything, then exit)
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ready", None))
    while (message := conn.recv()) is not None:
        try:
            conn.send(("ok", run_engine(engine, message[0], message[1], sp_class, chat_kwargs)))
        except Exception:  # noqa: BLE001 (the parent re-raises with the traceback)
            conn.send(("error", traceback.format_exc()))
