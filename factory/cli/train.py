"""`factory train grpo|sft|distill`: thin TRL trainers on snapshots; options are TRL config fields.

``--config FILE.yaml`` holds ``GRPOConfig``/``SFTConfig`` field names and ``--set key=value``
overrides them, so any TRL option is reachable without a flag of its own here.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from factory.cli import render
from factory.cli.app import _store, app, friendly

train_app = typer.Typer(help="Train models on snapshots (thin TRL wrappers): grpo, sft, distill.", no_args_is_help=True)
app.add_typer(train_app, name="train")

_CONFIG = typer.Option(None, "--config", help="YAML of TRL config fields (GRPOConfig / SFTConfig names).")
_SET = typer.Option(None, "--set", help="KEY=VALUE TRL config override (repeatable), e.g. --set max_steps=100.")
_OUT = typer.Option(..., "--output-dir", "-o", help="Model folder (checkpoints, final model, factory_manifest.json).")
_RESUME = typer.Option(None, "--resume", help="checkpoint-N folder, or 'latest' in --output-dir.")


def _overrides(config: Optional[Path], set_: Optional[List[str]]) -> dict:
    from trainers.common import overrides_from

    return overrides_from(config, set_)


def _report(res) -> None:
    render.console.print(f"trained [bold]{res.output_dir}[/bold] ({res.trainer}, {res.global_step} steps) on {res.data_ref}")
    if res.rollouts_ref:
        render.console.print(f"rollouts: [bold]{res.rollouts_ref}[/bold]")


@train_app.command("grpo")
@friendly
def grpo(
    data: str = typer.Option("rl-prompts", "--data", help="rl_prompts snapshot, NAME or NAME@ID."),
    model: str = typer.Option(..., "--model", help="Policy to start from (folder or Hub id)."),
    output_dir: Path = _OUT,
    rewards: str = typer.Option("accuracy,format", "--rewards", help="Rule rewards, comma-separated (accuracy,format,language,...)."),
    reward_model: Optional[str] = typer.Option(None, "--reward-model", help="Helpfulness reward model for reward_type=reward_model rows."),
    harmlessness_model: Optional[str] = typer.Option(None, "--harmlessness-model", help="Harmlessness reward model (whole response)."),
    config: Optional[Path] = _CONFIG,
    set_: Optional[List[str]] = _SET,
    resume: Optional[str] = _RESUME,
    no_rollouts: bool = typer.Option(False, "--no-rollouts", help="Do not log rollouts into a snapshot."),
) -> None:
    """GRPO with the project's rewards; every rollout is logged into a grpo-rollouts-<run> snapshot."""
    from trainers.grpo import train_grpo

    res = train_grpo(_store(), data, model, output_dir, rewards, _overrides(config, set_), reward_model=reward_model,
                     harmlessness_model=harmlessness_model, log_rollouts=not no_rollouts, resume_from_checkpoint=resume)
    _report(res)


@train_app.command("sft")
@friendly
def sft(
    data: str = typer.Option("sft-mix", "--data", help="sft_samples snapshot, NAME or NAME@ID."),
    model: str = typer.Option(..., "--model", help="Model to fine-tune (folder or Hub id)."),
    output_dir: Path = _OUT,
    config: Optional[Path] = _CONFIG,
    set_: Optional[List[str]] = _SET,
    resume: Optional[str] = _RESUME,
) -> None:
    """SFT on the messages column, loss on assistant tokens only (R1: 2 epochs)."""
    from trainers.sft import train_sft

    _report(train_sft(_store(), data, model, output_dir, _overrides(config, set_), resume_from_checkpoint=resume))


@train_app.command("distill")
@friendly
def distill(
    data: str = typer.Option("distill", "--data", help="Distill snapshot (sft_samples with config.students)."),
    student: str = typer.Option(..., "--student", help="Student name from the snapshot's config, or a model path."),
    output_dir: Path = _OUT,
    config: Optional[Path] = _CONFIG,
    set_: Optional[List[str]] = _SET,
    resume: Optional[str] = _RESUME,
) -> None:
    """Distillation: plain SFT of a small student on the distill set, no RL (R1 §2.4)."""
    from trainers.distill import train_distill

    _report(train_distill(_store(), data, student, output_dir, _overrides(config, set_), resume_from_checkpoint=resume))
