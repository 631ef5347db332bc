"""Runs builders: resolves parents, computes the content id, serves cache hits, writes and commits.

A builder (``pipelines/<name>.py``) only declares: ``NAME``, ``VERSION``, ``RELEASE_NOTES``,
``KIND``, a frozen ``Config``, ``PARENTS`` and ``build(ctx, config)``; optionally
``sources(config) -> {name: Source}`` whose fingerprints enter the id. Everything that touches
paths, workers or the store happens here.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable

import pyarrow as pa

from factory.config_io import from_dict, merge, to_dict
from factory.errors import BuildError, FactoryError, SnapshotNotFound
from factory.store.ids import snapshot_id
from factory.store.snapshot import Snapshot
from factory.store.store import SnapshotBuild, Store


@dataclass
class BuildOptions:
    """How to run (never what to build: that is the config, which enters the id)."""

    force: bool = False
    quiet: bool = True
    build_missing_parents: bool = True
    backend: dict[str, Any] = field(default_factory=dict)  # runtime options of generation backends (url, key, ...)
    judge: dict[str, Any] = field(default_factory=dict)  # runtime options of the LLM judge's backend
    executor: str = "local"
    executor_options: dict[str, Any] = field(default_factory=dict)  # ray: address, num_workers, ...
    # generation stages fail (publishing nothing) when more of their rows than this are model-call errors
    max_error_share: float = 0.02
    workers: int | None = None  # processes for CPU-bound shard tasks on the local executor (None: all cores)
    log: Callable[[str], None] = lambda msg: None


@dataclass
class BuildResult:
    snapshot: Snapshot
    cached: bool
    stages: list["BuildResult"] = field(default_factory=list)


def load_builder(name: str) -> ModuleType:
    """Import ``pipelines/<name>.py`` (``-`` becomes ``_``); unknown names list the known builders."""
    module = name.replace("-", "_")
    try:
        mod = importlib.import_module(f"pipelines.{module}")
    except ModuleNotFoundError as e:
        if e.name != f"pipelines.{module}":
            raise
        raise SnapshotNotFound(f"unknown builder {name!r}; known builders: {', '.join(list_builders())}") from None
    for attr in ("NAME", "VERSION", "Config", "build"):
        if not hasattr(mod, attr):
            raise FactoryError(f"pipelines/{module}.py is not a builder: it lacks {attr}")
    return mod


def list_builders() -> list[str]:
    import pipelines

    names = []
    for info in pkgutil.iter_modules(pipelines.__path__):
        if not info.name.startswith("_") and not info.name.endswith("_utils"):
            mod = importlib.import_module(f"pipelines.{info.name}")
            if hasattr(mod, "NAME") and hasattr(mod, "build"):
                names.append(mod.NAME)
    return sorted(names)


class BuildContext:
    """What ``build(ctx, config)`` may use: parents, stages, writers and manifest notes."""

    def __init__(self, store: Store, builder: ModuleType, config: Any, parents: dict[str, Snapshot],
                 sb: SnapshotBuild, options: BuildOptions):
        self.store, self.builder, self.config, self.options = store, builder, config, options
        self.parents = dict(parents)
        self._sb = sb
        self.name = sb.name
        self.manifest: dict[str, Any] = {}
        self.stages: list[BuildResult] = []

    @property
    def quiet(self) -> bool:
        return self.options.quiet

    def parent(self, name: str, *, allow_empty: bool = False) -> Snapshot:
        """A declared parent snapshot. One without rows (a filter that kept nothing) stops the build with
        a line naming it and its top reject reason, unless the builder can do without rows."""
        try:
            snap = self.parents[name]
        except KeyError:
            raise FactoryError(f"builder {self.builder.NAME} asked for parent {name!r} it did not declare in PARENTS") from None
        if snap.num_rows == 0 and not allow_empty:
            rejects = snap.manifest.get("rejects") or {}
            why = (f": all {sum(rejects.values()):,} rows were rejected, most for {max(rejects, key=rejects.get)!r}"
                   if rejects else "")
            raise BuildError(f"{self.builder.NAME} needs rows from its parent {snap.ref}, which has none{why}; "
                             f"see `factory show {snap.ref}`")
        return snap

    def stage(self, builder: str | ModuleType, config: Any = None, *, name: str | None = None,
              parents: dict[str, str] | None = None) -> Snapshot:
        """Build (or reuse) an intermediate snapshot — generation, judging — and record it as a parent."""
        result = run_build(self.store, builder, config, name=name, parents=parents, options=self.options)
        self.stages.append(result)
        self.parents[result.snapshot.name] = result.snapshot
        return result.snapshot

    def write(self, split: str, batches: Iterable[pa.RecordBatch], total: int | None = None) -> int:
        return self._sb.write(split, batches, total=total)

    def write_rejects(self, batches: Iterable[pa.RecordBatch]) -> int:
        return self._sb.write_rejects(batches)

    def link_split(self, split: str, source: Snapshot, source_split: str | None = None) -> int:
        """Reuse a parent's files as ``split`` (hard links): for snapshots that add metadata, not rows."""
        return self._sb.link_split(split, source, source_split)

    def run_shards(self, split: str, num_shards: int, task: Any, on_done: Callable[[int, int], None] | None = None,
                   *, cpu_bound: bool = False) -> int:
        """Run a shard task on the configured executor (``--executor local|ray``).

        ``cpu_bound`` tasks (scoring) use a process per core when the executor is ``local``;
        generation stays in one process, where its backend (a GPU engine, a connection pool) lives.
        """
        executor, opts = self.options.executor, dict(self.options.executor_options)
        if executor == "local" and cpu_bound and (self.options.workers or 0) != 1:
            executor, opts = "processes", {"num_workers": self.options.workers}
        return self._sb.run_shards(split, num_shards, task, executor=executor, on_done=on_done, **opts)

    @property
    def work_dir(self) -> Path:
        """A local scratch folder of this build (on a local store finished parts live in its ``data/``;
        read them through ``part_files``, which also works on an object store)."""
        return self._sb.work

    def done_shards(self, split: str) -> dict[int, int]:
        return self._sb._split(split).done_parts()

    def part_files(self, split: str) -> list:
        """The finished part files of ``split`` (paths or URLs; open them with ``fsio.open_input``)."""
        return self._sb.part_files(split)

    def shard_files(self, split: str) -> dict[int, Any]:
        """Finished part number -> its file (path or URL), for stages that repair finished shards."""
        from factory.store.writer import PART

        return {int(m.group("part")): f for f in self._sb.part_files(split)
                if (m := PART.match(str(f).replace("\\", "/").rsplit("/", 1)[-1]))}

    def rewrite_shard(self, split: str, shard: int, batches: Iterable[pa.RecordBatch]) -> int:
        """Replace finished part ``shard`` of ``split`` whole (written aside, then renamed over it)."""
        from factory.store.writer import write_one_shard

        return write_one_shard(self._sb.parts, split, self._sb.kind, shard, batches)

    def note(self, **fields: Any) -> None:
        """Add manifest fields: ``stats``, ``queries``, ``filters``, ``reports``, ``synthetic``, ``description``."""
        for k, v in fields.items():
            if isinstance(v, dict) and isinstance(self.manifest.get(k), dict):
                self.manifest[k].update(v)
            else:
                self.manifest[k] = v


