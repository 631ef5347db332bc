"""The R1 eval benchmarks: where each lives, how its publisher's rows become problems, how it is graded.

Each benchmark is read in its publisher's own layout (a Hub dataset, or a local copy of its
files: JSONL, JSON, Parquet or CSV) and converted by its family's module (``math_sets``,
``gpqa``, ``livecodebench``), so the prompts, golds and tests are right whatever the copy.
Decontamination, the ``problems`` builder (``source: benchmark:<name>``) and the eval builder
all read benchmarks through :func:`load_benchmark`.

LiveCodeBench's ``code_generation_lite`` is a loading-script dataset, which ``datasets`` >= 4
no longer runs, so it is read as its release files (``test.jsonl`` .. ``test6.jsonl``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from factory.evals import gpqa, livecodebench, math_sets
from factory.evals.fields import Where
from factory.evals.raw import hub_rows, read_rows
from factory.sources.base import PROBLEMS, Source, SourceError, digest, hash_files
from factory.sources.files import resolve_files

GRADERS = ("math", "choice", "code")
_LCB_HUB = "hf://datasets/livecodebench/code_generation_lite/"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark.

    Attributes:
        name: registry key; also the ``source`` column and the name in reports.
        hub: Hub id (or the packaged ``json`` builder with ``data_files``).
        split: the split holding the eval problems.
        grader: ``math`` (final answer vs gold), ``choice`` (letter vs gold letter) or ``code`` (tests).
        convert: the family's converter factory; options (LiveCodeBench's release) are its arguments.
        config: the Hub config (``gpqa_diamond``), if any.
        configs: several Hub configs read one after the other (AIME 2025's two parts).
        revision: Hub revision; pin it for reproducible snapshots.
        skips: why the converter leaves rows out (years, date windows), for the error when none is left.
    """

    name: str
    hub: str
    split: str
    grader: str
    convert: Callable[..., Callable[[dict, Where], dict | None]]
    config: str | None = None
    configs: tuple[str, ...] = ()
    revision: str | None = None
    options: tuple[str, ...] = field(default=())
    skips: str = ""  # why the converter leaves rows out, for the error when it leaves out all

    def converter(self, **options: Any) -> Callable[[dict, Where], dict | None]:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise ValueError(f"{self.name}: unknown options {unknown}; it takes {list(self.options) or 'none'}")
        return self.convert(**options)


def _fixed(fn):
    return lambda: fn


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("aime_2024", "HuggingFaceH4/aime_2024", "train", "math", _fixed(math_sets.aime_2024),
                  skips=" as problems of other years"),
        Benchmark("aime_2025", "opencompass/AIME2025", "test", "math", _fixed(math_sets.aime_2025),
                  configs=("AIME2025-I", "AIME2025-II"), skips=" as problems of other years"),
        Benchmark("math_500", "HuggingFaceH4/MATH-500", "test", "math", _fixed(math_sets.math_500)),
        Benchmark("gpqa_diamond", "Idavidrein/gpqa", "train", "choice", _fixed(gpqa.convert), config="gpqa_diamond"),
        Benchmark("livecodebench", "json", "train", "code", livecodebench.LiveCodeBench,
                  options=("release", "start_date", "end_date"), skips=" as outside the release's files or date window"),
    )
}
EVALSETS = BENCHMARKS  # the name decontamination and older configs use


def get_benchmark(name: str) -> Benchmark:
    spec = BENCHMARKS.get(name)
    if spec is None:
        raise ValueError(f"benchmark {name!r} is unknown; use one of {sorted(BENCHMARKS)}")
    return spec


