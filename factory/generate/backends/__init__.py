"""Model-call backends behind one interface (vLLM, OpenAI-compatible HTTP, transformers, scripted)."""

from factory.generate.backends.base import Backend, Request, Sample, SamplingParams, make_backend

__all__ = ["Backend", "Request", "Sample", "SamplingParams", "make_backend"]
