"""Every GRPO rollout into a ``rollouts`` snapshot, so `factory sql` can follow training step by step.

TRL 1.16 calls each reward function with the prompts, completions, completion ids, the
dataset columns and ``trainer_state``; the logger wraps the reward functions, and once every
function has scored a batch it writes one row per completion: step, problem, prompt,
completion, each reward, the weighted total and the group-normalized advantage. The
advantage is *recomputed* from the logged rewards with TRL's formula (group mean, Bessel std,
``+1e-4``; ``scale_rewards`` group/batch/none), not read from TRL's private state.
``step`` is the first optimizer step trained on the rollout (1-based, the step TRL's own
completion logs show); with ``steps_per_generation > 1`` one generation serves several steps.

Rows are buffered and written as part files of one snapshot build that stays open for the
whole run (so ``factory gc`` never removes it) and is published atomically by ``commit()``
at the end. Parts are flushed at each checkpoint save; after a crash, resuming from a
checkpoint first drops the rows of steps after it, so a step is never logged twice.
Only rank 0 logs (its own share of rollouts) in multi-process training.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from transformers import TrainerCallback

from factory.rewards.base import completion_texts
from factory.store.store import SnapshotBuild
from factory.store.writer import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, SplitWriter, write_one_shard

KIND, SPLIT = "rollouts", "train"


def reward_column(func_name: str) -> str:
    """``accuracy_reward`` -> ``reward_accuracy`` (one column per reward function)."""
    return "reward_" + (func_name[:-len("_reward")] if func_name.endswith("_reward") else func_name)


def group_advantages(totals: Sequence[float], group: int, scale: str = "group") -> list[float | None]:
    """TRL's GRPO advantage (``sum_then_normalize``) from per-completion total rewards.

    >>> [round(a, 3) for a in group_advantages([1.0, 0.0, 2.0, 2.0], 2)]
    [0.707, -0.707, 0.0, 0.0]
    """
    if group < 1 or len(totals) % group:
        return [None] * len(totals)

    def stats(xs: list[float]) -> tuple[float, float]:
        ok = [x for x in xs if not math.isnan(x)]
        if not ok:
            return math.nan, math.nan
        mean = sum(ok) / len(ok)
        std = math.sqrt(sum((x - mean) ** 2 for x in ok) / (len(ok) - 1)) if len(ok) > 1 else math.nan
        return mean, std

    batch_std = stats(list(totals))[1]
    out: list[float | None] = []
    for g in range(0, len(totals), group):
        mean, std = stats(list(totals[g:g + group]))
        std = batch_std if scale == "batch" else std
        for x in totals[g:g + group]:
            adv = x - mean if scale == "none" else (x - mean) / (std + 1e-4)
            out.append(0.0 if math.isnan(adv) else adv)
    return out


class RolloutLogger(TrainerCallback):
    """Records GRPO rollouts through wrapped reward functions; flushes on save, commits on demand.

    Args:
        build: an entered ``SnapshotBuild`` of kind ``rollouts``.
        num_generations: GRPO group size (consecutive completions share a prompt).
        reward_weights: TRL's weights, one per reward function (None = all 1).
        model: model name recorded in each row.
        tokenizer: renders conversational prompts as the text the model saw.
        scale_rewards: TRL's ``scale_rewards`` (group | batch | none).
        max_completion_length: marks rows that hit it as ``finish_reason="length"``.
        temperature: sampling temperature recorded in each row.
        flush_rows: also flush when this many rows are buffered (bounds memory).
    """

    def __init__(self, build: SnapshotBuild, *, num_generations: int, reward_weights: Sequence[float] | None = None,
                 model: str = "", tokenizer: Any = None, scale_rewards: str = "group",
                 max_completion_length: int | None = None, temperature: float | None = None, flush_rows: int = 50_000):
        self.build, self.group, self.model, self.tokenizer = build, num_generations, model, tokenizer
        self.weights, self.scale = reward_weights, scale_rewards
        self.max_len, self.temperature, self.flush_rows = max_completion_length, temperature, flush_rows
        self.names: list[str] = []
        self._pending: dict[int, dict[str, list]] = {}
        self._rows: list[pa.RecordBatch] = []
        self._buffered = 0
        self.rows_written = 0
        self._writer = SplitWriter(build.work, SPLIT, KIND, max_rows=DEFAULT_MAX_ROWS, max_bytes=DEFAULT_MAX_BYTES,
                                   quiet=True)

    # -- recording -----------------------------------------------------------------------
    def wrap(self, reward_funcs: Sequence[Callable]) -> list[Callable]:
        """The same reward functions, each also reporting its scores to this logger."""
        self.names = [getattr(f, "__name__", f"reward_{i}") for i, f in enumerate(reward_funcs)]
        return [self._wrap_one(f, name) for f, name in zip(reward_funcs, self.names)]

    def _wrap_one(self, fn: Callable, name: str) -> Callable:
        def recorded(completions: Sequence[Any], **kwargs: Any) -> list:
            scores = fn(completions, **kwargs)
            self._record(name, completions, list(scores), kwargs)
            return scores

        recorded.__name__ = recorded.__qualname__ = name
        return recorded

    def _record(self, name: str, completions: Sequence[Any], scores: list, kwargs: dict[str, Any]) -> None:
        state = kwargs.get("trainer_state")
        if state is not None and not getattr(state, "is_world_process_zero", True):
            return
        batch = self._pending.setdefault(id(completions), {})
        batch[name] = scores
        if len(batch) == len(self.names):  # every reward function has scored this batch
            del self._pending[id(completions)]
            self._add(completions, [batch[n] for n in self.names], kwargs)

    def _add(self, completions: Sequence[Any], scores: list[list], kwargs: dict[str, Any]) -> None:
        n = len(completions)
        state = kwargs.get("trainer_state")
        weights = list(self.weights) if self.weights is not None else [1.0] * len(self.names)
        per_reward = [[math.nan if s is None else float(s) for s in col] for col in scores]
        totals = [sum(w * col[i] for w, col in zip(weights, per_reward) if not math.isnan(col[i]))
                  if any(not math.isnan(col[i]) for col in per_reward) else math.nan for i in range(n)]
        ids = kwargs.get("completion_ids") or [[]] * n
        lengths = [len(x) for x in ids]
        cols: dict[str, Any] = {
            "problem_id": [str(p) for p in (kwargs.get("problem_id") or [f"row-{i // self.group}" for i in range(n)])],
            "sample_idx": pa.array([i % self.group for i in range(n)], pa.int32()),
            "step": pa.array([(state.global_step if state is not None else 0) + 1] * n, pa.int64()),
            "prompt": [self._prompt_text(p) for p in kwargs.get("prompts") or [None] * n],
            "completion": completion_texts(completions),
            "completion_tokens": pa.array(lengths, pa.int32()),
            "finish_reason": ["length" if self.max_len and k >= self.max_len else "stop" for k in lengths],
            "model": [self.model] * n,
            "temperature": pa.array([self.temperature] * n, pa.float32()),
        }
        for name, col in zip(self.names, per_reward):
            cols[reward_column(name)] = pa.array([None if math.isnan(x) else x for x in col], pa.float64())
        cols["reward"] = pa.array([None if math.isnan(x) else x for x in totals], pa.float64())
        cols["advantage"] = pa.array(group_advantages(totals, self.group, self.scale), pa.float64())
        self._rows.append(pa.RecordBatch.from_pydict(cols))
        self._buffered += n
        if self._buffered >= self.flush_rows:
            self.flush()

    def _prompt_text(self, prompt: Any) -> str | None:
        if prompt is None or isinstance(prompt, str):
            return prompt
        if self.tokenizer is not None and getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        return "\n".join(f"{m.get('role')}: {m.get('content')}" for m in prompt)

    # -- writing -------------------------------------------------------------------------
    def flush(self) -> int:
        """Write buffered rows as one new part file; returns the rows written."""
        if not self._rows:
            return 0
        done = self._writer.done_parts()
        rows = write_one_shard(self._writer.data_dir, SPLIT, KIND, max(done, default=-1) + 1, self._rows)
        self._rows, self._buffered = [], 0
        self.rows_written += rows
        return rows

    def drop_after(self, step: int) -> int:
        """Remove logged rows of steps after ``step`` (resuming from an earlier checkpoint); returns rows dropped."""
        dropped = 0
        for part in sorted(self._writer.done_parts()):
            path = self._writer.data_dir / f"{SPLIT}-{part:05d}.parquet"
            table = pq.read_table(path)
            keep = table.filter(pc.less_equal(table["step"], step))
            if keep.num_rows == table.num_rows:
                continue
            dropped += table.num_rows - keep.num_rows
            Path(path).unlink()
            if keep.num_rows:
                write_one_shard(self._writer.data_dir, SPLIT, KIND, part, keep.to_batches())
        return dropped

    def on_save(self, args, state, control, **kwargs):
        self.flush()

    def on_train_end(self, args, state, control, **kwargs):
        self.flush()

    def commit(self, **manifest: Any):
        """Publish the snapshot (None when nothing was logged)."""
        self.flush()
        if not self._writer.done_parts():
            return None
        return self.build.commit(**manifest)
