"""Rollouts logged by other trainers, read into our rollouts columns: TRL's ``log_completions``
Parquet (``<output_dir>/completions/completions_<step>.parquet``) and verl's rollout JSONL dumps
(``trainer.rollout_data_dir/<step>.jsonl``).

Neither carries a prompt id, so lineage is recovered by content when the caller names the prompt
snapshot: a TRL row's prompt is the dataset's own prompt (its last user turn matches exactly); a
verl row's ``input`` is the chat-templated text, which contains the user turn (the longest
contained one wins). Unmatched rows get ``problem_id = "h:<hash of the prompt>"`` and are counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from factory.errors import InputError

FORMATS = {
    # format: (file suffixes, required columns, what writes it)
    "trl": ((".parquet",), ("step", "prompt", "completion", "advantage"), "TRL GRPOConfig(log_completions=True)"),
    "verl": ((".jsonl", ".json"), ("input", "output", "score", "step"), "verl trainer.rollout_data_dir"),
}
_NOT_REWARDS = {"step", "advantage", "score"}


def input_files(path: str | Path, fmt: str) -> list[Path]:
    """The files of one import: ``path`` itself, or the files with the format's suffix in the folder."""
    if fmt not in FORMATS:
        raise InputError(f"unknown rollouts format {fmt!r}; choose from {', '.join(FORMATS)}")
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist")
    files = sorted(f for f in p.iterdir() if f.suffix in FORMATS[fmt][0]) if p.is_dir() else [p]
    if not files:
        raise InputError(f"{p} holds no {' or '.join(FORMATS[fmt][0])} files ({FORMATS[fmt][2]} writes them)")
    return files


def read_table(files: list[Path], fmt: str) -> pa.Table:
    """All files as one table; a file whose columns do not match names the missing column."""
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    suffixes, required, writer = FORMATS[fmt]
    tables = []
    for f in files:
        try:
            t = pq.read_table(f) if f.suffix == ".parquet" else pajson.read_json(f)
        except Exception as e:  # noqa: BLE001 - pyarrow raises several types for corrupt files
            raise InputError(f"{f}: cannot read ({str(e).splitlines()[0]})") from None
        missing = [c for c in required if c not in t.column_names]
        if missing:
            raise InputError(f"{f} is not a {fmt} rollouts file ({writer}): it lacks column {missing[0]!r}; "
                             f"it has {', '.join(t.column_names)}")
        tables.append(t)
    return pa.concat_tables(tables, promote_options="permissive")


def _text(value: Any) -> str:
    """A prompt or completion as text: a string, or the content of the last user turn / first message."""
    if isinstance(value, str) or value is None:
        return value or ""
    users = [m.get("content") or "" for m in value if m.get("role") == "user"]
    return users[-1] if users else (value[0].get("content") or "" if value else "")


def _completion(value: Any) -> str:
    if isinstance(value, str) or value is None:
        return value or ""
    return "".join(m.get("content") or "" for m in value)


def _prompt_keys(prompts: pa.Table) -> dict[str, str]:
    """last user turn -> problem_id for an rl_prompts (chat list) or problems (text) table."""
    return {_text(p): pid for p, pid in zip(prompts.column("prompt").to_pylist(), prompts.column("problem_id").to_pylist())}


def _match_contained(inputs: list[str], keys: dict[str, str]) -> list[str | None]:
    """For each distinct templated input, the problem whose user turn it contains (longest wins)."""
    import duckdb

    con = duckdb.connect()
    con.register("i", pa.table({"input": sorted(set(inputs))}))
    con.register("p", pa.table({"content": list(keys), "problem_id": list(keys.values())}))
    rows = con.execute("select input, problem_id from i join p on contains(input, content) "
                       "qualify row_number() over (partition by input order by length(content) desc) = 1").fetchall()
    found = dict(rows)
    return [found.get(x) for x in inputs]


