"""Evaluation (R1 §3): k samples per benchmark prompt at temperature 0.6 / top-p 0.95, NeMo-Skills metrics.

Each benchmark's problems, rollouts and scores are their own cached stages, so re-scoring or a
new benchmark never regenerates the others. Math and code go through the score stage (the
accuracy grader); GPQA is graded by letter here. The snapshot is the metrics table (one row
per benchmark: pass@1 with its std across runs, pass@k, maj@k, no-answer rate); the card and
`factory show` print it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pyarrow as pa

from factory.evals.metrics import SampleCountError, benchmark_metrics, check_sample_counts
from factory.evals.voting import collect
from factory.generate.backends.base import backend_is_synthetic
from factory.generate.generation import GenerateConfig
from factory.rewards.scoring import ScoreConfig

NAME = "eval"
VERSION = "2.0.0"
RELEASE_NOTES = {
    "1.0.0": "pass@1 (mean over k samples) and cons@k (majority vote) per benchmark.",
    "2.0.0": "Benchmarks read through their converters (GPQA lettered and graded by letter, LiveCodeBench "
             "public+private tests); NeMo-Skills metrics: pass@1 ± std across runs, unbiased pass@j, maj@j "
             "over grader-decided answer classes with ties averaged, no-answer rate; fails unless every "
             "prompt got k samples.",
}
KIND = None
PARENTS: tuple[str, ...] = ()

HELDOUT = "procedural-heldout"
CARD_COLUMNS = ("benchmark", "grader", "problems", "k", "pass@1", "pass@1_std", "pass@k", "maj@k", "no_answer",
                "unverifiable")


@dataclass(frozen=True)
class LiveCodeBenchOptions:
    release: str = field(default="release_v6", metadata={"help": "release_v1 .. release_v6 (cumulative files)"})
    start_date: str | None = field(default=None, metadata={"help": "first contest date kept (YYYY-MM[-DD])"})
    end_date: str | None = field(default=None, metadata={"help": "last contest date kept (default: the release's)"})


@dataclass(frozen=True)
class Config:
    benchmarks: tuple[str, ...] = field(default=("aime_2024", "math_500", "gpqa_diamond", "livecodebench"),
                                        metadata={"help": f"registry names (factory.evals.benchmarks) or {HELDOUT}"})
    paths: dict[str, str] = field(default_factory=dict, metadata={"help": "benchmark -> local copy (publisher's files)"})
    livecodebench: LiveCodeBenchOptions = field(default_factory=LiveCodeBenchOptions)
    heldout_n: int = field(default=100, metadata={"help": f"problems in {HELDOUT}"})
    heldout_seed: int = 12345
    heldout_options: dict = field(default_factory=dict, metadata={
        "help": f"procedural options of {HELDOUT} (tasks, languages, code_share)"})
    k: int = field(default=16, metadata={"help": "samples per prompt (pass@1 is averaged over them)"})
    generate: GenerateConfig = field(default_factory=lambda: GenerateConfig(
        template="chat", temperature=0.6, top_p=0.95, max_tokens=32768, samples_per_prompt=16))
    score: ScoreConfig = field(default_factory=lambda: ScoreConfig(rewards=("accuracy",), readability=None))

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k={self.k}: ask for at least one sample per prompt")


def problems_config(name: str, config: Config) -> dict:
    if name == HELDOUT:
        return {"source": "procedural", "n": config.heldout_n, "seed": config.heldout_seed,
                "options": dict(config.heldout_options)}
    from factory.evals.benchmarks import problems_config as registry_config

    options = dataclasses.asdict(config.livecodebench) if name == "livecodebench" else {}
    return registry_config(name, config.paths.get(name), **options)


def grader_of(name: str) -> str:
    from factory.evals.benchmarks import get_benchmark

    return "mixed" if name == HELDOUT else get_benchmark(name).grader


def _measure(ctx, bench: str, config: Config, gen: GenerateConfig) -> dict:
    problems = ctx.stage("problems", problems_config(bench, config), name=f"eval-{bench}")
    rollouts = ctx.stage("rollouts", gen, name=f"{ctx.name}-{bench}-rollouts", parents={"problems": problems.ref})
    grader = grader_of(bench)
    if grader == "choice":  # graded by letter, not by the math grader
        batches = rollouts.batches(columns=["problem_id", "sample_idx", "completion", "answer", "metadata"])
    else:
        scored = ctx.stage("scored", config.score, name=f"{ctx.name}-{bench}-scored", parents={"rollouts": rollouts.ref})
        batches = scored.batches(columns=["problem_id", "sample_idx", "completion", "correct", "verdict", "domain"])
    return {"benchmark": bench, "grader": grader, "model": gen.model, "backend": gen.backend,
            **evaluate(batches, grader, config.k, bench, problems.num_rows)}


def evaluate(batches, grader: str, k: int, bench: str, num_problems: int) -> dict:
    """Metrics of one benchmark from its scored (or, for choice, raw) samples; fails unless each problem has k.

    Raises:
        SampleCountError: a problem has another number of samples, or none at all.
    """
    samples, counts = collect(batches, grader)
    check_sample_counts(counts, k, bench)
    if len(counts) != num_problems:
        raise SampleCountError(f"{bench}: {num_problems - len(counts)} of {num_problems} problems got no samples "
                               f"(asked for {k} each)")
    m = benchmark_metrics(samples, k, votes=grader != "code")
    m["pass@k"], m["maj@k"] = m[f"pass@{k}"], m[f"maj@{k}"]
    return m


def _table(rows: list[dict], k: int) -> pa.Table:
    cols = ["benchmark", "grader", "model", "backend", "problems", "samples", "k", "pass@1", "pass@1_std",
            "pass@1_sem", "pass@k", "maj@k", "no_answer", "unverifiable"]
    data = {c: [r[c] for r in rows] for c in cols}
    data["pass_at"] = [[r[f"pass@{j}"] for j in range(1, k + 1)] for r in rows]
    data["maj_at"] = [[r[f"maj@{j}"] for j in range(1, k + 1)] for r in rows]
    types = {"problems": pa.int64(), "samples": pa.int64(), "k": pa.int64(), "unverifiable": pa.int64(),
             "pass_at": pa.list_(pa.float64()), "maj_at": pa.list_(pa.float64())}
    return pa.table({c: pa.array(v, types.get(c, pa.string() if c in cols[:4] else pa.float64()))
                     for c, v in data.items()})


def build(ctx, config: Config) -> None:
    gen = dataclasses.replace(config.generate, samples_per_prompt=config.k)
    rows = [_measure(ctx, bench, config, gen) for bench in config.benchmarks]
    ctx.write("train", _table(rows, config.k).to_batches())
    card = [[r[c] if not isinstance(r[c], float) else round(r[c], 4) for c in CARD_COLUMNS] for r in rows]
    ctx.note(metrics=rows, synthetic=backend_is_synthetic(gen.backend),
             tables={f"Metrics (k={config.k})": {"columns": list(CARD_COLUMNS), "rows": card,
                                                 "note": "pass@1_std: std across the k runs (run i = sample i of "
                                                         "every problem), as NeMo-Skills' std_dev_across_runs"}},
             description=f"pass@1 over k={config.k} samples, pass@k and maj@{config.k} on {', '.join(config.benchmarks)}")
