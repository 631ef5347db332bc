"""Batch scoring of rollouts: every requested grader's verdict and reward as columns, in bounded memory.

Output = every input column + ``verdict``, ``correct`` (null when unverifiable or no gold —
never true by default), ``format_ok``, ``language_consistency``, ``language_consistent``,
``readability_issue``, one ``reward_<name>`` per reward and ``reward`` (their weighted sum,
``None``s skipped as in TRL). The reward values come from the same verifiers the TRL reward
functions call. A column whose grader was not requested is null: nothing is computed that
nobody asked for.

Speed: completions stay in Arrow buffers (``TextColumn``). Accuracy hashes each summary after
``</think>`` in the buffer, decodes and extracts once per distinct summary and grades once per
distinct (answer, gold) pair; format, language and readability run once per distinct
completion on the buffer itself (``Utf8Rows`` -> ``text_grades``), spread over the text pool's
processes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from factory.rewards.base import Verdict, completion_text, use_kernel
from factory.rewards.batch_text import TextColumn
from factory.rewards.code_reward import verify_code_batch
from factory.rewards.format_reward import FORMAT_GRADER_VERSION, tag_count_reward
from factory.rewards.language import is_language_consistent
from factory.rewards.math_extract import answer_in_region, answer_region
from factory.rewards.math_reward import default_grader
from factory.rewards.readability import READABILITY_VERSION, ReadabilityConfig, readability_reasons
from factory.rewards.registry import grader_versions, parse_names

_ACCURACY = ("accuracy", "math", "code")
_TEXT = ("format", "language", "readability")  # graded per distinct completion, in the text pool


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
    math_decimal_digits: int = field(default=4, metadata={
        "help": "significant digits a decimal needs to stand for the exact value it rounds (0.3333 = 1/3)"})
    code_workers: int | None = field(default=None, metadata={"help": "concurrent sandboxes (default: CPUs)"})
    unsafe_unsandboxed_code: bool = field(default=False, metadata={
        "help": "DANGER: where no sandbox mechanism works, run model-written code unconfined instead of "
                "marking code rows unverifiable (recorded in the manifest and card)"})
    readability: ReadabilityConfig | None = field(
        default_factory=lambda: ReadabilityConfig(min_language_consistency=None),
        metadata={"help": "checks of the 'readability' reward -> readability_issue (language is scored separately)"})
    text_workers: int | None = field(default=None, metadata={
        "help": "processes for format/language/readability beside this one (default: CPUs - 1; 0 = inline)"})
    batch_rows: int = field(default=20_000, metadata={"help": "rows graded per call (bigger = more cache hits)"})
    graders: dict[str, str] = field(default_factory=dict, metadata={"help": "filled in: grader versions"})
    rules: dict[str, str] = field(default_factory=dict, metadata={"help": "filled in: format/readability rule versions"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "rewards", tuple(parse_names(self.rewards)))
        if self.math_decimal_digits < 1:
            raise ValueError(f"math_decimal_digits={self.math_decimal_digits} must be >= 1")
        object.__setattr__(self, "graders", grader_versions(self.rewards, self.math_decimal_digits))
        # format_ok and readability_issue rules enter the id (null columns when not requested)
        object.__setattr__(self, "rules", {"format_ok": FORMAT_GRADER_VERSION, "readability": READABILITY_VERSION})
        if self.format_template not in ("auto", "r1_zero", "readable"):
            raise ValueError(f"format_template={self.format_template!r}: choose auto, r1_zero or readable")
        unknown = set(self.weights) - set(self.rewards)
        if unknown:
            raise ValueError(f"weights for rewards not computed: {sorted(unknown)}; add them to rewards")


def _sandbox(cfg: ScoreConfig) -> Any:
    from factory.sandbox.runner import SandboxConfig

    return SandboxConfig(unsafe_unsandboxed_code=True) if cfg.unsafe_unsandboxed_code else None


class _Rows:
    """One batch's completions, with each distinct completion decoded at most once."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        col = batch.column("completion")
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            self.col: TextColumn | None = TextColumn(col)
            self.hashes = self.col.hashes()
            self._texts: list[str] | None = None
        else:  # conversational completions (message lists): plain Python, rare in stored rollouts
            import xxhash

            self.col, self._texts = None, [completion_text(c) for c in col.to_pylist()]
            self.hashes = np.array([xxhash.xxh3_64_intdigest(t.encode()) for t in self._texts], np.uint64)
        self.n = batch.num_rows
        _, first, inverse = np.unique(self.hashes, return_index=True, return_inverse=True)
        self.first, self.inverse = first, inverse.reshape(-1)

    def text(self, i: int) -> str:
        return self._texts[i] if self._texts is not None else self.col.text(i)  # type: ignore[union-attr]

    def per_distinct(self, fn: Callable[[list[str]], Any], dtype: Any = object) -> np.ndarray:
        """``fn`` over each distinct completion once, broadcast back to every row."""
        values = fn([self.text(int(i)) for i in self.first])
        return np.asarray(values, dtype=dtype)[self.inverse] if len(values) else np.asarray(values, dtype=dtype)

    def answers(self) -> list[str | None]:
        """The extracted final answer of every row, extracted once per distinct summary."""
        if self.col is not None and use_kernel(self.n):
            return self._answers_in_place()
        regions = self.col.regions() if self.col is not None else (answer_region(t) for t in self._texts or [])
        return _extract(regions)

    def _answers_in_place(self) -> list[str | None]:
        """Rows whose CoT ``</think>`` closes: their summaries' bytes are hashed in the buffer and
        only one summary per hash is decoded and extracted (R1 summaries repeat: the same boxed
        answer in the same closing line). Rows without the tag take ``answer_region``."""
        col = self.col
        assert col is not None
        think, keys = col.summary_keys()
        out = np.empty(self.n, object)
        closed = np.flatnonzero(think >= 0)
        if len(closed):
            _, first, inverse = np.unique(keys[closed], return_index=True, return_inverse=True)
            values = [answer_in_region(col.region_at(i, int(think[i]))[0], True) for i in closed[first].tolist()]
            out[closed] = np.array(values, object)[inverse.reshape(-1)]
        rest = np.flatnonzero(think < 0).tolist()
        out[rest] = _extract(answer_region(col.text(i)) for i in rest) if rest else []
        return out.tolist()


