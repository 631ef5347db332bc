"""Sharded, resumable generation: problems in, one rollout row per (problem, sample) out.

The stage's id depends only on its inputs (problems snapshot, backend, model, template,
sampling params), so changing a filter downstream never regenerates a token, and a killed
run resumes at the first unfinished shard: finished shards' tokens are never spent again.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn
from rich.table import Column
from rich.text import Text

from factory.generate.backends.base import BACKEND_NAMES, Backend, Sample, SamplingParams, make_backend, sample_seed
from factory.store.snapshot import RowRangeReader

GOLD_COLUMNS = ("answer", "tests", "domain", "language", "difficulty", "metadata")
# Problem columns a template may read (prompt aliases + gold); the rest stay out of Python.
_REQUEST_COLUMNS = ("problem_id", "prompt", "problem", "question", *GOLD_COLUMNS)
# Text characters per rollout batch: at most 4 UTF-8 bytes each, a string column stays under
# Arrow's 2 GiB offset limit even at 16 samples x 32k tokens per prompt.
_BATCH_CHARS = 2**28
_SAMPLE_STRINGS = ("text", "reasoning", "finish_reason", "error")
_SAMPLE_NUMBERS = (("prompt_tokens", np.int32), ("completion_tokens", np.int32), ("latency_s", np.float32))


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
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit={self.limit}: use a positive number of problems, or no limit")

    def sampling(self) -> SamplingParams:
        return SamplingParams(n=self.samples_per_prompt, temperature=self.temperature, top_p=self.top_p,
                              max_tokens=self.max_tokens, seed=self.seed)


def options_for(backend: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options of ``backend``: plain keys apply to every backend, a key named after a backend
    holds options only that one takes (a builder's scripted-teacher ``style`` must not reach vLLM).

    >>> options_for("vllm", {"scripted": {"style": "readable"}, "enforce_eager": True})
    {'enforce_eager': True}
    >>> options_for("scripted", {"scripted": {"style": "readable"}})
    {'style': 'readable'}
    """
    out = {k: v for k, v in options.items() if k not in BACKEND_NAMES}
    own = options.get(backend) or {}
    if not isinstance(own, dict):
        raise ValueError(f"backend_options[{backend!r}]={own!r}: give a mapping of that backend's options")
    return {**out, **own}


ProblemReader = RowRangeReader  # the problems files of a generation stage, read shard by shard


@dataclass
class GenerationTask:
    """A picklable shard task: each worker builds one backend, then generates shard after shard."""

    problems_files: list[str]
    config: GenerateConfig
    runtime_options: dict[str, Any] = field(default_factory=dict)  # url, api key, concurrency: not in the id
    backend: Backend | None = field(default=None, repr=False)
    _reader: ProblemReader | None = field(default=None, repr=False)
    generated_tokens: int = field(default=0, repr=False)  # by this worker's backend, this run
    worker_stats: dict[int, dict[str, float]] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # Ship only the recipe to workers: each builds its own backend (engines do not pickle).
        return {**self.__dict__, "backend": None, "_reader": None, "generated_tokens": 0, "worker_stats": {}}

    def setup(self) -> None:
        if self.backend is None:
            opts = {**options_for(self.config.backend, self.config.backend_options), **self.runtime_options}
            self.backend = make_backend(self.config.backend, self.config.model, **opts)

    @property
    def reader(self) -> ProblemReader:
        if self._reader is None:
            self._reader = ProblemReader(self.problems_files)
        return self._reader

    def num_problems(self) -> int:
        n = self.reader.num_rows
        return min(n, self.config.limit) if self.config.limit is not None else n

    def num_shards(self) -> int:
        return max(1, math.ceil(self.num_problems() / self.config.prompts_per_shard))

    def problems(self, shard: int) -> pa.Table:
        start = shard * self.config.prompts_per_shard
        stop = min(start + self.config.prompts_per_shard, self.num_problems())
        return self.reader.read(start, stop)

    def __call__(self, shard: int) -> Iterator[pa.RecordBatch]:
        return self.generate_table(self.problems(shard))

    def regenerate(self, shard: int, problem_ids: list[str]) -> pa.Table:
        """Fresh rollout rows (all samples) of some problems of ``shard``: for retrying error rows."""
        table = self.problems(shard)
        table = table.filter(pc.is_in(table.column("problem_id"), pa.array(problem_ids, table.schema.field("problem_id").type)))
        batches = list(self.generate_table(table))
        return pa.Table.from_batches(batches) if batches else pa.table({"problem_id": [], "sample_idx": []})

    def endpoint(self) -> str:
        """Where the model calls went, for error messages: the server URL, else backend:model."""
        opts = self.backend.info().get("options", {}) if self.backend is not None else {}
        return str(opts.get("base_url") or self.runtime_options.get("base_url") or
                   f"{self.config.backend}:{self.config.model}")

    def generate_table(self, table: pa.Table) -> Iterator[pa.RecordBatch]:
        """Rollout batches of the problems in ``table``."""
        from factory.generate.templates import get_template

        self.setup()
        template = get_template(self.config.template)
        names = [c for c in _REQUEST_COLUMNS if c in table.column_names]
        rows = [dict(zip(names, values)) for values in zip(*(table.column(c).to_pylist() for c in names))]
        requests = [template.to_request(r) for r in rows]
        samples = self.backend.generate(requests, self.config.sampling()) if requests else []
        for lo, hi in _batch_bounds(samples):
            batch = rollout_batch(table.slice(lo, hi - lo), samples[lo:hi], self.config, self.backend, template.ref)
            self.generated_tokens += pc.sum(batch.column("completion_tokens")).as_py() or 0
            yield batch

    def stats(self) -> dict[str, float]:
        """Counters of this run: ``generated_tokens`` plus the backend's own (requests, retries,
        ``cost_usd`` ...), of this worker and of the remote workers reported through ``absorb``."""
        local = getattr(self.backend, "stats", None)
        mine = {**(local() if callable(local) else {}), "generated_tokens": self.generated_tokens}
        total: dict[str, float] = {}
        for part in [*self.worker_stats.values(), mine]:
            for k, v in part.items():
                total[k] = total.get(k, 0) + v
        return total

    def absorb(self, worker: int, stats: dict[str, float]) -> None:
        """Record a remote worker's cumulative counters (called by the Ray executor)."""
        self.worker_stats[worker] = dict(stats)


