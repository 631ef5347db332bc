"""Snapshots in the layouts other trainers read unchanged: TRL's CLI scripts and verl's RL Parquet.

Why a conversion at all: TRL's built-in ``accuracy_reward(completions, solution, ...)`` reads the
gold from a ``solution`` column (ours is ``answer``), and verl's RL trainer reads ``data_source``,
``prompt`` (chat list), ``ability``, ``reward_model {style, ground_truth}`` and ``extra_info``.

- ``trl``: ``rl_prompts`` keep every column and gain ``solution = \\boxed{answer}``. The boxed form
  is what math-verify's gold parser reads reliably: a bare ``2\\pi`` parses as ``2`` and ``3,2``
  as ``3.2``. TRL's accuracy reward grades math only, so prompts without a math gold (code tests,
  reward-model prompts) are left out and counted. ``sft_samples`` already fit ``trl sft``.
- ``verl``: math ground truth is the answer; code ground truth is the ``{"inputs", "outputs"
  [, "fn_name"]}`` JSON of verl's code scorers. ``data_source`` is ours unless the caller names
  one of verl's (verl routes its default reward by ``data_source``); ``factory_reward.py`` beside the
  data gives verl the factory's own graders as its ``custom_reward_function``.

A raw prompt (R1-Zero's template as the text a base model sees) is exported as one user turn:
TRL's built-in rewards read conversational completions only, and verl always applies the chat
template. ``factory train grpo`` trains on the raw text itself (the project's rewards read both).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from factory.errors import InputError
from factory.store.snapshot import Snapshot

FORMATS = ("trl", "verl")
VERL_EXTRA = pa.struct([("split", pa.string()), ("index", pa.int64()), ("problem_id", pa.string()),
                        ("domain", pa.string()), ("language", pa.string())])
VERL_SCHEMA = pa.schema([
    pa.field("data_source", pa.string()),
    pa.field("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    pa.field("ability", pa.string()),
    pa.field("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
    pa.field("extra_info", VERL_EXTRA),
])


def _col(batch: pa.RecordBatch, name: str, type_: pa.DataType = pa.string()) -> pa.Array:
    return batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, type_)


def conversational(prompt: pa.Array) -> pa.Array:
    """A raw-text prompt column as one user turn per row; chat prompts pass through.

    >>> conversational(pa.array(["Solve x."])).to_pylist()
    [[{'role': 'user', 'content': 'Solve x.'}]]
    """
    if not (pa.types.is_string(prompt.type) or pa.types.is_large_string(prompt.type)):
        return prompt
    turns = pa.StructArray.from_arrays([pa.array(["user"] * len(prompt), pa.string()), prompt.cast(pa.string())],
                                       names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(range(len(prompt) + 1), pa.int32()), turns)


def _with_chat_prompt(batch: pa.RecordBatch) -> pa.RecordBatch:
    if "prompt" not in batch.schema.names:
        return batch
    i = batch.schema.get_field_index("prompt")
    cols = list(batch.columns)
    cols[i] = conversational(batch.column("prompt"))
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


def trl_rl_batch(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, int]:
    """Rows with a math gold, plus ``solution``; returns (batch, rows left out).

    >>> b = pa.RecordBatch.from_pylist([{"problem_id": "a", "answer": "2\\\\pi"}, {"problem_id": "b", "answer": None}])
    >>> out, dropped = trl_rl_batch(b)
    >>> out.column("solution").to_pylist(), dropped
    (['\\\\boxed{2\\\\pi}'], 1)
    """
    answer = _col(batch, "answer")
    keep = pc.is_valid(answer)
    kept = _with_chat_prompt(batch.filter(keep))
    solution = pc.binary_join_element_wise("\\boxed{", kept.column("answer"), "}", "")
    out = pa.RecordBatch.from_arrays([*kept.columns, solution], names=[*kept.schema.names, "solution"])
    return out, batch.num_rows - kept.num_rows


def verl_ground_truth(answer: str | None, tests: str | None) -> str | None:
    """verl's ground truth: the math answer, or code tests as ``{"inputs", "outputs"[, "fn_name"]}``.

    >>> verl_ground_truth(None, '{"style": "stdio", "cases": [{"input": "1 2", "output": "3"}]}')
    '{"inputs": ["1 2"], "outputs": ["3"]}'
    >>> verl_ground_truth(None, '{"style": "stdio", "cases": []}') is None
    True
    """
    if answer is not None:
        return answer
    if tests is None:
        return None
    spec = json.loads(tests)
    cases = spec.get("cases", [])
    if spec.get("style") == "check":
        # a test program (HumanEval's check) has no inputs/outputs: verl's own code scorers cannot
        # run it, so it travels as the factory's tests JSON for the shipped factory_reward.py (as
        # empty inputs/outputs it read as "no tests", which every program passes)
        return json.dumps(spec, ensure_ascii=False) if spec.get("check") else None
    if not cases:
        return None  # no case to check: no gold
    if spec.get("style") == "call":
        out = {"fn_name": spec.get("fn_name"), "inputs": [c.get("args") for c in cases],
               "outputs": [c.get("expected") for c in cases]}
    else:
        out = {"inputs": [c.get("input") for c in cases], "outputs": [c.get("output") for c in cases]}
    return json.dumps(out, ensure_ascii=False)


def verl_batch(batch: pa.RecordBatch, data_source: str, split: str, offset: int) -> tuple[pa.RecordBatch, int]:
    """One verl row per prompt with a rule gold (``style="rule"``) or routed to the reward model
    (``reward_type="reward_model"`` becomes ``style="model"``); returns (batch, rows left out)."""
    answers, tests = _col(batch, "answer").to_pylist(), _col(batch, "tests").to_pylist()
    truth = [verl_ground_truth(a, t) for a, t in zip(answers, tests)]
    by_model = [r == "reward_model" for r in _col(batch, "reward_type").to_pylist()]
    keep = [t is not None or m for t, m in zip(truth, by_model)]
    kept = _with_chat_prompt(batch.filter(pa.array(keep, pa.bool_())))
    truth = [t for t, k in zip(truth, keep) if k]
    style = ["model" if m else "rule" for m, k in zip(by_model, keep) if k]
    domain = _col(kept, "domain").to_pylist()
    ability = [d or ("math" if a is not None else "code") for d, a in zip(domain, _col(kept, "answer").to_pylist())]
    n = kept.num_rows
    extra = pa.StructArray.from_arrays(
        [pa.array([split] * n, pa.string()), pa.array(range(offset, offset + n), pa.int64()),
         kept.column("problem_id"), _col(kept, "domain"), _col(kept, "language")], fields=list(VERL_EXTRA))
    reward_model = pa.StructArray.from_arrays([pa.array(style, pa.string()), pa.array(truth, pa.string())],
                                              fields=list(VERL_SCHEMA.field("reward_model").type))
    cols = [pa.array([data_source.replace("{domain}", a) for a in ability], pa.string()),
            kept.column("prompt").cast(VERL_SCHEMA.field("prompt").type), pa.array(ability, pa.string()),
            reward_model, extra]
    return pa.RecordBatch.from_arrays(cols, schema=VERL_SCHEMA), batch.num_rows - n


def _converted(snap: Snapshot, fmt: str, split: str, data_source: str) -> Iterator[tuple[pa.RecordBatch, int]]:
    kind = snap.kind
    if fmt == "trl" and kind == "sft_samples":
        for b in snap.batches(split):
            yield b, 0
        return
    if kind != "rl_prompts":
        takes = "rl_prompts or sft_samples" if fmt == "trl" else "rl_prompts"
        raise InputError(f"export --format {fmt} takes {takes} snapshots; {snap.ref} is of kind {kind!r}")
    offset = 0
    for b in snap.batches(split):
        out = trl_rl_batch(b) if fmt == "trl" else verl_batch(b, data_source, split, offset)
        offset += out[0].num_rows
        yield out


def write_export(snap: Snapshot, dest: Path, fmt: str, *, data_source: str | None = None) -> dict[str, Any]:
    """Write ``snap`` in format ``fmt`` into the empty folder ``dest`` (Hub layout: README.md + data/).

    Returns:
        What was written: ``{"format", "snapshot", "rows": {split: n}, "left_out": {split: n}}``,
        also saved as ``factory_export.json`` beside the data.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    source = data_source or "r1-factory/{domain}"
    report: dict[str, Any] = {"format": fmt, "snapshot": snap.ref, "data_source": source if fmt == "verl" else None,
                              "rows": {}, "left_out": {}}
    (dest / "data").mkdir(parents=True, exist_ok=True)
    for split in snap.splits:
        path, writer, rows, left = dest / "data" / f"{split}-00000-of-00001.parquet", None, 0, 0
        for batch, dropped in _converted(snap, fmt, split, source):
            left += dropped
            if batch.num_rows:
                writer = writer or pq.ParquetWriter(path, batch.schema, compression="zstd")
                writer.write_batch(batch)
                rows += batch.num_rows
        if writer is None:
            raise InputError(f"export --format {fmt}: split {split!r} of {snap.ref} has no row this format can carry "
                             f"({left} left out: no math answer{' or code tests' if fmt == 'verl' else ''})")
        writer.close()
        report["rows"][split], report["left_out"][split] = rows, left
    if fmt == "verl":  # verl's custom_reward_function interface, backed by the factory's graders
        (dest / "factory_reward.py").write_text(
            '"""verl: custom_reward_function.path=<this file> custom_reward_function.name=compute_score"""\n'
            "from factory.rewards.verl_reward import compute_score  # noqa: F401\n")
    (dest / "factory_export.json").write_text(json.dumps(report, indent=2) + "\n")
    (dest / "README.md").write_text(_card(snap, report))
    return report


def _card(snap: Snapshot, report: dict[str, Any]) -> str:
    header = {"configs": [{"config_name": "default", "data_files": [
        {"split": s, "path": f"data/{s}-*.parquet"} for s in report["rows"]]}],
        "tags": ["r1-factory", f"{report['format']}-format"], "pretty_name": snap.name}
    use = {"trl": "`trl grpo --dataset_name DIR --reward_funcs accuracy_reward think_format_reward` "
                  "(gold in `solution`) or `trl sft --dataset_name DIR`",
           "verl": "`data.train_files=DIR/data/train-00000-of-00001.parquet`; verl routes rewards by `data_source`, or "
                   "use the factory's graders: `custom_reward_function.path=DIR/factory_reward.py`"}
    lines = ["---", yaml.safe_dump(header, sort_keys=False).strip(), "---", "",
             f"# {snap.name} ({report['format']} format)", "",
             f"Exported from `{snap.ref}` by r1-factory. Use: {use[report['format']]}.", "",
             "| split | rows | left out (no gold this format's reward can check) |", "|---|---:|---:|"]
    lines += [f"| {s} | {n:,} | {report['left_out'][s]:,} |" for s, n in report["rows"].items()]
    return "\n".join(lines) + "\n"
