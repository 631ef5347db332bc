"""LLM-as-judge (R1 §2.3.3): a judge model compares responses with the ground truth where no rule can.

Rows in, one judgement per row out (the ``judgements`` schema): the judge model, the prompt
version and the raw judgement are kept for audit. By default the judge reads only the
response's final summary — the text after ``</think>`` (or R1's second ``|special_token|``) —
because a long chain of thought costs judge tokens, can exceed the judge's context, and
tempts the judge to grade the reasoning instead of the answer; a response without a think
section is shown whole. Identical (question, reference, response) triples are judged once:
rejection sampling produces many identical answers per prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import pyarrow as pa
import xxhash

from factory.generate.backends.base import Backend, Request, Sample, SamplingParams, make_backend
from factory.generate.judge_prompts import DEFAULT_JUDGE_PROMPT, JudgePrompt, get_judge_prompt, parse_verdict
from factory.rewards.base import split_think
from factory.store.fsio import open_input

# columns a judge shard reads from a scored (or plain rollouts) snapshot, when present
INPUT_COLUMNS = ("problem_id", "sample_idx", "prompt", "completion", "reasoning", "reference", "answer",
                 "metadata", "verdict", "correct", "finish_reason")
_OMITTED = "[… earlier text omitted …]\n"


@dataclass(frozen=True)
class JudgeConfig:
    """What to judge and how. Every field but the sharding changes the output, so enters the id."""

    # --- judge model (R1: DeepSeek-V3 judges against the ground truth)
    backend: str = field(default="scripted_judge", metadata={"help": "vllm | openai | transformers | scripted_judge"})
    model: str = field(default="scripted-judge", metadata={"help": "judge model id, path, or served name"})
    backend_options: dict[str, Any] = field(default_factory=dict, metadata={"help": "output-affecting backend options"})
    prompt: str = field(default=DEFAULT_JUDGE_PROMPT, metadata={"help": "judge prompt name@version"})
    # --- what the judge sees
    summary_only: bool = field(default=True, metadata={"help": "show the final summary, not the chain of thought"})
    max_response_chars: int = field(default=8000, metadata={"help": "keep at most the last N characters"})
    # --- sampling: greedy, so a verdict is reproducible
    max_tokens: int = field(default=1024, metadata={"help": "judge tokens (raise for thinking judges)"})
    temperature: float = 0.0
    seed: int = 0
    # --- which rows
    only_unverified: bool = field(default=True, metadata={"help": "judge only rows without a rule verdict"})
    skip_unfinished: bool = field(default=True, metadata={"help": "skip rows that hit max_tokens or errored"})
    split: str = field(default="train", metadata={"help": "split of the parent snapshot to judge"})
    # --- sharding (does not change rows; shard boundaries are part of the resume contract)
    prompts_per_shard: int = field(default=256, metadata={"help": "prompts per shard (the unit of resume)"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "prompt", get_judge_prompt(self.prompt).ref)  # "name" and "name@v" share an id
        if self.prompts_per_shard < 1:
            raise ValueError(f"prompts_per_shard={self.prompts_per_shard}: need at least 1")
        if self.max_response_chars < 1:
            raise ValueError(f"max_response_chars={self.max_response_chars}: need at least 1")
        self.sampling()  # validates temperature and max_tokens

    def sampling(self) -> SamplingParams:
        """One greedy (by default) judgement per request."""
        return SamplingParams(n=1, temperature=self.temperature, top_p=1.0, max_tokens=self.max_tokens,
                              seed=self.seed)


def _text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value)


def reference_of(row: dict) -> str | None:
    """The ground truth a judge compares with: ``reference``, else ``answer``, else the
    ``"reference"`` key of the JSON ``metadata`` (where the general source keeps it)."""
    for key in ("reference", "answer"):
        if _text(row.get(key)) is not None:
            return str(row[key])
    meta = row.get("metadata")
    if isinstance(meta, str) and '"reference"' in meta:
        try:
            meta = json.loads(meta)
        except ValueError:
            return None
    return _text(meta.get("reference")) if isinstance(meta, dict) else None


def question_of(row: dict) -> str:
    """The question text (``prompt``, ``problem`` or ``question``)."""
    return next((str(row[k]) for k in ("prompt", "problem", "question") if row.get(k) is not None), "")


def response_view(completion: str | None, reasoning: str | None = None, *, summary_only: bool = True,
                  max_chars: int = 8000) -> str:
    """What the judge reads of a response.

    Args:
        completion: the response text (may hold ``<think>…</think>`` and a summary).
        reasoning: a chain of thought returned separately by the engine, if any.
        summary_only: drop the chain of thought (a response without one is shown whole).
        max_chars: keep at most the last ``max_chars`` characters, where the final answer is.

    Returns:
        The text to put in the judge prompt.

    >>> response_view("<think>long</think> The answer is 4.")
    'The answer is 4.'
    """
    text = completion or ""
    if summary_only:
        _, summary = split_think(text)
        text = summary or text
    elif reasoning:
        text = f"<think>\n{reasoning}\n</think>\n\n{text}"
    return text if len(text) <= max_chars else _OMITTED + text[-max_chars:]


def is_judgeable(row: dict, *, only_unverified: bool = True, skip_unfinished: bool = True) -> bool:
    """Whether a judge should see this row.

    A row qualifies when it has a ground truth (``reference_of``), and — with
    ``only_unverified`` — no rule verdict (``verdict`` is null: no rule-checkable gold, so
    the reasoning filter would drop it as ``no_verdict``). Rules stay authoritative where
    they apply: an ``unverifiable`` gold is a data bug to fix, not a job for the judge. With
    ``skip_unfinished``, rows that hit ``max_tokens`` or errored are skipped: the filter
    drops them anyway.
    """
    if reference_of(row) is None:
        return False
    if only_unverified and row.get("verdict") is not None:
        return False
    return not (skip_unfinished and row.get("finish_reason") not in (None, "stop"))


def _as_rows(rows: Any) -> list[dict]:
    if isinstance(rows, (pa.RecordBatch, pa.Table)):
        return rows.to_pylist()
    return list(rows)


def _raw_text(sample: Sample) -> str:
    """The judge's full output; a separately returned chain of thought goes back inside think tags."""
    return f"<think>\n{sample.reasoning}\n</think>\n{sample.text}" if sample.reasoning else sample.text