def _batch_bounds(samples: list[list[Sample]], budget: int = _BATCH_CHARS) -> Iterator[tuple[int, int]]:
    """Cut a shard's problems into runs ``[lo, hi)`` whose sample text fits ``budget`` characters
    (one run in practice; Parquet writes a row group per batch, so fewer is faster).

    >>> from factory.generate.backends.base import error_sample
    >>> list(_batch_bounds([[error_sample("x" * 5)], [error_sample("y")]], budget=3))
    [(0, 1), (1, 2)]
    """
    lo, chars = 0, 0
    for i, per in enumerate(samples):
        size = sum(len(s.text) + len(s.reasoning or "") + len(s.error or "") for s in per)
        if chars and chars + size > budget:
            yield lo, i
            lo, chars = i, 0
        chars += size
    yield lo, len(samples)


def rollout_batch(problems: pa.Table, samples: list[list[Sample]], cfg: GenerateConfig, backend: Backend,
                  template_ref: str) -> pa.RecordBatch:
    """Flatten the samples of each problem into rollout rows, built column by column in Arrow.

    Args:
        problems: the shard's problem rows (``problem_id``, ``prompt``, gold columns).
        samples: one list of samples per problem row, in order (``Backend.generate``'s result).
        cfg: the generation config (sampling params are stored on every row).
        backend: names the ``model`` and ``backend`` columns.
        template_ref: the prompt template's ``name@version``.

    Returns:
        One batch: problem columns repeated per sample, ``sample_idx``, the samples' text and
        token counts, and the gold columns carried along for scoring.
    """
    if len(samples) != problems.num_rows:
        raise ValueError(f"backend {backend.name} returned {len(samples)} sample lists for "
                         f"{problems.num_rows} prompts; a backend must return one list per request")
    counts = np.fromiter(map(len, samples), np.int64, len(samples))
    n = int(counts.sum())
    rep = np.repeat(np.arange(len(samples)), counts)  # row -> problem
    flat = [s for per in samples for s in per]
    text = {name: pa.array(list(map(attrgetter(name), flat)), pa.string()) for name in _SAMPLE_STRINGS}
    nums = {name: pa.array(np.fromiter(map(attrgetter(name), flat), dtype, n)) for name, dtype in _SAMPLE_NUMBERS}
    cols = {
        "problem_id": problems.column("problem_id").take(rep),
        "sample_idx": pa.array((np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.int32)),
        "prompt": problems.column("prompt").take(rep),  # required by the problems schema
        "completion": text["text"],
        "reasoning": text["reasoning"],
        **_constant_columns(cfg, backend, template_ref, n),
        "seed": _seeds(cfg.seed, problems.column("problem_id").take(rep), counts),
        "finish_reason": text["finish_reason"],
        **nums,
        "error": text["error"],
        **{c: problems.column(c).take(rep) for c in GOLD_COLUMNS if c in problems.column_names},
    }
    return pa.RecordBatch.from_arrays([_chunk(v) for v in cols.values()], names=list(cols))


