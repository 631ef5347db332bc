"""`factory recipe`: the whole R1 recipe with real tiny models, a thin wrapper over ``factory.api.recipe.recipe``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from factory.cli import render
from factory.cli.app import _store, app, friendly
from factory.config_io import parse_set


def _log(msg: str) -> None:
    render.console.print(f"[dim]·[/dim] {msg}")


@app.command()
@friendly
def recipe(
    preset: str = typer.Option("full", "--preset", help="full (make recipe, ~22 min with 1 thread) | smoke (minutes)."),
    work: Optional[Path] = typer.Option(None, "--work", help="Models and recipe.json (default: STORE/recipe-PRESET)."),
    backend: str = typer.Option("transformers", "--backend", help="Backend of generation stages: vllm | transformers."),
    eval_backend: Optional[str] = typer.Option(None, "--eval-backend", help="Backend of the evals (default: --backend)."),
    runtime: Optional[List[str]] = typer.Option(None, "--runtime", help="KEY=VALUE backend runtime option."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Run only this stage (repeatable)."),
    until: Optional[str] = typer.Option(None, "--until", help="Run the stages up to this one."),
    force: bool = typer.Option(False, "--force", help="Rerun stages whose output exists."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads (1 is faster on a loaded machine)."),
) -> None:
    """Run every R1 stage through the builders and trainers (base → R1-Zero → cold start → … → distill), then report."""
    from factory.api.recipe import recipe as run
    from factory.api.recipe_report import markdown

    if threads:
        import torch

        torch.set_num_threads(threads)
    ctx, report = run(_store(), preset, work=work, backend=backend, eval_backend=eval_backend,
                      runtime=parse_set(runtime), only=only, until=until, force=force, log=_log)
    typer.echo(markdown(report))
    total = sum(ctx.seconds.values())
    render.console.print(f"{len(ctx.outputs)} stages done; stage time {total:.0f} s; report in {ctx.work / 'report.md'}")
