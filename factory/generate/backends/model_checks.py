"""What local-model backends check before loading a model, so that bad input is one clear line.

vLLM reports a missing folder, an unsupported head size or a model without a chat template
from inside its engine process, as a long log and ``Engine core initialization failed``.
These checks read the folder's ``config.json`` first and say what is wrong and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factory.errors import InputError

# vLLM 0.32's CPU attention kernels (``CPUAttentionBackend.get_supported_head_sizes``); read
# from vLLM when it is importable, this copy only names them when it is not.
CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)
# CPU engine settings when none are given: float32 (CPU kernels of bf16 need AVX512-BF16), eager
# mode (no torch.compile: it takes minutes on two cores), a fixed KV cache (by default vLLM
# reserves a share of *host* memory, which many engines on one machine cannot all take), a
# context that fits it, and no chunked prefill: a prompt split over two steps makes vLLM rewind
# its seeded generator, which CPU generators cannot ("CPU Generator does not use offset": the
# engine dies once a batch of seeded requests overflows one step).
CPU_DEFAULTS: dict[str, Any] = {"dtype": "float32", "enforce_eager": True, "kv_cache_memory_bytes": 1 << 30,
                                "max_model_len": 4096, "enable_chunked_prefill": False}


def has_cuda() -> bool:
    """Whether a CUDA GPU is visible (decides between GPU and CPU engine defaults)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def engine_defaults(on_cpu: bool, given: dict[str, Any]) -> dict[str, Any]:
    """The CPU defaults the caller did not set (nothing on a GPU).

    ``gpu_memory_utilization`` given on CPU means "size the KV cache as a share of host memory"
    (vLLM's CPU meaning), so then no fixed KV size is added.

    >>> engine_defaults(True, {"dtype": "auto"})["dtype"], "dtype" in engine_defaults(True, {"dtype": "bfloat16"})
    ('float32', False)
    >>> engine_defaults(False, {})
    {}
    >>> "kv_cache_memory_bytes" in engine_defaults(True, {"gpu_memory_utilization": 0.3})
    False
    """
    if not on_cpu:
        return {}
    out = {k: v for k, v in CPU_DEFAULTS.items() if given.get(k) in (None, "auto")}
    if given.get("gpu_memory_utilization") is not None:
        out.pop("kv_cache_memory_bytes", None)
    return out


def check_model(model: str, on_cpu: bool = False) -> None:
    """Fail with one line when ``model`` is a local path that cannot be loaded (``on_cpu``:
    by vLLM's CPU engine).

    A string that names no existing path but looks like one (absolute, ``./``, ``~``, or more
    than one ``/``) is a missing folder; a Hub id (``org/name``) is left to vLLM.
    """
    path = Path(model).expanduser()
    if not path.exists():
        if model.startswith((".", "/", "~")) or model.count("/") > 1:
            raise InputError(f"model folder {model} does not exist")
        return
    if not path.is_dir() or not (path / "config.json").is_file():
        raise InputError(f"model {model} is not a model folder: it has no config.json "
                         f"(give the folder that save_pretrained wrote)")
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"model {model}: config.json is not readable JSON ({exc})") from None
    if on_cpu:
        _check_cpu_head_size(model, config.get("text_config") or config)


def _check_cpu_head_size(model: str, config: dict[str, Any]) -> None:
    heads, hidden = config.get("num_attention_heads"), config.get("hidden_size")
    head_dim = config.get("head_dim") or (hidden // heads if heads and hidden else None)
    if head_dim is None:
        return
    supported = supported_cpu_head_sizes()
    if head_dim not in supported:
        raise InputError(f"model {model}: vLLM's CPU attention does not support head size {head_dim} "
                         f"(hidden_size {hidden} / {heads} heads); CPU kernels take {list(supported)}. "
                         f"Use backend 'transformers' for this model, or a GPU")


def supported_cpu_head_sizes() -> tuple[int, ...]:
    """Head sizes the installed vLLM's CPU attention accepts."""
    try:
        from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend
    except Exception:  # noqa: BLE001 (an older or GPU-only vLLM: fall back to the known list)
        return CPU_HEAD_SIZES
    return tuple(CPUAttentionBackend.get_supported_head_sizes())


def check_chat_template(engine: Any, model: str) -> None:
    """Fail with one line when chat requests meet a tokenizer without a chat template
    (vLLM would fail every request of the batch with the same error)."""
    get = getattr(engine, "get_tokenizer", None)
    if get is None:  # a stand-in engine
        return
    tokenizer = get()
    if not getattr(tokenizer, "chat_template", None):
        raise InputError(f"model {model} has no chat template, but the prompt template sends chat messages; "
                         f"use --template r1_zero (raw text prompts) or a checkpoint with a chat template")


def load_error(model: str, exc: BaseException) -> str:
    """One line for an engine that failed to start: the innermost cause's message."""
    inner = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    text = (str(inner).strip().splitlines() or [type(inner).__name__])[-1]
    return f"vLLM could not load model {model}: {type(inner).__name__}: {text}"