class BenchmarkSource(Source):
    """A benchmark as a problems source: its publisher's rows through its converter.

    Args:
        name: a key of :data:`BENCHMARKS`.
        path: a local copy (file, folder, glob) in the publisher's layout; default: the Hub.
        question_only: the prompt is the bare question (for decontamination: no shared instructions).
        **options: converter options (``release``, ``start_date``, ``end_date`` for LiveCodeBench).
    """

    kind = "benchmark"

    def __init__(self, name: str, path: str | os.PathLike | None = None, *, question_only: bool = False,
                 **options: Any) -> None:
        self.spec = get_benchmark(name)
        self.options = {k: v for k, v in options.items() if v is not None}
        self.convert = self.spec.converter(**self.options)
        self.path = None if path is None else str(Path(path).resolve())
        self.question_only = question_only
        if self.path is not None:
            resolve_files(self.path)  # a missing or empty file fails now, naming the path

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "benchmark": self.spec.name, "path": self.path or self.spec.hub,
                "grader": self.spec.grader, "options": self.options, "question_only": self.question_only}

    def fingerprint(self) -> str:
        if self.path is not None:
            content = hash_files((f.name, f) for f, _ in resolve_files(self.path))
        else:
            content = digest(self.spec.hub, self.spec.config, self.spec.configs, self.spec.revision)
        config = {k: v for k, v in self.describe().items() if k != "path"}  # ids do not depend on where a copy lives
        return digest("benchmark", content, config, _CONVERTER_VERSION)

    def rows(self) -> Iterator[tuple[str, int, dict]]:
        if self.path is not None:
            return read_rows(self.path)
        spec = self.spec
        if spec.name == "livecodebench":
            files = [_LCB_HUB + f for f in self.convert.files]
            return hub_rows("json", None, spec.split, data_files=files, revision=spec.revision)
        configs = spec.configs or (spec.config,)
        return (r for c in configs for r in hub_rows(spec.hub, c, spec.split, revision=spec.revision))

    def problems(self) -> Iterator[dict]:
        """Converted rows (problems columns), in file order; rows a converter skips are left out."""
        seen: dict[str, str] = {}
        self.skipped = 0
        for file, n, raw in self.rows():
            where = Where(file, n)
            row = self.convert(raw, where)
            if row is None:
                self.skipped += 1
                continue
            if row["problem_id"] in seen:
                raise where.error(f"duplicate id {row['problem_id']!r} (first at {seen[row['problem_id']]})")
            seen[row["problem_id"]] = f"{file} row {n}"
            if self.question_only:
                row["prompt"] = _question(raw, row)
            yield row

    def batches(self, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        chunk: list[dict] = []
        total = 0
        for row in self.problems():
            chunk.append(row)
            total += 1
            if len(chunk) >= min(batch_size, 256):
                yield _batch(chunk)
                chunk = []
        if chunk:
            yield _batch(chunk)
        if total == 0:
            why = self.spec.skips
            raise SourceError(f"{self.path or self.spec.hub}: no {self.spec.name} problems "
                              f"(options {self.options or 'none'}; {self.skipped} rows skipped{why})")


_CONVERTER_VERSION = "2.1.0"  # bump when a converter's output can change for the same input
_QUESTION_COLUMNS = ("question_content", "Question", "problem", "Problem", "question")


def _question(raw: dict, row: dict) -> str:
    return next((str(raw[c]) for c in _QUESTION_COLUMNS if raw.get(c)), row["prompt"])


def _batch(rows: list[dict]) -> pa.RecordBatch:
    cols = {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in PROBLEMS.schema}
    return pa.RecordBatch.from_pydict(cols, schema=PROBLEMS.schema)


def load_benchmark(name: str, path: str | os.PathLike | None = None, **options: Any) -> BenchmarkSource:
    """Benchmark ``name`` as a problems source (a local copy at ``path``, else the Hub).

    Raises:
        ValueError: an unknown benchmark or option.
        SourceError: a missing file (at once) or a bad row (when read), naming file, row and column.
    """
    return BenchmarkSource(name, path, **options)


def load_evalset(name: str, path_override: str | os.PathLike | None = None) -> BenchmarkSource:
    """The benchmark's bare questions, for decontamination (instructions and options left out)."""
    return BenchmarkSource(name, path_override, question_only=True)


def problems_config(name: str, path: str | os.PathLike | None = None, **options: Any) -> dict[str, Any]:
    """The ``problems`` builder config that imports benchmark ``name``."""
    get_benchmark(name)
    opts = {k: v for k, v in options.items() if v is not None}
    if path is not None:
        opts["path"] = str(Path(path).resolve())
    return {"source": f"benchmark:{name}", "options": opts}