def judge_batch(backend: Backend, rows: Sequence[dict] | pa.RecordBatch | pa.Table,
                prompt: JudgePrompt | str | None = None, params: SamplingParams | None = None, *,
                summary_only: bool = True, max_response_chars: int = 8000) -> pa.RecordBatch:
    """Judge each row's ``completion`` against its ground truth.

    Args:
        backend: any backend; ``generate`` gets one request per distinct triple.
        rows: dicts (or an Arrow batch/table) with ``problem_id``, ``sample_idx``, ``prompt``,
            ``completion`` and a ground truth (see ``reference_of``); optional ``reasoning``.
        prompt: a ``JudgePrompt`` or its ``name@version`` (default ``reference_match@1.0.0``).
        params: sampling; default greedy with 1,024 tokens. ``n`` must be 1.
        summary_only: show the judge only the final summary (see ``response_view``).
        max_response_chars: keep at most the last N characters of the response.

    Returns:
        One ``judgements`` row per input row, in order: ``judge_model``, ``prompt_version``,
        ``verdict`` (correct | wrong | unparseable), ``correct`` (null when unparseable),
        ``raw``, plus ``judge_request`` (hash of the judged triple), ``judge_finish_reason``
        and ``judge_error``. Rows without a ground truth are not sent and get null verdicts.
    """
    from schemas import conform, get

    prompt = get_judge_prompt(prompt or DEFAULT_JUDGE_PROMPT) if not isinstance(prompt, JudgePrompt) else prompt
    params = params or SamplingParams(n=1, temperature=0.0, top_p=1.0, max_tokens=1024, seed=0)
    if params.n != 1:
        raise ValueError(f"judge_batch: SamplingParams.n={params.n}; a judge gives one verdict per row, use n=1")
    rows = _as_rows(rows)
    triples: list[tuple[str, str, str] | None] = []
    for row in rows:
        ref = reference_of(row)
        view = response_view(row.get("completion"), row.get("reasoning"), summary_only=summary_only,
                             max_chars=max_response_chars)
        triples.append(None if ref is None else (question_of(row), ref, view))
    unique = list(dict.fromkeys(t for t in triples if t is not None))
    hashes = {t: xxhash.xxh3_64_intdigest("\x1f".join(t).encode()) for t in unique}
    requests = [Request(id=f"{hashes[t]:016x}", messages=prompt.render(*t),
                        metadata={"question": t[0], "reference": t[1], "response": t[2], "judge_prompt": prompt.ref})
                for t in unique]
    results = backend.generate(requests, params) if requests else []
    if len(results) != len(requests) or any(not r for r in results):
        raise RuntimeError(f"judge backend {backend.name}:{backend.model} returned {len(results)} results "
                           f"for {len(requests)} requests; a backend must answer every request")
    samples = {t: r[0] for t, r in zip(unique, results)}
    return conform(_judgement_batch(rows, triples, samples, hashes, backend.model, prompt.ref), get("judgements"))


