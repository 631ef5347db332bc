"""Sharded, resumable generation: problems in, one rollout row per (problem, sample) out.

The stage's id depends only on its inputs (problems snapshot, backend, model, template,
sampling params), so changing a filter downstream never regenerates a token, and a killed
run resumes at the first unfinished shard: finished shards' tokens are never spent again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import pyarrow as pa

from factory.backends.base import Backend, SamplingParams, make_backend

GOLD_COLUMNS = ("answer", "tests", "domain", "language", "difficulty", "metadata")


@dataclass(frozen=True)
class GenerateConfig:
    """What to generate. Every field changes the output, so every field enters the snapshot id."""

    # --- model
    backend: str = field(default="scripted", metadata={"help": "vllm | openai | transformers | scripted"})
    model: str = field(default="scripted-teacher", metadata={"help": "model id, path, or served name"})
    backend_options: dict[str, Any] = field(default_factory=dict, metadata={"help": "output-affecting backend options"})
    template: str = field(default="chat", metadata={"help": "prompt template: r1_zero | chat | cold_start_few_shot"})
    # --- sampling (R1 defaults: 16 samples, temperature 0.6, top-p 0.95, 32k tokens)
    samples_per_prompt: int = field(default=16, metadata={"help": "samples per prompt"})
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 32768
    seed: int = 0
    # --- sharding (does not change rows, but shard boundaries are part of the resume contract)
    prompts_per_shard: int = field(default=256, metadata={"help": "prompts per shard (the unit of resume)"})
    limit: int | None = field(default=None, metadata={"help": "only the first N problems"})

    def __post_init__(self) -> None:
        if self.samples_per_prompt < 1:
            raise ValueError(f"samples_per_prompt={self.samples_per_prompt}: need at least 1")
        if self.prompts_per_shard < 1:
            raise ValueError(f"prompts_per_shard={self.prompts_per_shard}: need at least 1")

    def sampling(self) -> SamplingParams:
        return SamplingParams(n=self.samples_per_prompt, temperature=self.temperature, top_p=self.top_p,
                              max_tokens=self.max_tokens, seed=self.seed)


@dataclass
class GenerationTask:
    """A picklable shard task: each worker builds one backend, then generates shard after shard."""

    problems_files: list[str]
    config: GenerateConfig
    runtime_options: dict[str, Any] = field(default_factory=dict)  # url, api key, concurrency: not in the id
    backend: Backend | None = field(default=None, repr=False)

    def setup(self) -> None:
        if self.backend is None:
            opts = {**self.config.backend_options, **self.runtime_options}
            self.backend = make_backend(self.config.backend, self.config.model, **opts)

    def num_problems(self) -> int:
        import pyarrow.parquet as pq

        n = sum(pq.read_metadata(f).num_rows for f in self.problems_files)
        return min(n, self.config.limit) if self.config.limit is not None else n

    def num_shards(self) -> int:
        return max(1, math.ceil(self.num_problems() / self.config.prompts_per_shard))

    def problems(self, shard: int) -> pa.Table:
        from factory.snapshot import read_rows

        start = shard * self.config.prompts_per_shard
        stop = min(start + self.config.prompts_per_shard, self.num_problems())
        return read_rows(self.problems_files, start, stop)

    def __call__(self, shard: int) -> Iterator[pa.RecordBatch]:
        from factory.templates import get_template

        self.setup()
        table = self.problems(shard)
        template = get_template(self.config.template)
        rows = table.to_pylist()
        requests = [template.to_request(r) for r in rows]
        samples = self.backend.generate(requests, self.config.sampling()) if requests else []
        yield rollout_batch(rows, samples, self.config, self.backend, template.ref)


def rollout_batch(rows: list[dict], samples: list[list[Any]], cfg: GenerateConfig, backend: Backend,
                  template_ref: str) -> pa.RecordBatch:
    """Flatten n samples per problem into rollout rows (problem columns repeated, gold carried along)."""
    flat = [s for per in samples for s in per]
    rep = np.repeat(np.arange(len(rows)), [len(per) for per in samples]) if rows else np.zeros(0, int)
    idx = [i for per in samples for i in range(len(per))]
    cols: dict[str, Any] = {
        "problem_id": [rows[i]["problem_id"] for i in rep],
        "sample_idx": pa.array(idx, pa.int32()),
        "prompt": [rows[i].get("prompt") for i in rep],
        "completion": [s.text for s in flat],
        "reasoning": pa.array([s.reasoning for s in flat], pa.string()),
        "model": [backend.model] * len(flat),
        "backend": [backend.name] * len(flat),
        "template": [template_ref] * len(flat),
        "temperature": pa.array([cfg.temperature] * len(flat), pa.float32()),
        "top_p": pa.array([cfg.top_p] * len(flat), pa.float32()),
        "max_tokens": pa.array([cfg.max_tokens] * len(flat), pa.int32()),
        "seed": pa.array([cfg.seed] * len(flat), pa.int64()),
        "finish_reason": [s.finish_reason for s in flat],
        "prompt_tokens": pa.array([s.prompt_tokens for s in flat], pa.int32()),
        "completion_tokens": pa.array([s.completion_tokens for s in flat], pa.int32()),
        "latency_s": pa.array([s.latency_s for s in flat], pa.float32()),
        "error": pa.array([s.error for s in flat], pa.string()),
    }
    for col in GOLD_COLUMNS:
        if rows and col in rows[0]:
            values = [rows[i].get(col) for i in rep]
            cols[col] = pa.array(values, pa.int32() if col == "difficulty" else pa.string())
    return pa.RecordBatch.from_pydict(cols)
