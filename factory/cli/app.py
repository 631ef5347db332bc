"""`factory` CLI: every command is a thin wrapper over the library function of the same name."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, Optional

import typer

from factory import api, gc_pause
from factory import settings as envconfig
from factory.cli import render
from factory.store.store import Store

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="r1-factory: build, query and publish the DeepSeek-R1 datasets as versioned snapshots.")
catalog_app = typer.Typer(help="The DuckDB catalog derived from the manifests.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

_state = {"store": None, "debug": False}


def _store() -> Store:
    return Store(_state["store"])


def friendly(fn: Callable) -> Callable:
    """Errors become one clear line on stderr and exit code 1; ``--debug`` shows the traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 - the CLI boundary
            if _state["debug"] or envconfig.debug_enabled():
                raise
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            typer.echo(f"error: {msg}", err=True)
            raise typer.Exit(1) from None

    return wrapper


@app.callback()
def main(
    store: Optional[str] = typer.Option(None, "--store", help="Store folder (default $FACTORY_STORE or ./factory-store)."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    _state["store"], _state["debug"] = store, debug
    envconfig.use_jemalloc_for_arrow()
    gc_pause.skip_exit_collection()


@app.command()
@friendly
def ls(name: Optional[str] = typer.Argument(None, help="Only versions of this snapshot name.")) -> None:
    """List snapshots: name, id, rows, created, builder@version, parents."""
    snaps = api.ls(_store(), name)
    if not snaps:
        typer.echo(f"no snapshots in {_store().root}")
        return
    render.console.print(render.snapshots_table(snaps))


@app.command()
@friendly
def show(ref: str = typer.Argument(..., help="NAME (latest) or NAME@ID."),
         card: bool = typer.Option(False, "--card", help="Print the full dataset card too.")) -> None:
    """Show a snapshot: splits, schema, stats, rejects and the lineage tree down to sources."""
    res = api.show(_store(), ref)
    snap, m = res.snapshot, res.snapshot.manifest
    render.console.print(f"[bold]{snap.ref}[/bold]  kind={m.get('kind')}  builder={m.get('builder')}@{m.get('builder_version')}"
                         f"  created={m.get('created_at')}" + ("  [yellow]synthetic[/yellow]" if m.get("synthetic") else ""))
    if m.get("release_note"):
        render.console.print(f"release note: {m['release_note']}")
    render.console.print(render.splits_table(snap))
    render.console.print(render.schema_table(snap))
    if m.get("rejects"):
        render.console.print(render.counts_table("rows removed by each filter", m["rejects"], key="filter"))
    if m.get("stats"):
        render.console.print(render.counts_table("stats", {k: v for k, v in m["stats"].items() if not isinstance(v, (dict, list))}, "stat", "value"))
    render.print_tables(m)
    render.console.print(render.lineage_tree(res.lineage))
    if res.models:
        render.console.print(render.rows_table(["model", "trainer", "created"],
                                               [(x.get("path"), x.get("trainer"), x.get("created_at")) for x in res.models],
                                               title="models trained on this snapshot"))
    if card:
        render.console.print(res.card, markup=False)


@app.command()
@friendly
def sql(
    query: str = typer.Argument(..., help='SQL over the catalog, e.g. "select domain, count(*) from problems group by 1".'),
    format: str = typer.Option("table", "--format", "-f", help="table | csv | json | parquet"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the full result to this file (streamed)."),
    limit: int = typer.Option(50, "--limit", help="Rows to print in table format."),
) -> None:
    """Run SQL across the whole store (one view per snapshot); print a table or stream to a file."""
    from factory.sql import query as sqlmod

    if format == "table" and output is None:
        cols, rows, truncated = sqlmod.query_rows(_store(), query, limit)
        render.console.print(render.rows_table(cols, rows))
        if truncated:
            render.console.print(f"[dim](first {limit} rows; use --limit or --output for more)[/dim]")
        return
    n = sqlmod.export_query(_store(), query, "csv" if format == "table" else format, output)
    if output is not None:
        typer.echo(f"wrote {n if n is not None else '?'} rows to {output}", err=True)


@catalog_app.command("rebuild")
@friendly
def catalog_rebuild() -> None:
    """Recreate the catalog from the manifests (it is derived data)."""
    path = api.catalog_rebuild(_store())
    typer.echo(f"catalog rebuilt: {path}")


@app.command()
@friendly
def gc(yes: bool = typer.Option(False, "--yes", help="Really delete (default is a dry run).")) -> None:
    """Remove old snapshot versions that nothing references (dry run by default)."""
    victims = api.gc(_store(), dry_run=not yes)
    verb = "removed" if yes else "would remove"
    for s in victims:
        typer.echo(f"{verb} {s.ref} ({s.num_rows:,} rows)")
    typer.echo(f"{verb} {len(victims)} snapshot(s)" + ("" if yes else "; pass --yes to delete"))


@app.command()
@friendly
def export(ref: str = typer.Argument(...), to: Optional[Path] = typer.Option(None, "--to", help="Target folder."),
           for_review: Optional[Path] = typer.Option(None, "--for-review", help="Write an editable review file here."),
           overwrite: bool = typer.Option(False, "--overwrite"),
           format: str = typer.Option("snapshot", "--format", help="snapshot | trl | verl (columns those trainers read)."),
           data_source: Optional[str] = typer.Option(None, "--data-source",
                                                     help="verl data_source ({domain} is filled in); default r1-factory/{domain}.")) -> None:
    """Copy a snapshot (Hub layout) to a folder, convert it for TRL/verl (--format), or export it for review."""
    if (to is None) == (for_review is None):
        raise typer.BadParameter("give exactly one of --to DIR or --for-review DIR")
    if for_review is not None:
        from factory.curate.review import export_for_review

        path = export_for_review(_store(), ref, for_review)
        typer.echo(f"wrote {path}: edit it, then run `factory import-review {for_review}`")
        return
    dest = api.export(_store(), ref, to, overwrite=overwrite, format=format, data_source=data_source)
    note = ""
    if format != "snapshot":
        import json

        report = json.loads((dest / "factory_export.json").read_text())
        left = sum(report["left_out"].values())
        note = f" as {format}: {sum(report['rows'].values()):,} rows" + (f", {left:,} without a gold {format} can check left out" if left else "")
    typer.echo(f"exported {_store().get(ref).ref} to {dest}{note}")


@app.command()
@friendly
def doctor() -> None:
    """What this machine grants the code sandbox: the active mode, the mechanisms found, the limits in force."""
    rows = api.doctor()
    render.console.print(render.rows_table(["sandbox", ""], rows, title="factory doctor", max_cell=2000))
    if rows[0][1].startswith("UNAVAILABLE"):  # scripts can check: no code will run here
        raise typer.Exit(1)


@app.command("import-review")
@friendly
def import_review(folder: Path = typer.Argument(..., help="The folder written by export --for-review.")) -> None:
    """Make a new snapshot version from an edited review file; its lineage records the edits."""
    from factory.api import import_review as run

    res = run(_store(), folder)
    review = res.snapshot.manifest.get("review", {})
    typer.echo(f"{'cache hit' if res.cached else 'built'}: {res.snapshot.ref} "
               f"({review.get('edited', 0)} edited, {review.get('dropped', 0)} dropped, parent {review.get('reviewed')})")


@app.command("import")
@friendly
def import_(path: Path = typer.Argument(..., help="A log file, or the folder of them."),
            format: str = typer.Option(..., "--format", help="trl (log_completions Parquet) | verl (rollout JSONL dumps)"),
            prompts: Optional[str] = typer.Option(None, "--prompts", help="The prompt snapshot trained on (gives problem ids)."),
            model: str = typer.Option("", "--model", help="The policy that wrote the rollouts."),
            output: Optional[str] = typer.Option(None, "--output", help="Snapshot name (default FORMAT-rollouts).")) -> None:
    """Import another trainer's logged rollouts (TRL, verl) as a rollouts snapshot."""
    res = api.import_rollouts(_store(), path, format, prompts=prompts, model=model, output=output)
    stats = res.snapshot.manifest.get("stats", {})
    typer.echo(f"{'cache hit' if res.cached else 'built'}: {res.snapshot.ref} ({stats.get('rows', 0):,} rows, "
               f"{stats.get('matched_rows', 0):,} matched to prompts, {stats.get('steps', 0)} steps)")


@app.command()
@friendly
def publish(ref: str = typer.Argument(...), repo: str = typer.Option(..., "--repo", help="ORG/NAME on the Hub."),
            private: bool = typer.Option(False, "--private")) -> None:
    """Upload a snapshot with its dataset card to the Hugging Face Hub (token: HF login or HF_TOKEN)."""
    url = api.publish(_store(), ref, repo, private=private)
    typer.echo(f"published {ref} to {repo}: {url}")




@app.command()
@friendly
def view(
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (default: this machine only)."),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds a SQL query may run before it is interrupted."),
    row_cap: int = typer.Option(100_000, "--row-cap", help="Rows a query may page through or export."),
) -> None:
    """Serve a local, read-only web view of the store: snapshots, lineage, SQL console, rollouts, plots."""
    from factory.view.app import ViewConfig, serve
    from factory.view.engine import EngineConfig

    typer.echo(f"factory view: http://{host}:{port}/  (store {_store().root}; Ctrl+C stops)")
    serve(_store(), ViewConfig(host=host, port=port, engine=EngineConfig(time_limit_s=time_limit, row_cap=row_cap)))