def _extract(regions: Iterable[tuple[str | None, bool]]) -> list[str | None]:
    """``answer_in_region`` of each (region, closed), once per distinct pair."""
    memo: dict[tuple[str | None, bool], str | None] = {}
    out: list[str | None] = []
    for key in regions:
        answer = memo.get(key, _MISSING)
        if answer is _MISSING:
            answer = memo[key] = None if key[0] is None else answer_in_region(*key)
        out.append(answer)  # type: ignore[arg-type]
    return out


_MISSING = object()


def _column(batch: pa.RecordBatch, name: str) -> list[Any] | None:
    return batch.column(name).to_pylist() if name in batch.schema.names else None


def _verdicts(batch: pa.RecordBatch, rows: _Rows, cfg: ScoreConfig) -> list[Verdict | None]:
    """Math verdicts where ``answer`` is set, code verdicts where only ``tests`` is, else None."""
    wanted = set(_ACCURACY) & set(cfg.rewards)
    golds = _column(batch, "answer") if wanted & {"accuracy", "math"} else None
    tests = _column(batch, "tests") if wanted & {"accuracy", "code"} else None
    out: list[Verdict | None] = [None] * rows.n
    if golds is not None and any(g is not None for g in golds):
        grader = default_grader(cfg.math_workers, cfg.math_decimal_digits)
        out = grader.grade_answers(rows.answers(), golds, cfg.math_timeout_s)
    if tests is not None:
        code_rows = [i for i in range(rows.n) if tests[i] is not None and (golds is None or golds[i] is None)]
        if code_rows:
            verdicts = verify_code_batch([rows.text(i) for i in code_rows], [tests[i] for i in code_rows],
                                         config=_sandbox(cfg), workers=cfg.code_workers)
            for i, v in zip(code_rows, verdicts):
                out[i] = v
    return out


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _codes(col: pa.Array) -> np.ndarray:
    return np.asarray(pc.dictionary_encode(col).indices.fill_null(-1), dtype=np.int64).astype(np.uint64)


