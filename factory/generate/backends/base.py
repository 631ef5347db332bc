"""One interface for every way of calling a model, so builders never care which engine runs.

A builder hands a backend ``Request``s (a raw prompt or chat messages, plus gold metadata
the scripted teacher may use) and ``SamplingParams``; it gets back ``n`` ``Sample``s per
request, in order. ``info()`` goes into the manifest, so a snapshot always records which
engine, model and options produced it, and whether the text is synthetic.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import xxhash

FINISH_REASONS = ("stop", "length", "error")

# name -> "module:Class"; imported on demand so heavy engines load only when chosen.
_BACKENDS = {
    "vllm": "factory.generate.backends.vllm_engine:VLLMBackend",
    "openai": "factory.generate.backends.openai_compat:OpenAICompatBackend",
    "transformers": "factory.generate.backends.hf_transformers:TransformersBackend",
    "scripted": "factory.generate.backends.scripted:ScriptedTeacherBackend",
    "scripted_general": "factory.generate.backends.scripted_general:ScriptedGeneralBackend",
    "scripted_judge": "factory.generate.backends.scripted_judge:ScriptedJudgeBackend",
}
BACKEND_NAMES = frozenset(_BACKENDS)


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. Defaults are the R1 paper's evaluation settings (§3: temperature 0.6,
    top-p 0.95, up to 32,768 generated tokens)."""

    n: int = 1
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 32768
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.stop, str) or not isinstance(self.stop, tuple):
            stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
            object.__setattr__(self, "stop", stop)
        if self.n < 1:
            raise ValueError(f"SamplingParams.n={self.n}: ask for at least 1 sample per request")
        if self.temperature < 0:
            raise ValueError(f"SamplingParams.temperature={self.temperature}: use 0 (greedy) or more")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p={self.top_p}: must be in (0, 1]; 1 disables it")
        if self.max_tokens < 1:
            raise ValueError(f"SamplingParams.max_tokens={self.max_tokens}: must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for manifests and snapshot ids)."""
        return {"n": self.n, "temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens, "seed": self.seed, "stop": list(self.stop)}


@dataclass
class Request:
    """One prompt: either raw ``prompt`` text or chat ``messages``, never both.

    ``metadata`` carries the problem's gold (``answer``, ``tests``, ``language``, ``domain``,
    ``metadata``); real engines ignore it, the scripted teacher writes traces from it.
    """

    id: str
    prompt: str | None = None
    messages: list[dict] | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError(
                f"Request {self.id!r}: give exactly one of prompt= (raw text) or messages= (chat)"
            )

    def prompt_text(self) -> str:
        """The prompt as plain text (chat messages joined), for logging and token estimates."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(str(m.get("content") or "") for m in self.messages or ())


@dataclass(slots=True)
class Sample:
    """One completion. ``reasoning`` is set only when the engine returns the chain of thought
    separately (e.g. ``reasoning_content`` from a server with a reasoning parser);
    otherwise the think section stays inside ``text``. ``finish_reason`` is ``"stop"``
    (natural end or stop string), ``"length"`` (hit ``max_tokens``) or ``"error"``."""

    text: str
    reasoning: str | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    error: str | None = None


_SEED_MASK = (1 << 62) - 1  # engines and servers take a signed 64-bit seed; room for seed + sample index


def sample_seed(run_seed: int, request_id: str, sample_idx: int) -> int:
    """The seed of one sample: a hash of (run seed, request id, sample index).

    One seed for a whole batch makes sample ``i`` of every prompt share its random stream;
    a hash of all three keeps samples independent across prompts, reproducible in any batch
    order or shard layout, and lets a resume regenerate one sample exactly.

    >>> sample_seed(0, "p1", 0) == sample_seed(0, "p1", 0) != sample_seed(0, "p2", 0)
    True
    >>> 0 <= sample_seed(7, "p1", 3) < 2**63
    True
    """
    key = f"{request_id}\x1f{sample_idx}".encode()
    return xxhash.xxh64_intdigest(key, int(run_seed) & ((1 << 64) - 1)) & _SEED_MASK


class EndpointDown(RuntimeError):
    """The model endpoint stopped answering (connections refused again and again): stop the run
    instead of turning every remaining request into an error row."""


def error_sample(error: str, latency_s: float = 0.0) -> Sample:
    """A placeholder for a sample that could not be produced; the batch carries on."""
    return Sample("", None, "error", 0, 0, latency_s, error)


class Backend(ABC):
    """Base class of all model-call backends.

    Subclasses set ``name``, ``model`` and ``options`` (JSON-ready, no secrets) and
    implement ``generate``. Backends are context managers: ``with make_backend(...) as b:``.
    """

    name: str = "base"
    model: str = ""
    synthetic: bool = False
    options: dict[str, Any]

    @abstractmethod
    def generate(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        """Sample ``params.n`` completions for each request.

        Args:
            requests: prompts or chat conversations.
            params: sampling settings shared by the whole batch.

        Returns:
            One list of ``params.n`` samples per request, in request order. A request that
            fails permanently yields ``finish_reason="error"`` samples; it never aborts the batch.
        """

    def info(self) -> dict[str, Any]:
        """What the manifest records about this backend."""
        return {"backend": self.name, "model": self.model,
                "options": dict(getattr(self, "options", {})), "synthetic": self.synthetic}

    def close(self) -> None:  # noqa: B027  (optional hook: most backends hold nothing)
        """Release engines, processes and connections. Safe to call twice."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def backend_is_synthetic(name: str) -> bool:
    """Whether backend ``name`` writes synthetic text, from its class (no engine is built).

    The driver of a Ray run never builds a backend, so manifests ask the class, not an instance.

    >>> backend_is_synthetic("scripted_general"), backend_is_synthetic("openai")
    (True, False)
    """
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(_BACKENDS)}")
    module_name, cls_name = _BACKENDS[name].split(":")
    return bool(getattr(importlib.import_module(module_name), cls_name).synthetic)


def make_backend(name: str, model: str, **options: Any) -> Backend:
    """Build a backend by name.

    Args:
        name: ``"vllm"``, ``"openai"``, ``"transformers"`` or ``"scripted"``.
        model: model id or path (for ``"scripted"``, any label, e.g. ``"scripted-teacher"``).
        **options: backend-specific settings (see each backend's constructor).

    Returns:
        The backend, ready to ``generate``.

    >>> make_backend("scripted", "teacher").info()["synthetic"]
    True
    """
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(_BACKENDS)}")
    module_name, cls_name = _BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(model, **options)
