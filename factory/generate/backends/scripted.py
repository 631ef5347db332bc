"""A scripted teacher: deterministic synthetic R1-style traces for offline demos and tests.

It reads the gold answer (or reference solution) from ``Request.metadata`` and writes a
think section with numbered steps and reflections, a markdown summary and a boxed answer
(math) or a python block (code), in the problem's language (en/zh). Configurable rates
inject the defects the R1 recipe filters out (wrong answers, mixed languages, overlong or
truncated output, broken tags, code in the CoT, run-on paragraphs), so every filter and
reward downstream has something to catch. Output is marked ``synthetic`` in the manifest.

Every choice is a function of (seed, request id, sample index) — a 128-bit xxh3 hash, no
RNG state — so reruns and shards give identical text. Token counts are estimates:
``len(text) // 4`` (at least 1).
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

import xxhash

from factory.generate.backends.base import Backend, Request, Sample, SamplingParams
from factory.generate.backends.scripted_traces import RATE_NAMES, STYLES, make_problem, write_trace

_MASK64 = (1 << 64) - 1


class ScriptedTeacherBackend(Backend):
    """Synthetic teacher; see the module docstring.

    Args:
        model: a label for the manifest (default ``"scripted-teacher"``).
        style: ``"r1"`` (``<think>\\n…\\n</think>\\n\\nsummary``, as R1's released models
            write), ``"r1_zero"`` (``<think>…</think> <answer>…</answer>``) or
            ``"readable"`` (``|special_token|reasoning|special_token|summary``, R1 cold start).
        seed: default seed; ``SamplingParams.seed`` overrides it.
        separate_reasoning: return the think section in ``Sample.reasoning`` and only the
            summary in ``text``, like a server running a reasoning parser.
        wrong_rate: share of samples with a plausible wrong answer (gold ± 1, off-by-one code).
        mixed_language_rate: share whose CoT contains sentences in the other language.
        overlong_rate: share that loop until ``max_tokens`` (``finish_reason="length"``).
        broken_tags_rate: share with a dropped or duplicated tag.
        code_in_cot_rate: share with a python block inside the CoT.
        long_paragraph_rate: share whose CoT is one run-on paragraph.
    """

    name = "scripted"
    synthetic = True

    def __init__(self, model: str = "scripted-teacher", *, style: str = "r1", seed: int = 0,
                 separate_reasoning: bool = False, wrong_rate: float = 0.0,
                 mixed_language_rate: float = 0.0, overlong_rate: float = 0.0,
                 broken_tags_rate: float = 0.0, code_in_cot_rate: float = 0.0,
                 long_paragraph_rate: float = 0.0) -> None:
        if style not in STYLES:
            raise ValueError(f"style={style!r}: choose one of {STYLES}")
        rates = (wrong_rate, mixed_language_rate, overlong_rate, broken_tags_rate,
                 code_in_cot_rate, long_paragraph_rate)
        for rate_name, rate in zip(RATE_NAMES, rates):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{rate_name}_rate={rate}: a rate is a share between 0 and 1")
        self.model, self.style, self.seed = model, style, int(seed)
        self.separate_reasoning = separate_reasoning
        self._thresholds = tuple(int(round(r * 1024)) for r in rates)
        self.options = {"style": style, "seed": self.seed, "separate_reasoning": separate_reasoning,
                        **{f"{n}_rate": float(r) for n, r in zip(RATE_NAMES, rates)}}

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        """Write ``params.n`` traces per request (see ``Backend.generate``).

        ``temperature == 0`` behaves like greedy decoding: all ``n`` samples are identical.
        """
        seed = (self.seed if params.seed is None else int(params.seed)) & _MASK64
        limit = params.max_tokens * 4
        greedy = params.temperature == 0
        with _gc_paused():
            return [self._samples(req, params, seed, limit, greedy) for req in requests]

    def _samples(self, req: Request, params: SamplingParams, seed: int, limit: int,
                 greedy: bool) -> list[Sample]:
        start = time.perf_counter()
        problem = make_problem(req.metadata, _prompt_of(req), self._thresholds[0] > 0)
        style, thresholds, stops = self.style, self._thresholds, params.stop
        key = f"{req.id}\x1f"
        out = []
        for i in range(params.n):
            h = xxhash.xxh3_128_intdigest(f"{key}{0 if greedy else i}".encode(), seed)
            text, reasoning, summary, cut = write_trace(problem, h, thresholds, style, limit)
            finish = "length" if cut else "stop"
            if stops:
                text, hit = _apply_stops(text, stops)
                finish = "stop" if hit else finish
            if self.separate_reasoning:
                text, reasoning = ("" if cut else summary), reasoning
            else:
                reasoning = None
            out.append(Sample(text, reasoning, finish, problem.prompt_tokens,
                              max(1, len(text) // 4), 0.0))
        latency = (time.perf_counter() - start) / params.n
        for sample in out:
            sample.latency_s = latency
        return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while writing samples: the loop allocates many small
    objects but creates no reference cycles, and collections triggered by those allocations
    scan the whole heap (halving throughput on large batches)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _prompt_of(req: Request) -> str:
    """The last user message (or the raw prompt): the text the trace quotes."""
    if req.prompt is not None:
        return req.prompt
    for message in reversed(req.messages or []):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return req.prompt_text()


def _apply_stops(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop string, as engines do."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