def _constant_columns(cfg: GenerateConfig, backend: Backend, template_ref: str, n: int) -> dict[str, pa.Array]:
    """How every row was sampled (the same on all rows, so queries need no join to the manifest)."""
    return {
        "model": pa.repeat(backend.model, n),
        "backend": pa.repeat(backend.name, n),
        "template": pa.repeat(template_ref, n),
        "temperature": pa.repeat(pa.scalar(cfg.temperature, pa.float32()), n),
        "top_p": pa.repeat(pa.scalar(cfg.top_p, pa.float32()), n),
        "max_tokens": pa.repeat(pa.scalar(cfg.max_tokens, pa.int32()), n),
    }


def _seeds(run_seed: int, problem_ids: pa.ChunkedArray | pa.Array, counts: np.ndarray) -> pa.Array:
    """Each row's seed: its request's ``sample_seed(run seed, problem_id, 0)`` plus ``sample_idx``,
    the seed vLLM draws sample ``i`` of a seeded request with."""
    idx = (np.arange(len(problem_ids)) - np.repeat(np.cumsum(counts) - counts, counts)).tolist()
    return pa.array([sample_seed(run_seed, str(p), 0) + i for p, i in zip(problem_ids.to_pylist(), idx)], pa.int64())


def _chunk(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


class GenerationProgress:
    """One progress line for a generation run that fits an 80-column terminal: bar, rows done,
    rows/s, generated tok/s, cost (when the backend prices its calls) and ETA.

    Rates are averages over this run (resumed rows excluded), not rich's 30-second window: with
    a real model a shard can take minutes, and a windowed rate would show no speed and no ETA.

    Args:
        model: model name; its last path segment labels the line.
        total: rows the finished snapshot will have.
        completed: rows already written by an interrupted run.
        quiet: render nothing.
    """

    def __init__(self, model: str, total: int, *, completed: int = 0, quiet: bool = False):
        self.total, self.resumed, self.rows, self.tokens = total, completed, 0, 0
        self.cost: float | None = None
        self.label = model.rstrip("/").rsplit("/", 1)[-1]
        self.t0 = time.perf_counter()
        self._progress = None
        if not quiet:
            from factory.progress import console

            self.width = console.width
            self._progress = Progress(SpinnerColumn(), _LabelColumn(self), BarColumn(bar_width=10),
                                      _StatsColumn(self), console=console)
            self._task = self._progress.add_task(self.label, total=total, completed=completed)

    def __enter__(self) -> "GenerationProgress":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def shard_done(self, rows: int, stats: dict[str, float]) -> None:
        """Count a finished shard's rows; ``stats`` are the task's counters so far (``generated_tokens``,
        and ``cost_usd`` when the backend prices its calls)."""
        self.rows += rows
        self.tokens = stats.get("generated_tokens", 0)
        self.cost = stats.get("cost_usd", self.cost)
        if self._progress is not None:
            self._progress.update(self._task, advance=rows)

    def summary(self) -> str:
        """``"221k/320k 66.1k rows/s 22.9M tok/s $0.12 eta 0:00:02"``."""
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        done = self.resumed + self.rows
        rate = self.rows / elapsed
        parts = [f"{_si(done)}/{_si(self.total)}", f"{_si(rate) if self.rows else '-'} rows/s",
                 f"{_si(self.tokens / elapsed) if self.rows else '-'} tok/s"]
        if self.cost is not None:
            parts.append(f"${_si(self.cost)}" if self.cost >= 1000 else f"${self.cost:.2f}")
        eta = (self.total - done) / rate if rate else None
        parts.append(f"eta {_clock(eta)}" if done < self.total else f"in {_clock(elapsed)}")
        return " ".join(parts)


class _LabelColumn(ProgressColumn):
    """The model name, cut to what the numbers leave free: on a narrow terminal it gives way
    first, so the line never wraps."""

    def __init__(self, owner: GenerationProgress):
        super().__init__(table_column=Column(no_wrap=True))
        self.owner = owner

    def render(self, task: Any) -> Text:
        free = self.owner.width - len(self.owner.summary()) - 16  # spinner, bar, gaps
        label = self.owner.label
        if len(label) > free:
            label = label[:free - 1] + "…" if free > 4 else ""
        return Text(label, style="bold")


class _StatsColumn(ProgressColumn):
    """A rich progress column rendering ``GenerationProgress.summary()``."""

    max_refresh = 0.5

    def __init__(self, owner: GenerationProgress):
        super().__init__(table_column=Column(no_wrap=True))
        self.owner = owner

    def render(self, task: Any) -> Text:
        return Text(self.owner.summary(), style="cyan")


def _si(x: float) -> str:
    """Compact count.

    >>> _si(950), _si(12_345), _si(4_560_000)
    ('950', '12.3k', '4.56M')
    """
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.0f}"


def _clock(seconds: float | None) -> str:
    """``h:mm:ss``, or ``-:--:--`` when unknown.

    >>> _clock(3725), _clock(None)
    ('1:02:05', '-:--:--')
    """
    if seconds is None:
        return "-:--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
