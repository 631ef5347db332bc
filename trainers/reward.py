"""Reward-model training on a preference-pairs snapshot: TRL's RewardTrainer (Bradley-Terry) on a model made from scratch.

The result is a ``num_labels=1`` sequence classifier, the shape ``factory.rewards.reward_model``
scores with during all-scenario GRPO (R1 §2.3.4).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factory.store.store import Store
from trainers.common import TrainResult, build_trl_config, finish, import_trl, load_data

DEFAULTS = {"num_train_epochs": 1, "max_length": 256, "gradient_checkpointing": False, "save_strategy": "no",
            "logging_steps": 50, "learning_rate": 1e-3, "per_device_train_batch_size": 16}


def train_reward_model(store: Store, data_ref: str, model_path: str, output_dir: str | Path,
                       trl_overrides: dict[str, Any] | None = None) -> TrainResult:
    """Train the sequence classifier at ``model_path`` to score ``chosen`` above ``rejected``."""
    from transformers import AutoTokenizer
    RewardConfig, RewardTrainer = import_trl("RewardConfig", "RewardTrainer")

    args = build_trl_config(RewardConfig, Path(output_dir).resolve(), DEFAULTS, trl_overrides)
    snap, dataset = load_data(store, data_ref, ("preferences",), "chosen")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    trainer = RewardTrainer(model=model_path, args=args, train_dataset=dataset.select_columns(["chosen", "rejected"]),
                            processing_class=tokenizer)
    out = trainer.train()
    return finish(store, trainer, snap, "reward", model_path, metrics=out.metrics)
