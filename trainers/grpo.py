"""GRPO on an ``rl_prompts`` snapshot: TRL's GRPOTrainer with the project's rewards and rollout logging.

Rewards are ``factory.rewards.for_trl`` — the very functions batch scoring runs. All-scenario
RL (R1 §2.3.4) routes each prompt by its ``reward_type`` column: rule rows get the rule
rewards, ``reward_model`` rows get the reward-model score, and each reward returns ``None``
elsewhere (TRL sums only the rewards that apply).

R1 defaults (used only where the user sets nothing): a group of ``num_generations=16``
samples per prompt (R1 §2.2.1). The sampling temperature is TRL's default (1.0): DESIGN.md
quotes R1's *evaluation* temperature (0.6), not its RL rollout temperature, and sampling
colder during RL shrinks the within-group spread GRPO learns from.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from factory.rewards.registry import for_trl, grader_versions
from factory.rewards.reward_model import REWARD_MODEL, get_reward_model_reward, route_by_reward_type
from factory.store.ids import snapshot_id
from factory.store.store import Store
from trainers.common import (
    TrainResult,
    build_trl_config,
    checkpoint_step,
    finish,
    import_trl,
    last_checkpoint,
    load_data,
)

R1_DEFAULTS = {"num_generations": 16}
ROLLOUTS_VERSION = "1.0.0"
RUN_FILE = "factory_run.json"


def grpo_reward_funcs(rewards: str | Sequence[str], *, reward_params: dict | None = None, reward_model: str | None = None,
                      harmlessness_model: str | None = None, reward_model_weights: tuple[float, float] = (1.0, 1.0),
                      reward_model_options: dict | None = None, extra_rewards: Sequence[Callable] = ()) -> list:
    """Rule rewards (registry names, then ``extra_rewards`` functions) routed to ``reward_type == "rule"``
    rows, plus the reward model for ``reward_model`` rows."""
    funcs = [route_by_reward_type(f) for f in [*for_trl(rewards, reward_params), *extra_rewards]]
    if reward_model:
        funcs.append(get_reward_model_reward(reward_model, harmlessness_model, weights=reward_model_weights,
                                             **(reward_model_options or {})))
    return funcs


def _rollouts_ref(store: Store, output_dir: Path, data_ref: str, model: str, run_name: str,
                  resuming: bool) -> tuple[str, str]:
    """Name and id of the run's rollouts snapshot.

    A resumed run continues the unpublished snapshot named in ``factory_run.json``; a fresh
    run, or a resume after that snapshot was published, starts a new one.
    """
    run_file = output_dir / RUN_FILE
    if resuming and run_file.exists():
        name, _, id_ = json.loads(run_file.read_text())["rollouts"].partition("@")
        if store.find(name, id_) is None:
            return name, id_
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in run_name).strip("-.") or "run"
    name = f"grpo-rollouts-{slug}"
    started = datetime.now(timezone.utc).isoformat()
    id_ = snapshot_id("grpo-rollouts", ROLLOUTS_VERSION, {"output_dir": str(output_dir), "model": model,
                                                           "started": started}, {"data": data_ref})
    output_dir.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps({"rollouts": f"{name}@{id_}", "data_ref": data_ref}) + "\n")
    return name, id_


def train_grpo(store: Store, data_ref: str, model_path: str, output_dir: str | Path,
               rewards: str | Sequence[str] = "accuracy,format", trl_overrides: dict[str, Any] | None = None, *,
               reward_params: dict | None = None, reward_model: str | None = None, harmlessness_model: str | None = None,
               reward_model_weights: tuple[float, float] = (1.0, 1.0), extra_rewards: Sequence[Callable] = (),
               log_rollouts: bool = True, resume_from_checkpoint: str | bool | None = None, callbacks: list | None = None) -> TrainResult:
    """Train ``model_path`` with GRPO on snapshot ``data_ref``; the library function behind ``factory train grpo``.

    Args:
        store: the snapshot store.
        data_ref: ``rl_prompts`` snapshot, ``NAME`` or ``NAME@ID``.
        model_path: policy to start from (folder or Hub id).
        output_dir: where checkpoints and the final model go.
        rewards: rule reward names from ``factory.rewards.REWARDS``, comma-separated.
        trl_overrides: ``GRPOConfig`` fields (YAML / ``--set``); they win over the R1 defaults.
        reward_params: per-reward factory parameters, e.g. ``{"format": {"template": "readable"}}``.
        reward_model, harmlessness_model: reward models for ``reward_type == "reward_model"`` rows.
        reward_model_weights: (helpfulness, harmlessness) weights.
        extra_rewards: more rule reward functions in TRL's shape (named by ``__name__``).
        log_rollouts: write every rollout into a ``grpo-rollouts-<run>`` snapshot.
        resume_from_checkpoint: a ``checkpoint-N`` folder, or ``True``/``"latest"``.
        callbacks: extra ``transformers.TrainerCallback`` objects.

    Returns:
        A :class:`TrainResult`; ``rollouts_ref`` names the rollouts snapshot.
    """
    GRPOConfig, GRPOTrainer = import_trl("GRPOConfig", "GRPOTrainer",
                                         use_vllm=bool((trl_overrides or {}).get("use_vllm")))

    output_dir = Path(output_dir).resolve()
    args = build_trl_config(GRPOConfig, output_dir, R1_DEFAULTS, trl_overrides)
    snap, dataset = load_data(store, data_ref, ("rl_prompts",), "prompt")
    if not reward_model and "reward_type" in dataset.column_names and REWARD_MODEL in set(dataset["reward_type"]):
        raise ValueError(f"{snap.ref} has reward_type={REWARD_MODEL!r} rows; pass --reward-model PATH to score them")
    funcs = grpo_reward_funcs(rewards, reward_params=reward_params, reward_model=reward_model,
                              harmlessness_model=harmlessness_model, reward_model_weights=reward_model_weights,
                              extra_rewards=extra_rewards)
    checkpoint = last_checkpoint(output_dir, resume_from_checkpoint)
    if not log_rollouts:
        trainer = GRPOTrainer(model=model_path, reward_funcs=funcs, args=args, train_dataset=dataset, callbacks=callbacks)
        out = trainer.train(resume_from_checkpoint=checkpoint)
        return finish(store, trainer, snap, "grpo", model_path, metrics=out.metrics)
    name, id_ = _rollouts_ref(store, output_dir, snap.ref, model_path, args.run_name or output_dir.name, checkpoint is not None)
    with store.begin(name, id_, kind="rollouts") as build:
        from trainers.rollout_log import RolloutLogger

        logger = RolloutLogger(build, num_generations=args.num_generations, reward_weights=args.reward_weights,
                               model=str(model_path), scale_rewards=args.scale_rewards,
                               max_completion_length=args.max_completion_length, temperature=args.temperature)
        logger.drop_after(checkpoint_step(checkpoint))
        trainer = GRPOTrainer(model=model_path, reward_funcs=logger.wrap(funcs), args=args, train_dataset=dataset,
                              callbacks=[logger, *(callbacks or [])])
        logger.tokenizer = trainer.processing_class
        out = trainer.train(resume_from_checkpoint=checkpoint)
        rollouts = logger.commit(
            builder="trainers.grpo", builder_version=ROLLOUTS_VERSION, parents={snap.name: snap.ref},
            config={"model": str(model_path), "output_dir": str(output_dir), "rewards": rewards,
                    "reward_model": reward_model, "harmlessness_model": harmlessness_model,
                    "num_generations": args.num_generations, "temperature": args.temperature},
            graders=grader_versions(rewards), description=f"GRPO rollouts of {output_dir.name}")
    return finish(store, trainer, snap, "grpo", model_path, metrics=out.metrics,
                  rollouts_ref=rollouts.ref if rollouts is not None else None)