def resolve_config(builder: ModuleType, config: Any) -> Any:
    """The builder's Config from None (defaults), a dict of overrides (deep-merged onto the
    defaults, so ``generate.seed=1`` keeps the other generate defaults), or a dataclass."""
    if config is None:
        return builder.Config()
    if isinstance(config, builder.Config):
        return config
    if dataclasses.is_dataclass(config):
        config = to_dict(config)
    if not isinstance(config, dict):
        raise TypeError(f"{builder.NAME} expects a {builder.Config.__name__} or a dict, got {type(config).__name__}")
    return from_dict(builder.Config, merge(_defaults(builder.Config), config), where=f"{builder.NAME} config")


def _defaults(cls: type) -> dict[str, Any]:
    """Field defaults as plain data, without running ``__post_init__`` checks on them."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            value = f.default_factory()  # type: ignore[misc]
        else:
            continue
        out[f.name] = to_dict(value) if dataclasses.is_dataclass(value) else value
    return out


def _resolve_parents(store: Store, builder: ModuleType, overrides: dict[str, str] | None,
                     options: BuildOptions) -> dict[str, Snapshot]:
    out = {}
    for pname in getattr(builder, "PARENTS", ()):
        ref = (overrides or {}).get(pname, pname)
        try:
            out[pname] = store.get(ref)
        except SnapshotNotFound:
            if "@" in ref or not options.build_missing_parents:
                raise
            options.log(f"parent {pname!r} is missing: building it with its default config")
            out[pname] = run_build(store, pname, None, options=options).snapshot
    return out


def _refuse_secrets(config: Any, builder: str, where: str = "") -> None:
    """A config enters the id and the published manifest: a secret in it would be published."""
    from factory import settings

    if isinstance(config, dict):
        for k, v in config.items():
            if settings.is_secret_key(str(k)) and v not in (None, ""):
                raise FactoryError(f"{builder} config key {where}{k} holds a secret, and configs are published: "
                                   f"use the environment (OPENAI_API_KEY, HF_TOKEN) or a *_file runtime option")
            _refuse_secrets(v, builder, f"{where}{k}.")


def build_id(builder: ModuleType, config: Any, parents: dict[str, Snapshot]) -> tuple[str, dict[str, str]]:
    sources = {k: s.fingerprint() for k, s in getattr(builder, "sources", lambda c: {})(config).items()}
    pids = {k: s.ref for k, s in parents.items()}
    return snapshot_id(builder.NAME, builder.VERSION, to_dict(config), pids, sources), sources


def _unsandboxed_code(config: Any) -> bool:
    """Whether any (nested) config opted in to running model-written code without the sandbox."""
    if isinstance(config, dict):
        return config.get("unsafe_unsandboxed_code") is True or any(map(_unsandboxed_code, config.values()))
    return False


def run_build(store: Store, builder: str | ModuleType, config: Any = None, *, name: str | None = None,
              parents: dict[str, str] | None = None, options: BuildOptions | None = None) -> BuildResult:
    """Build one snapshot (or return the cached one): the library function behind ``factory build``."""
    options = options or BuildOptions()
    mod = load_builder(builder) if isinstance(builder, str) else builder
    cfg = resolve_config(mod, config)
    _refuse_secrets(to_dict(cfg), mod.NAME)
    resolved = _resolve_parents(store, mod, parents, options)
    id_, sources = build_id(mod, cfg, resolved)
    out_name = name or mod.NAME
    existing = store.find(out_name, id_)
    if existing is not None and not options.force:
        options.log(f"{existing.ref}: cache hit (same builder version, config and parents)")
        return BuildResult(existing, cached=True)
    if existing is not None:
        store.remove(existing)
        shutil.rmtree(store.local_dir / ".work" / f"{out_name}@{id_}", ignore_errors=True)
    with store.begin(out_name, id_, kind=getattr(mod, "KIND", None), quiet=options.quiet) as sb:
        if sb.existing is not None:  # another process published it while we waited for the lock
            return BuildResult(sb.existing, cached=True)
        if sb.resumed:
            options.log(f"{out_name}@{id_}: resuming an interrupted build")
        ctx = BuildContext(store, mod, cfg, resolved, sb, options)
        mod.build(ctx, cfg)
        extra = dict(ctx.manifest)
        # made from synthetic rows (a scripted teacher's, a scripted judge's) is synthetic too
        extra["synthetic"] = bool(extra.get("synthetic")) or any(p.manifest.get("synthetic") for p in ctx.parents.values())
        extra.setdefault("release_note", getattr(mod, "RELEASE_NOTES", {}).get(mod.VERSION, ""))
        extra.setdefault("parent_rows", {k: s.num_rows for k, s in resolved.items()})
        if _unsandboxed_code(to_dict(cfg)):  # the opt-in is recorded where every reader sees it
            extra["unsandboxed_code"] = True
        snap = sb.commit(builder=mod.NAME, builder_version=mod.VERSION, config=to_dict(cfg),
                         parents={k: s.ref for k, s in ctx.parents.items()}, sources=sources, **extra)
    options.log(f"{snap.ref}: built ({snap.num_rows:,} rows)")
    return BuildResult(snap, cached=False, stages=ctx.stages)