class _TextGrades:
    """format_ok, language share and readability reason, once per distinct (completion, language,
    template) and spread over the text pool's processes while the caller grades accuracy."""

    def __init__(self, batch: pa.RecordBatch, rows: _Rows, cfg: ScoreConfig) -> None:
        from factory.rewards.text_pool import TextJob, text_pool

        self.n = rows.n
        langs = batch.column("language") if "language" in batch.schema.names else None
        want_lang = "language" in cfg.rewards and langs is not None and langs.null_count < len(langs)
        templates = batch.column("template") if "template" in batch.schema.names else None
        per_template = "format" in cfg.rewards and cfg.format_template == "auto" and templates is not None
        config = cfg.readability or ReadabilityConfig(min_language_consistency=None)
        self.per_row_readability = "readability" in cfg.rewards and (
            config.max_tokens is not None or config.min_language_consistency is not None)
        job = TextJob(format_template=cfg.format_template if "format" in cfg.rewards else None,
                      language=want_lang,
                      readability=config if "readability" in cfg.rewards and not self.per_row_readability else None)
        keys = rows.hashes.astype(np.uint64)
        if want_lang:
            keys = keys ^ (_codes(langs) * _GOLDEN)
        if per_template:
            keys = keys ^ ((_codes(templates) + np.uint64(1)) * _GOLDEN * np.uint64(3))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # graded in row order: a worker's chunk of the
        rank = np.empty_like(order)  # Arrow buffer is then one contiguous slice
        rank[order] = np.arange(len(order))
        first = first[order]
        self.inverse = rank[inverse.reshape(-1)]
        pick = first.tolist()
        lang_list = langs.to_pylist() if want_lang else [None] * rows.n
        tmpl_list = templates.to_pylist() if per_template else None
        self.pending = None
        if job.format_template or job.language or job.readability is not None:
            grades_accuracy = bool(set(_ACCURACY) & set(cfg.rewards))
            self.pending = text_pool(cfg.text_workers if cfg.text_workers is not None else _default_workers()).submit(
                rows.col.rows(first) if rows.col is not None else [rows.text(i) for i in pick],
                [lang_list[i] for i in pick],
                None if tmpl_list is None else [tmpl_list[i] for i in pick], job,
                parent_share=PARENT_TEXT_SHARE if grades_accuracy else 1.0)

    def finish(self) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
        """(format_ok or None, language share with NaN where unknown/not requested, reasons or None)."""
        fmt = share = reasons = None
        if self.pending is not None:
            fmt, share, reasons = self.pending.result()
        spread = self.inverse
        return (None if fmt is None else np.asarray(fmt, bool)[spread],
                np.full(self.n, np.nan, np.float32) if share is None else np.asarray(share, np.float32)[spread],
                None if reasons is None else np.asarray(reasons, object)[spread])


PARENT_TEXT_SHARE = 0.7
"""The parent's text chunk against a worker's while it also grades accuracy. Measured on the
200k-row four-reward CLI (2 cores, one worker), runs interleaved: 0.55 took 11.7-17.0 s,
0.7 10.96-15.3 s (every round faster than 0.55, ~9% in all), 0.8 12.7-15.6 s. 0.55 had been
best (of 0.4-0.8) while the parent also compressed the output; since file outputs copy the
input's chunks (``parquet_splice``) the parent has that core time for text."""


