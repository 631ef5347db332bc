"""CLI commands that build snapshots: `factory build` (and, later, score/generate/demo)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from factory.api.build import BuildOptions, run_build
from factory.cli import render
from factory.cli.app import _store, app, friendly
from factory.config_io import load_yaml, merge, parse_set


def _log(msg: str) -> None:
    render.console.print(f"[dim]·[/dim] {msg}")


def _ray_options(executor: str, address: str | None, num_workers: int, gpus_per_replica: float) -> dict:
    """Executor options of ``--executor ray`` (replicas as actors, each reserving its GPUs)."""
    if executor != "ray":
        return {}
    return {"address": address, "num_workers": num_workers, "num_gpus_per_worker": gpus_per_replica}


def runtime_options(items: list[str] | None) -> dict:
    """``--runtime KEY=VALUE`` options; a secret there would show in ``ps`` and shell history, so it is refused."""
    from factory import settings

    opts = parse_set(items)
    for key in opts:
        if settings.is_secret_key(key):
            raise ValueError(f"--runtime {key}=... puts a secret on the command line: set OPENAI_API_KEY in the "
                             f"environment, or pass --runtime {key}_file=PATH (a file holding it)")
    return opts


@app.command()
@friendly
def build(
    name: str = typer.Argument(..., help="Builder name (a file in pipelines/)."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML file of config keys."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="KEY=VALUE config override (repeatable)."),
    parent: Optional[List[str]] = typer.Option(None, "--parent", help="NAME=NAME@ID: pin a parent snapshot."),
    output: Optional[str] = typer.Option(None, "--output", help="Snapshot name (default: the builder's NAME)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="Generation backend of the builder's stages."),
    model: Optional[str] = typer.Option(None, "--model", help="Model of the builder's generation stages."),
    runtime: Optional[List[str]] = typer.Option(None, "--runtime", help="KEY=VALUE backend runtime option (base_url, ...)."),
    executor: str = typer.Option("local", "--executor", help="local | ray (shards of generation stages)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Existing Ray cluster (default: start a local one)."),
    num_workers: int = typer.Option(2, "--num-workers", help="Ray actors, i.e. backend replicas."),
    gpus_per_replica: float = typer.Option(0, "--gpus-per-replica", help="GPUs each Ray actor reserves (vLLM: its tensor-parallel size)."),
    max_error_share: float = typer.Option(0.02, "--max-error-share", help="Fail a generation stage (publishing nothing) when more of its rows are model-call errors."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the snapshot exists."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Build a snapshot with a versioned builder; an unchanged build is a cache hit."""
    cfg = merge(load_yaml(config), parse_set(set_))
    for key, value in (("backend", backend), ("model", model)):
        if value is not None:  # --backend/--model set the builder's `generate` stage config
            cfg = merge(cfg, {"generate": {key: value}})
    parents = dict(p.split("=", 1) for p in parent or [])
    res = run_build(_store(), name, cfg, name=output, parents=parents,
                    options=BuildOptions(force=force, quiet=quiet, log=_log, backend=runtime_options(runtime), executor=executor,
                                         max_error_share=max_error_share,
                                         executor_options=_ray_options(executor, ray_address, num_workers, gpus_per_replica)))
    status = "cache hit" if res.cached else "built"
    render.print_tables(res.snapshot.manifest)
    render.console.print(f"{status}: [bold]{res.snapshot.ref}[/bold] ({res.snapshot.num_rows:,} rows)")
    _print_top_rejects(res.snapshot)


def _print_top_rejects(snap) -> None:
    """Why rows were dropped, biggest first: with a weak model, the first thing a user asks."""
    rejects = snap.manifest.get("rejects") or {}
    if not rejects:
        return
    top = dict(sorted(rejects.items(), key=lambda kv: -kv[1])[:5])
    render.console.print(render.counts_table("top reject reasons", top, key="reason"))
    render.console.print(f"{sum(rejects.values()):,} rows rejected in all")
    if snap.num_rows == 0:
        render.console.print(f"no row passed the filters; ask why: factory sql \"select reason, count(*) from "
                             f"{snap.name.replace('-', '_')}__rejects group by 1 order by 2 desc\"")