def _judgement_batch(rows: list[dict], triples: list, samples: dict, hashes: dict, model: str,
                     prompt_ref: str) -> pa.RecordBatch:
    got = [samples.get(t) if t is not None else None for t in triples]
    raw = [None if s is None else _raw_text(s) for s in got]
    verdicts = [None if t is None else ("unparseable" if s.finish_reason == "error" else parse_verdict(r))
                for t, s, r in zip(triples, got, raw)]
    return pa.RecordBatch.from_pydict({
        "problem_id": pa.array([str(r["problem_id"]) for r in rows], pa.string()),
        "sample_idx": pa.array([r["sample_idx"] for r in rows], pa.int32()),
        "judge_model": pa.array([model] * len(rows), pa.string()),
        "prompt_version": pa.array([prompt_ref] * len(rows), pa.string()),
        "verdict": pa.array(verdicts, pa.string()),
        "correct": pa.array([None if v in (None, "unparseable") else v == "correct" for v in verdicts], pa.bool_()),
        "raw": pa.array(raw, pa.string()),
        "judge_request": pa.array([None if t is None else hashes[t] for t in triples], pa.uint64()),
        "judge_finish_reason": pa.array([None if s is None else s.finish_reason for s in got], pa.string()),
        "judge_error": pa.array([None if s is None else s.error for s in got], pa.string()),
    })


def shard_bounds(files: Sequence[str], prompts_per_shard: int) -> list[int]:
    """Row offsets cutting ``files`` into shards of ``prompts_per_shard`` problems each (a run
    of equal ``problem_id``s stays in one shard, so its duplicate answers are judged once).

    Returns:
        ``[0, b1, …, num_rows]``; ``[0, 0]`` (one empty shard) when there are no rows.
    """
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    starts: list[int] = []
    offset, last = 0, None
    for f in files:
        for batch in pq.ParquetFile(open_input(f)).iter_batches(columns=["problem_id"], batch_size=65_536):
            ids, n = batch.column(0), batch.num_rows
            if n == 0:
                continue
            if ids[0].as_py() != last:
                starts.append(offset)
            change = pc.not_equal(ids.slice(1), ids.slice(0, n - 1)).to_numpy(zero_copy_only=False)
            starts.extend((np.flatnonzero(change) + 1 + offset).tolist())
            last, offset = ids[n - 1].as_py(), offset + n
    return starts[::prompts_per_shard] + [offset] if starts else [0, 0]


@dataclass
class JudgeTask:
    """A picklable shard task: each worker builds one judge backend, then judges shard after shard."""

    files: list[str]
    bounds: list[int]
    config: JudgeConfig
    runtime_options: dict[str, Any] = field(default_factory=dict)  # url, api key, concurrency: not in the id
    backend: Backend | None = field(default=None, repr=False)

    def setup(self) -> None:
        if self.backend is None:
            opts = {**self.config.backend_options, **self.runtime_options}
            self.backend = make_backend(self.config.backend, self.config.model, **opts)

    def num_shards(self) -> int:
        return len(self.bounds) - 1

    def rows(self, shard: int) -> list[dict]:
        """The shard's rows a judge should see (see ``is_judgeable``)."""
        import pyarrow.parquet as pq

        from factory.store.snapshot import read_rows

        lo, hi = self.bounds[shard], self.bounds[shard + 1]
        if hi <= lo:
            return []
        names = pq.read_schema(open_input(self.files[0])).names
        table = read_rows(self.files, lo, hi, columns=[c for c in INPUT_COLUMNS if c in names])
        cfg = self.config
        return [r for r in table.to_pylist()
                if is_judgeable(r, only_unverified=cfg.only_unverified, skip_unfinished=cfg.skip_unfinished)]

    def __call__(self, shard: int) -> Iterator[pa.RecordBatch]:
        self.setup()
        rows, cfg = self.rows(shard), self.config
        batch = judge_batch(self.backend, rows, cfg.prompt, cfg.sampling(), summary_only=cfg.summary_only,
                            max_response_chars=cfg.max_response_chars)
        rule = pa.array([r.get("correct") for r in rows], pa.bool_())  # the rule verdict, for calibration
        yield batch.append_column("rule_correct", rule)