def _default_workers() -> int:
    """Text workers beside the parent, which grades its own chunk and accuracy: one per other core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(0, cores - 1)


_VERDICT_CODES = {None: -1, Verdict.CORRECT: 1, Verdict.WRONG: 0}  # else 2: unverifiable


def _accuracy_columns(batch: pa.RecordBatch, rows: _Rows, cfg: ScoreConfig, cols: dict, rewards: dict) -> None:
    """verdict/correct and the accuracy-family rewards (plus reasoning-gym's own scorer)."""
    n = rows.n
    if set(_ACCURACY) & set(cfg.rewards):
        verdicts = _verdicts(batch, rows, cfg)
        codes = np.array([_VERDICT_CODES.get(v, 2) for v in verdicts], np.int8)
        values = np.where(codes < 0, np.nan, (codes == 1).astype(np.float64))
        for name in _ACCURACY:
            if name in cfg.rewards:
                rewards[name] = values
        cols["verdict"] = pa.array([None if v is None else v.value for v in verdicts], pa.string())
        cols["correct"] = pa.array(codes == 1, mask=(codes < 0) | (codes == 2))
    if "reasoning_gym" in cfg.rewards:  # its own scorer, for the rows its source made (None elsewhere)
        from factory.rewards.reasoning_gym_reward import get_reasoning_gym_reward

        got = get_reasoning_gym_reward()([rows.text(i) for i in range(n)], metadata=_column(batch, "metadata"))
        rewards["reasoning_gym"] = np.array([np.nan if v is None else v for v in got], np.float64)


INPUT_COLUMNS = ("completion", "answer", "tests", "language", "template", "metadata", "completion_tokens")
"""Every column scoring reads: a caller that keeps the others itself (``parquet_splice``) reads only these."""


def score_batch(batch: pa.RecordBatch, cfg: ScoreConfig, carry: bool = True) -> pa.RecordBatch:
    """Score one batch of rollouts (needs ``completion``; reads the ``INPUT_COLUMNS`` it has).

    With ``carry`` the input's columns come first (those named like a score column replaced);
    without it, only the score columns."""
    if "completion" not in batch.schema.names:
        raise ValueError(f"scoring needs a 'completion' column; the input has {', '.join(batch.schema.names)}")
    rows, n = _Rows(batch), batch.num_rows
    cols: dict[str, pa.Array] = {}
    rewards: dict[str, np.ndarray] = {}
    text = _TextGrades(batch, rows, cfg)  # in the text pool's processes while accuracy is graded here
    try:
        _accuracy_columns(batch, rows, cfg, cols, rewards)
    finally:
        fmt, share, issues = text.finish()
    if "format" in cfg.rewards:
        cols["format_ok"] = pa.array(fmt)
        rewards["format"] = fmt.astype(np.float64)
    else:
        cols["format_ok"] = pa.nulls(n, pa.bool_())
    if "tag_count" in cfg.rewards:
        rewards["tag_count"] = rows.per_distinct(tag_count_reward, np.float64)
    if "language" in cfg.rewards and "language" in batch.schema.names:
        cols["language_consistency"] = pa.array(share, pa.float32(), mask=np.isnan(share))
        cols["language_consistent"] = pa.array(is_language_consistent(share, cfg.language_threshold))
        rewards["language"] = share.astype(np.float64)
    else:
        cols["language_consistency"] = pa.nulls(n, pa.float32())
        cols["language_consistent"] = pa.nulls(n, pa.bool_())
    if "readability" in cfg.rewards:
        if text.per_row_readability:
            issues = _readability_per_row(batch, rows, cfg)
        cols["readability_issue"] = pa.array(issues.tolist(), pa.string())
        rewards["readability"] = np.array([i is None for i in issues], np.float64)
    else:
        cols["readability_issue"] = pa.nulls(n, pa.string())
    total = np.zeros(n, np.float64)
    for name in cfg.rewards:
        if name in rewards:
            arr = rewards[name]
            cols[f"reward_{name}"] = pa.array(arr.astype(np.float32), mask=np.isnan(arr))
            total += np.nan_to_num(arr) * cfg.weights.get(name, 1.0)
    cols["reward"] = pa.array(total.astype(np.float32))
    cols["completion_hash"] = pa.array(rows.hashes, pa.uint64())
    cols["graders"] = pa.array([json.dumps(cfg.graders, sort_keys=True)] * n, pa.string())
    out_names = [c for c in batch.schema.names if c not in cols] if carry else []
    arrays = [batch.column(c) for c in out_names] + list(cols.values())
    return pa.RecordBatch.from_arrays(arrays, names=out_names + list(cols))


def _readability_per_row(batch: pa.RecordBatch, rows: _Rows, cfg: ScoreConfig) -> np.ndarray:
    """Readability with per-row inputs (token counts, a language bound): every row, in this process."""
    config = cfg.readability or ReadabilityConfig(min_language_consistency=None)
    tokens = _column(batch, "completion_tokens") if config.max_tokens is not None else None
    langs = _column(batch, "language") if config.min_language_consistency is not None else None
    texts = [rows.text(i) for i in range(rows.n)]
    return np.asarray(readability_reasons(texts, config, languages=langs, token_counts=tokens), object)


def score_batches(batches: Iterable[pa.RecordBatch], cfg: ScoreConfig,
                  rows_hint: int | None = None, carry: bool = True) -> Iterator[pa.RecordBatch]:
    """Re-chunk to ``cfg.batch_rows`` (large batches = more shared (answer, gold) pairs) and score.

    Three stages overlap: reading (decompression and re-chunking, in a thread), scoring (one
    batch ahead, in a thread) and the consumer's writing. Arrow releases the GIL while it
    decompresses, copies and compresses, so on two cores the Python grading runs beside both.
    ``rows_hint`` (the input's row count, when known) lets a large input start the text pool's
    workers while its first batch is read; a small one never starts them. ``carry``: as in
    ``score_batch``.
    """
    import threading

    from factory import gc_pause
    from factory.rewards.text_pool import INLINE_BELOW
    from factory.sources.base import in_background, rebatch

    big = rows_hint is not None and rows_hint >= INLINE_BELOW
    warm = threading.Thread(target=warm_up, args=(cfg, big), name="score-warm-up", daemon=True)
    warm.start()

    def scored() -> Iterator[pa.RecordBatch]:
        with gc_pause.paused():  # the collector cost 0.4-0.9 s of this thread per 200k rows
            for batch in in_background(rebatch(batches, cfg.batch_rows), "score-read"):
                warm.join()  # loaded while the first batch was read
                out = score_batch(batch, cfg, carry)
                gc_pause.settle()
                yield out

    return in_background(scored(), "score-batches")


def warm_up(cfg: ScoreConfig, start_workers: bool = False) -> None:
    """Load what the first batch needs: numba's cached kernels and the BMP tables (~1 s, which
    the first batch waited for after its own read: 15% of a 200k-row accuracy run) and, with
    ``start_workers``, the text pool's workers. ``score_batches`` runs this while the first batch
    is read. Best effort: a failure here is raised, if real, by the batch that needs the piece."""
    from factory.rewards.base import KERNEL_MIN_TEXTS

    try:
        text = bool(set(_TEXT) & set(cfg.rewards))
        if use_kernel(KERNEL_MIN_TEXTS):
            from factory.rewards.text_pool import warm_kernels

            warm_kernels(accuracy=bool(set(_ACCURACY) & set(cfg.rewards)), text=text)
        workers = cfg.text_workers if cfg.text_workers is not None else _default_workers()
        if text and workers and start_workers:
            from factory.rewards.text_pool import text_pool

            text_pool(workers).start()
    except Exception:  # noqa: BLE001 - an optimisation only
        pass
