"""Batch scoring of rollouts: every grader's verdict and reward as columns, in bounded memory.

Output = every input column + ``verdict``, ``correct`` (null when unverifiable or no gold —
never true by default), ``format_ok``, ``language_consistency``, ``language_consistent``,
one ``reward_<name>`` per reward and ``reward`` (their weighted sum, ``None``s skipped as in
TRL). The reward values come from the same verifiers the TRL reward functions call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np
import pyarrow as pa
import xxhash

from factory.rewards.base import Verdict
from factory.rewards.format_reward import FORMAT_GRADER_VERSION, format_ok, tag_count_reward
from factory.rewards.language import is_language_consistent, language_consistency
from factory.rewards.readability import READABILITY_VERSION, ReadabilityConfig, readability_reasons
from factory.rewards.registry import grader_versions, parse_names, verify_accuracy_batch


@dataclass(frozen=True)
class ScoreConfig:
    """Which rewards, how they are weighted and graded. Grader versions enter the snapshot id."""

    rewards: tuple[str, ...] = field(default=("accuracy", "format", "language"),
                                     metadata={"help": "rewards to compute (registry names)"})
    weights: dict[str, float] = field(default_factory=dict, metadata={"help": "reward -> weight (default 1.0)"})
    format_template: str = field(default="auto", metadata={
        "help": "r1_zero | readable | auto (the prompt's: r1_zero for R1-Zero-template rollouts or an answer tag)"})
    language_threshold: float = field(default=0.95, metadata={"help": "language_consistent = share >= this"})
    math_timeout_s: float = field(default=5.0, metadata={"help": "time limit per undecided math item"})
    math_workers: int | None = field(default=None, metadata={"help": "math-verify processes (default: CPUs)"})
    code_workers: int | None = field(default=None, metadata={"help": "concurrent sandboxes (default: CPUs)"})
    unsafe_unsandboxed_code: bool = field(default=False, metadata={
        "help": "DANGER: where no sandbox mechanism works, run model-written code unconfined instead of "
                "marking code rows unverifiable (recorded in the manifest and card)"})
    readability: ReadabilityConfig | None = field(
        default_factory=lambda: ReadabilityConfig(min_language_consistency=None),
        metadata={"help": "readability checks -> readability_issue column (language is scored separately)"})
    batch_rows: int = field(default=20_000, metadata={"help": "rows graded per call (bigger = more cache hits)"})
    graders: dict[str, str] = field(default_factory=dict, metadata={"help": "filled in: grader versions"})
    rules: dict[str, str] = field(default_factory=dict, metadata={"help": "filled in: format/readability rule versions"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "rewards", tuple(parse_names(self.rewards)))
        object.__setattr__(self, "graders", grader_versions(self.rewards))
        # format_ok and readability_issue are columns of every scored snapshot: their rules enter its id too
        object.__setattr__(self, "rules", {"format_ok": FORMAT_GRADER_VERSION, "readability": READABILITY_VERSION})
        if self.format_template not in ("auto", "r1_zero", "readable"):
            raise ValueError(f"format_template={self.format_template!r}: choose auto, r1_zero or readable")
        unknown = set(self.weights) - set(self.rewards)
        if unknown:
            raise ValueError(f"weights for rewards not computed: {sorted(unknown)}; add them to rewards")


def _sandbox(cfg: ScoreConfig) -> Any:
    from factory.sandbox.runner import SandboxConfig

    return SandboxConfig(unsafe_unsandboxed_code=True) if cfg.unsafe_unsandboxed_code else None


def _column(batch: pa.RecordBatch, name: str) -> list[Any] | None:
    return batch.column(name).to_pylist() if name in batch.schema.names else None


def _format_ok(texts: list[str], template: str, prompt_templates: list[str | None] | None = None) -> np.ndarray:
    return np.array(format_ok(texts, template, prompt_templates), dtype=bool).reshape(len(texts))


def score_batch(batch: pa.RecordBatch, cfg: ScoreConfig) -> pa.RecordBatch:
    """Score one batch of rollouts (needs ``completion``; reads ``answer``, ``tests``, ``language``)."""
    if "completion" not in batch.schema.names:
        raise ValueError(f"scoring needs a 'completion' column; the input has {', '.join(batch.schema.names)}")
    texts = [t or "" for t in batch.column("completion").to_pylist()]
    n = len(texts)
    cols: dict[str, pa.Array] = {}
    rewards: dict[str, list[float | None]] = {}
    wanted = {"accuracy", "math", "code"} & set(cfg.rewards)
    if wanted:
        use_math, use_code = bool(wanted & {"accuracy", "math"}), bool(wanted & {"accuracy", "code"})
        verdicts = verify_accuracy_batch(texts, answer=_column(batch, "answer") if use_math else None,
                                         tests=_column(batch, "tests") if use_code else None,
                                         math_workers=cfg.math_workers, timeout_s=cfg.math_timeout_s,
                                         code_workers=cfg.code_workers, sandbox=_sandbox(cfg))
        values = [None if v is None else float(v is Verdict.CORRECT) for v in verdicts]
        for name in ("accuracy", "math", "code"):
            if name in cfg.rewards:
                rewards[name] = values
        cols["verdict"] = pa.array([None if v is None else v.value for v in verdicts], pa.string())
        cols["correct"] = pa.array([None if v in (None, Verdict.UNVERIFIABLE) else v is Verdict.CORRECT
                                    for v in verdicts], pa.bool_())
    if "reasoning_gym" in cfg.rewards:  # its own scorer, for the rows its source made (None elsewhere)
        from factory.rewards.reasoning_gym_reward import get_reasoning_gym_reward

        rewards["reasoning_gym"] = get_reasoning_gym_reward()(texts, metadata=_column(batch, "metadata"))
    fmt = _format_ok(texts, cfg.format_template, _column(batch, "template"))
    cols["format_ok"] = pa.array(fmt)
    if "format" in cfg.rewards:
        rewards["format"] = fmt.astype(float).tolist()
    if "tag_count" in cfg.rewards:
        rewards["tag_count"] = tag_count_reward(texts)
    langs = _column(batch, "language")
    if "language" in cfg.rewards and langs is not None:  # the costliest grader: only when asked for
        share = language_consistency(texts, langs)
        cols["language_consistency"] = pa.array(share, pa.float32(), mask=np.isnan(share))
        cols["language_consistent"] = pa.array(is_language_consistent(share, cfg.language_threshold))
        rewards["language"] = [None if np.isnan(s) else float(s) for s in share]
    else:
        cols["language_consistency"] = pa.nulls(n, pa.float32())
        cols["language_consistent"] = pa.nulls(n, pa.bool_())
    total = np.zeros(n, np.float64)
    for name, values in rewards.items():
        arr = np.array([np.nan if v is None else v for v in values], np.float64)
        cols[f"reward_{name}"] = pa.array(arr.astype(np.float32), mask=np.isnan(arr))
        total += np.nan_to_num(arr) * cfg.weights.get(name, 1.0)
    cols["reward"] = pa.array(total.astype(np.float32))
    if cfg.readability is not None:
        tokens = _column(batch, "completion_tokens") if cfg.readability.max_tokens is not None else None
        cols["readability_issue"] = pa.array(readability_reasons(texts, cfg.readability, token_counts=tokens), pa.string())
    cols["completion_hash"] = pa.array([xxhash.xxh3_64_intdigest(t.encode()) for t in texts], pa.uint64())
    cols["graders"] = pa.array([json.dumps(cfg.graders, sort_keys=True)] * n, pa.string())
    out_names = [c for c in batch.schema.names if c not in cols]
    arrays = [batch.column(c) for c in out_names] + list(cols.values())
    return pa.RecordBatch.from_arrays(arrays, names=out_names + list(cols))


def score_batches(batches: Iterable[pa.RecordBatch], cfg: ScoreConfig) -> Iterator[pa.RecordBatch]:
    """Re-chunk to ``cfg.batch_rows`` (large batches = more shared (answer, gold) pairs) and score."""
    from factory.sources.base import rebatch

    for batch in rebatch(batches, cfg.batch_rows):
        yield score_batch(batch, cfg)