@app.command()
@friendly
def generate(
    problems: str = typer.Argument(..., help="Problems snapshot (NAME[@ID]) or a .jsonl/.parquet file with problem_id, prompt."),
    backend: str = typer.Option("scripted", "--backend", help="vllm | openai | transformers | scripted"),
    model: str = typer.Option("scripted-teacher", "--model"),
    template: str = typer.Option("chat", "--template", help="r1_zero | chat | cold_start_few_shot"),
    samples_per_prompt: int = typer.Option(16, "--samples-per-prompt", "-n"),
    temperature: float = typer.Option(0.6, "--temperature"),
    top_p: float = typer.Option(0.95, "--top-p"),
    max_tokens: int = typer.Option(32768, "--max-tokens"),
    seed: int = typer.Option(0, "--seed"),
    prompts_per_shard: int = typer.Option(256, "--prompts-per-shard"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N problems."),
    option: Optional[List[str]] = typer.Option(None, "--option", help="KEY=VALUE backend option that changes output (repeatable)."),
    runtime: Optional[List[str]] = typer.Option(None, "--runtime", help="KEY=VALUE runtime option: base_url, api_key_file, max_concurrency, tensor_parallel_size ..."),
    executor: str = typer.Option("local", "--executor", help="local | ray"),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Existing Ray cluster (default: start a local one)."),
    num_workers: int = typer.Option(2, "--num-workers", help="Ray actors (one backend each)."),
    gpus_per_replica: float = typer.Option(0, "--gpus-per-replica", help="GPUs each Ray actor reserves (vLLM: its tensor-parallel size)."),
    output: str = typer.Option("rollouts", "--output", help="Output snapshot name."),
    max_error_share: float = typer.Option(0.02, "--max-error-share", help="Fail a generation stage (publishing nothing) when more of its rows are model-call errors."),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Generate rollouts (n samples per prompt) into a snapshot: sharded and resumable after kill -9."""
    from factory import api
    from factory.generate.generation import GenerateConfig

    cfg = GenerateConfig(backend=backend, model=model, backend_options=parse_set(option), template=template,
                         samples_per_prompt=samples_per_prompt, temperature=temperature, top_p=top_p,
                         max_tokens=max_tokens, seed=seed, prompts_per_shard=prompts_per_shard, limit=limit)
    rt = runtime_options(runtime)  # the openai backend reads OPENAI_API_KEY itself, wherever it runs
    ex_opts = _ray_options(executor, ray_address, num_workers, gpus_per_replica)
    opts = BuildOptions(quiet=quiet, log=_log, backend=rt, executor=executor, executor_options=ex_opts,
                        max_error_share=max_error_share)
    res = api.generate(_store(), problems, cfg, output=output, options=opts)
    status = "cache hit" if res.cached else "generated"
    render.console.print(f"{status}: [bold]{res.snapshot.ref}[/bold] ({res.snapshot.num_rows:,} rollouts)")


@app.command()
@friendly
def score(
    input: str = typer.Argument(..., help="Rollouts snapshot (NAME[@ID]) or a .jsonl/.parquet file."),
    rewards: str = typer.Option("accuracy,format,language", "--rewards", help="Comma-separated reward names."),
    output: str = typer.Option("scored", "--output", help=(
        "Snapshot name, or a .jsonl/.parquet file (Parquet to Parquet: the input's columns are copied "
        "as they are, keeping its codec, and the score columns added).")),
    weight: Optional[List[str]] = typer.Option(None, "--weight", help="NAME=WEIGHT (repeatable)."),
    format_template: str = typer.Option("auto", "--format-template", help="auto | r1_zero | readable"),
    language_threshold: float = typer.Option(0.95, "--language-threshold"),
    math_timeout: float = typer.Option(5.0, "--math-timeout", help="Seconds per undecided math item."),
    unsafe_unsandboxed_code: bool = typer.Option(
        False, "--unsafe-unsandboxed-code",
        help="DANGER: where no sandbox works (see `factory doctor`), run model-written code unconfined; "
             "recorded in the snapshot's manifest and card."),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Score rollouts with the rule rewards (the same functions GRPO uses) into a snapshot or a file."""
    from factory import api
    from pipelines.scored import Config

    cfg = Config(rewards=tuple(r.strip() for r in rewards.split(",") if r.strip()),
                 weights={k: float(v) for k, v in parse_set(weight).items()}, format_template=format_template,
                 language_threshold=language_threshold, math_timeout_s=math_timeout,
                 unsafe_unsandboxed_code=unsafe_unsandboxed_code)
    res = api.score(_store(), input, cfg, output=output, options=BuildOptions(quiet=quiet, log=_log))
    if isinstance(res, int):
        render.console.print(f"scored {res:,} rows into {output}")
    else:
        status = "cache hit" if res.cached else "scored"
        render.console.print(f"{status}: [bold]{res.snapshot.ref}[/bold] ({res.snapshot.num_rows:,} rows)")


@app.command()
@friendly
def demo(quiet: bool = typer.Option(True, "--quiet/--progress", help="Hide progress bars (default).")) -> None:
    """Build the whole R1 recipe at mini scale, offline, then show stages, lineage and a SQL query."""
    from factory.api import demo as demomod
    from factory.sql import query as sqlmod
    from factory.store.lineage import lineage

    store = _store()
    steps = demomod.demo(store, quiet=quiet, log=_log)
    rows, removed = [], []
    for step in steps:
        snap = step.result.snapshot
        for st in step.result.stages:
            rows.append(("  " + st.snapshot.ref, "", f"{st.snapshot.num_rows:,}", "cached" if st.cached else "built"))
        rows.append((snap.ref, f"{step.rows_in:,}", f"{snap.num_rows:,}", "cached" if step.result.cached else "built"))
        for reason, n in snap.manifest.get("rejects", {}).items():
            removed.append((snap.name, reason, n))
    render.console.print(render.rows_table(["snapshot", "rows in", "rows out", "status"], rows,
                                           title="the R1 recipe, mini scale"))
    render.console.print(render.rows_table(["snapshot", "filter", "rows removed"], removed, title="filters"))
    eval_snap = store.get("eval")
    cols = ["benchmark", "k", "pass@1", "pass@k", "maj@k", "no_answer"]
    render.console.print(render.rows_table(cols, [[m.get(c) for c in cols] for m in eval_snap.manifest["metrics"]],
                                           title=f"eval ({eval_snap.manifest['metrics'][0].get('model')})"))
    cols, result, _ = sqlmod.query_rows(store, demomod.DIFFICULTY_SQL)
    render.console.print(render.rows_table(cols, result, title="difficulty: pass rates under the policy (r1-zero keeps 0 < n_correct < k)"))
    render.console.print(render.lineage_tree(lineage(store, store.get("distill"))))
    render.console.print(f"[bold]example query[/bold]\n{demomod.EXAMPLE_SQL}")
    cols, result, _ = sqlmod.query_rows(store, demomod.EXAMPLE_SQL)
    render.console.print(render.rows_table(cols, result))
    hits = sum(s.result.cached for s in steps)
    render.console.print(f"{len(steps)} datasets, {hits} cache hits; store: {store.root}")