def to_rollouts(table: pa.Table, fmt: str, prompts: pa.Table | None = None, model: str = "") -> tuple[pa.Table, dict]:
    """Our rollouts columns from a TRL/verl table; returns (table, stats: rows, matched rows).

    Rewards become ``reward_<name>`` columns (TRL: one per reward function, and ``reward`` is their
    sum, TRL's default weights of 1; verl: ``reward`` is its ``score``); ``step`` stays.
    """
    raw_prompts = table.column("prompt" if fmt == "trl" else "input").to_pylist()
    texts = [_text(p) for p in raw_prompts]
    completions = [_completion(c) for c in table.column("completion" if fmt == "trl" else "output").to_pylist()]
    keys = _prompt_keys(prompts) if prompts is not None else {}
    matched = ([keys.get(t) for t in texts] if fmt == "trl" else _match_contained(texts, keys)) if keys else [None] * len(texts)
    ids = [m or f"h:{xxhash.xxh3_64_hexdigest(t.encode())}" for m, t in zip(matched, texts)]
    steps = table.column("step").cast(pa.int64()).to_pylist()
    seen: dict[tuple, int] = {}
    sample_idx = []
    for key in zip(steps, ids):
        sample_idx.append(seen.get(key, 0))
        seen[key] = sample_idx[-1] + 1
    cols: dict[str, pa.Array] = {
        "problem_id": pa.array(ids, pa.string()), "sample_idx": pa.array(sample_idx, pa.int32()),
        "prompt": pa.array(texts, pa.string()), "completion": pa.array(completions, pa.string()),
        "model": pa.array([model or None] * len(ids), pa.string()), "backend": pa.array([fmt] * len(ids), pa.string()),
        "step": pa.array(steps, pa.int64())}
    cols.update(_rewards(table, fmt))
    if fmt == "trl":
        cols["advantage"] = table.column("advantage").cast(pa.float32())
    elif "gts" in table.column_names:
        cols["answer"] = pa.array([None if g is None else str(g) for g in table.column("gts").to_pylist()], pa.string())
    if prompts is not None:
        cols.update(_gold_columns(prompts, ids, skip=set(cols)))
    stats = {"rows": len(ids), "matched_rows": sum(m is not None for m in matched), "steps": len(set(steps))}
    return pa.table(cols), stats


def _rewards(table: pa.Table, fmt: str) -> dict[str, pa.Array]:
    """Numeric per-row columns of the log as ``reward_<name>``, and their total as ``reward``."""
    out: dict[str, pa.Array] = {}
    for name in table.column_names:
        col = table.column(name)
        if name in _NOT_REWARDS or not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
            continue
        out[_reward_name(name)] = col.cast(pa.float32())
    if fmt == "verl":
        out["reward"] = table.column("score").cast(pa.float32())
    else:
        total = None
        for arr in out.values():
            filled = pc.fill_null(pc.if_else(pc.is_nan(arr), None, arr), 0.0)
            total = filled if total is None else pc.add(total, filled)
        out["reward"] = total if total is not None else pa.nulls(table.num_rows, pa.float32())
    return out


def _gold_columns(prompts: pa.Table, ids: list[str], skip: set[str]) -> dict[str, pa.Array]:
    """The prompt snapshot's gold and grouping columns (answer, domain, difficulty ...) per matched row."""
    index = {pid: i for i, pid in enumerate(prompts.column("problem_id").to_pylist())}
    take = pa.array([index.get(pid) for pid in ids], pa.int64())
    wanted = ("answer", "tests", "domain", "language", "difficulty")
    return {c: prompts.column(c).take(take) for c in wanted if c in prompts.column_names and c not in skip}


def _reward_name(name: str) -> str:
    """``accuracy_reward`` -> ``reward_accuracy``.

    >>> _reward_name("accuracy_reward"), _reward_name("think_format_reward"), _reward_name("acc")
    ('reward_accuracy', 'reward_think_format', 'reward_acc')
    """
    return "reward_" + (name[:-len("_reward")] if name.endswith("_reward") else name)
