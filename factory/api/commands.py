"""The library functions behind every CLI command (same names), usable from Python and notebooks."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.curate import review
from factory.errors import FactoryError, InputError
from factory.progress import RowProgress
from factory.sql.catalog import Catalog
from factory.store.lineage import LineageNode, lineage, referenced
from factory.store.row_files import is_row_file, read_row_file, write_row_file
from factory.store.snapshot import Snapshot
from factory.store.store import Store


def ls(store: Store, name: str | None = None) -> list[Snapshot]:
    """All published snapshots (optionally of one name), oldest first."""
    return store.list(name)


@dataclass
class ShowResult:
    snapshot: Snapshot
    card: str
    lineage: LineageNode
    models: list[dict[str, Any]]


def show(store: Store, ref: str) -> ShowResult:
    """Card, schema, stats and lineage of one snapshot, plus models trained on it."""
    snap = store.get(ref)
    card = snap.read_text("README.md") or ""
    from factory.store.models import models_for

    return ShowResult(snap, card, lineage(store, snap), models_for(store, snap.ref))


def catalog_rebuild(store: Store) -> Path:
    """Delete and recreate the DuckDB catalog from the manifests."""
    return Catalog(store).rebuild()


def gc(store: Store, *, dry_run: bool = True) -> list[Snapshot]:
    """Old versions no longer referenced (not latest, not an ancestor of a kept one); removed unless dry run."""
    keep = referenced(store)
    victims = [s for s in store.list() if s.ref not in keep]
    if not dry_run:
        for s in victims:
            store.remove(s)
        for work in store.work_dirs():  # abandoned builds whose lock nobody holds
            with store.lock(f"build-{work.name}", blocking=False) as free:
                if free and not work.name.startswith(".trash"):
                    shutil.rmtree(work, ignore_errors=True)
    return victims


def export(store: Store, ref: str, to: str | Path, *, overwrite: bool = False, format: str = "snapshot",
           data_source: str | None = None) -> Path:
    """Copy a snapshot folder (Hub layout: README.md, manifest.json, data/) to ``to``, or convert it
    for another trainer (``format="trl"|"verl"``, see ``factory.curate.trainer_formats``)."""
    from factory.curate.trainer_formats import FORMATS, write_export

    if format not in ("snapshot", *FORMATS):
        raise FactoryError(f"unknown export format {format!r}; choose from snapshot, {', '.join(FORMATS)}")
    snap = store.get(ref)
    dest = Path(to)
    if dest.exists() and any(dest.iterdir()):
        if not overwrite:
            raise FactoryError(f"export target {dest} is not empty; choose another folder or pass --overwrite")
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if format == "snapshot":
        snap.copy_to(tmp)
    else:
        try:
            write_export(snap, tmp, format, data_source=data_source)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if dest.exists():
        dest.rmdir()
    tmp.rename(dest)
    return dest


def publish(store: Store, ref: str, repo: str, *, private: bool = False, token: str | None = None,
            revision: str | None = None) -> str:
    """Upload a snapshot folder with its card to the Hub as a dataset repo; returns the commit URL."""
    from huggingface_hub import HfApi

    from factory import settings as envconfig

    snap = store.get(ref)
    if repo.count("/") != 1:
        raise FactoryError(f"bad --repo {repo!r}: expected ORG/NAME")
    api = HfApi(token=token or envconfig.hf_token())
    api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
    with _local_folder(snap) as folder:  # a snapshot on an object store is staged locally first
        info = api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="dataset", revision=revision,
                                 commit_message=f"r1-factory: publish {snap.ref}",
                                 commit_description=f"builder {snap.manifest.get('builder')}@"
                                                    f"{snap.manifest.get('builder_version')}")
    return str(getattr(info, "commit_url", info))


@contextlib.contextmanager
def _local_folder(snap: Snapshot):
    if not snap.remote:
        yield snap.path
        return
    with tempfile.TemporaryDirectory(prefix="factory-publish-") as tmp:
        yield snap.copy_to(Path(tmp) / snap.id)


def problems_ref(store: Store, problems: str, options: Any = None) -> str:
    """A problems snapshot ref for ``problems``: a snapshot name/ref, or a .jsonl/.parquet/.csv file
    (imported once into a ``problems`` snapshot so the lineage records the file's fingerprint)."""
    from factory.api.build import BuildOptions, run_build

    if is_row_file(problems):
        if not Path(problems).exists():
            raise FactoryError(f"problems file {problems} does not exist")
        res = run_build(store, "problems", {"source": str(Path(problems).resolve())}, options=options or BuildOptions())
        return res.snapshot.ref
    return store.get(problems).ref


def generate(store: Store, problems: str, config: Any, *, output: str = "rollouts", options: Any = None):
    """Sample ``config.samples_per_prompt`` completions per problem into a rollouts snapshot (resumable)."""
    from factory.api.build import BuildOptions, run_build

    options = options or BuildOptions()
    ref = problems_ref(store, problems, options)
    return run_build(store, "rollouts", config, name=output, parents={"problems": ref}, options=options)


def score(store: Store, input: str, config: Any = None, *, output: str = "scored", options: Any = None):
    """Score INPUT (snapshot or .jsonl/.parquet) into OUTPUT (snapshot name or file).

    Returns the BuildResult for a snapshot output, else the number of rows written.
    """
    from factory.api.build import BuildOptions, run_build
    from factory.rewards.scoring import score_batches
    from pipelines.scored import Config

    options = options or BuildOptions()
    config = config if config is not None else Config()
    if Path(output).suffix in (".jsonl", ".json", ".parquet"):
        with RowProgress("score", total=None, quiet=options.quiet) as bar:
            if is_row_file(input):
                rows = _file_rows(input)
                bar.total(rows)
                if Path(output).suffix == ".parquet" and rows:
                    done = _score_adding_columns(input, output, config, rows, bar)
                    if done is not None:
                        return done
                batches = read_row_file(input, config.batch_rows)
            else:
                snap = store.get(input)
                batches, rows = snap.batches(config.split), snap.num_rows
                bar.total(rows)
            return write_row_file(bar.counted(score_batches(batches, config, rows_hint=rows)), output)
    if is_row_file(input):
        res = run_build(store, "rollouts_import", {"path": str(Path(input).resolve())}, options=options)
        input = res.snapshot.ref
    return run_build(store, "scored", config, name=output, parents={"rollouts": store.get(input).ref}, options=options)


def _score_adding_columns(input: str, output: str, config: Any, rows: int, bar: RowProgress) -> int | None:
    """Parquet to Parquet: only the columns scoring reads are decoded, and the input's columns
    go into the output chunk by chunk, copied, not re-encoded (``parquet_splice``: zstd on the
    completions was the slowest stage of the CLI). None where the file cannot be spliced."""
    import pyarrow.parquet as pq

    from factory.rewards.scoring import INPUT_COLUMNS, score_batches
    from factory.store.parquet_splice import append_columns, splice_problem

    names = pq.read_schema(input).names
    if "completion" not in names or splice_problem(input) is not None:
        return None
    batches = read_row_file(input, config.batch_rows, columns=[c for c in INPUT_COLUMNS if c in names])
    return append_columns(input, output, bar.counted(score_batches(batches, config, rows_hint=rows, carry=False)))


def _file_rows(path: str) -> int | None:
    """Rows of a Parquet file from its footer; None for other files (or a bad one: the reader says why)."""
    from factory.store.fsio import parquet_rows

    try:
        return parquet_rows(path) if Path(path).suffix == ".parquet" and Path(path).is_file() else None
    except Exception:  # noqa: BLE001 - a hint only; read_row_file reports a corrupt file in one line
        return None


def import_review(store: Store, folder: str | Path, options: Any = None):
    """Human post-editing, back in: Build the reviewed version (same snapshot name, parent = the exported snapshot)."""
    from factory.api.build import run_build

    folder = Path(folder)
    try:
        meta = json.loads((folder / review.META_FILE).read_text())
    except FileNotFoundError:
        raise InputError(f"{folder} has no {review.META_FILE}: export it with `factory export NAME --for-review DIR`") from None
    source = store.get(meta["snapshot"])
    return run_build(store, "cold-start-review", {"review_file": str((folder / review.REVIEW_FILE).resolve())},
                     name=source.name, parents={"reviewed": source.ref}, options=options)


def import_rollouts(store: Store, path: str | Path, format: str = "trl", *, prompts: str | None = None,
                    model: str = "", output: str | None = None, options: Any = None):
    """TRL ``log_completions`` Parquet or verl rollout JSONL dumps (a file or their folder) into a
    rollouts snapshot; ``prompts`` (the snapshot trained on) gives the rows their problem ids."""
    from factory.api.build import run_build

    config = {"path": str(Path(path).resolve()), "format": format, "model": model,
              "prompts": store.get(prompts).ref if prompts else ""}
    return run_build(store, "trainer-rollouts", config, name=output or f"{format}-rollouts", options=options)


def doctor(config: Any = None) -> list[tuple[str, str]]:
    """What this machine grants the code sandbox (mode, mechanisms, limits) as (what, value) rows."""
    from factory.sandbox.doctor import sandbox_report

    return sandbox_report(config)
