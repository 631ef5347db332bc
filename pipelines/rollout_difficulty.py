"""Stage-2 difficulty from training itself: the mean reward per prompt in logged RL rollouts.

POLARIS re-drops prompts averaging above 0.9 between stages and ORZ mined its hard set from its
own stage-1 rollouts; both did it with one-off scripts. Here any snapshot with per-rollout rewards
(``grpo-rollouts-*`` from ``factory train grpo``, TRL/verl logs via ``factory import``, scored
rollouts) becomes a difficulty table, over the whole run or its last N steps, and the next
stage's ``r1-zero``/``rl-mix`` filter by it (``difficulty.table=rollout-difficulty@ID``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from factory.errors import InputError
from pipelines.difficulty import difficulty_rows

NAME = "rollout-difficulty"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Mean reward per prompt over logged rollouts (whole run or last N steps)."}
KIND = "difficulty"
PARENTS = ("scored",)  # any snapshot with problem_id and a reward column: --parent scored=grpo-rollouts-run@ID


@dataclass(frozen=True)
class Config:
    reward: str = field(default="reward_accuracy", metadata={"help": "the reward column whose mean is the pass rate"})
    correct_at: float = field(default=1.0, metadata={"help": "a rollout counts in n_correct when reward >= this"})
    last_steps: int = field(default=0, metadata={"help": "only the last N logged steps (0: the whole run)"})

    def __post_init__(self) -> None:
        if not self.reward.isidentifier():
            raise ValueError(f"reward={self.reward!r}: a column name such as reward_accuracy")
        if self.last_steps < 0:
            raise ValueError(f"last_steps={self.last_steps}: 0 (whole run) or a positive number of steps")


def _sql(columns: list[str], config: Config, files: list[str]) -> str:
    if config.reward not in columns:
        rewards = [c for c in columns if c.startswith("reward")]
        raise InputError(f"the rollouts have no column {config.reward!r}; reward columns: {', '.join(rewards) or 'none'}")
    if config.last_steps and "step" not in columns:
        raise InputError("last_steps needs a 'step' column (GRPO rollout logs have one; scored rollouts do not)")
    opt = {c: (c if c in columns else f"null::{t}") for c, t in (
        ("domain", "varchar"), ("difficulty", "integer"), ("language", "varchar"), ("model", "varchar"),
        ("prompt", "varchar"), ("completion_tokens", "integer"), ("finish_reason", "varchar"))}
    r, src = f'"{config.reward}"', "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "])"
    window = (f"where step > (select max(step) from {src}) - {config.last_steps}" if config.last_steps else "")
    return f"""
        select problem_id, any_value({opt['prompt']}) as prompt, any_value({opt['domain']}) as domain,
               any_value({opt['difficulty']})::integer as difficulty, any_value({opt['language']}) as language,
               any_value({opt['model']}) as policy_model, count(*)::integer as k,
               count_if({r} >= {config.correct_at})::integer as n_correct, count({r})::integer as n_graded,
               avg({r})::double as pass_rate, avg({opt['completion_tokens']})::double as mean_completion_tokens,
               max({opt['completion_tokens']})::integer as max_completion_tokens,
               avg(({opt['finish_reason']} = 'length')::integer)::double as truncated_share
        from {src} {window} group by problem_id order by problem_id"""


def build(ctx, config: Config) -> None:
    rollouts = ctx.parent("scored")
    files = [str(p) for p in rollouts.files()]
    sql = _sql(rollouts.schema.names, config, files)
    table = duckdb.connect().sql(sql).to_arrow_table()
    table = difficulty_rows(table, revision="", graders={"reward": config.reward}, measured_on=rollouts.ref)
    ctx.write("train", table.to_batches(max_chunksize=65_536))
    window = f"the last {config.last_steps} steps" if config.last_steps else "the whole run"
    ctx.note(queries={"rollout_difficulty": sql.replace(", ".join(f"'{f}'" for f in files), f"ref('{rollouts.ref}')")},
             stats={"prompts": table.num_rows, "rollouts": rollouts.num_rows, "last_steps": config.last_steps},
             description=f"mean {config.reward} per prompt over {window} of {rollouts.ref}")
