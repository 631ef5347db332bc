"""CLI commands that build snapshots: `factory build` (and, later, score/generate/demo)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from factory import render
from factory.builder import BuildOptions, run_build
from factory.cli import _store, app, friendly
from factory.configs import load_yaml, merge, parse_set


def _log(msg: str) -> None:
    render.console.print(f"[dim]·[/dim] {msg}")


@app.command()
@friendly
def build(
    name: str = typer.Argument(..., help="Builder name (a file in pipelines/)."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML file of config keys."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="KEY=VALUE config override (repeatable)."),
    parent: Optional[List[str]] = typer.Option(None, "--parent", help="NAME=NAME@ID: pin a parent snapshot."),
    output: Optional[str] = typer.Option(None, "--output", help="Snapshot name (default: the builder's NAME)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the snapshot exists."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Build a snapshot with a versioned builder; an unchanged build is a cache hit."""
    cfg = merge(load_yaml(config), parse_set(set_))
    parents = dict(p.split("=", 1) for p in parent or [])
    res = run_build(_store(), name, cfg, name=output, parents=parents,
                    options=BuildOptions(force=force, quiet=quiet, log=_log))
    status = "cache hit" if res.cached else "built"
    render.console.print(f"{status}: [bold]{res.snapshot.ref}[/bold] ({res.snapshot.num_rows:,} rows)")
