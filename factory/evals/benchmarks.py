"""The R1 eval benchmarks as problem sources, so decontamination and eval builders read them through one mapping.

Hub ids, splits and column names are those the benchmarks publish (the same ones open-r1's
``scripts/decontaminate.py`` reads). A local copy in the benchmark's own column names
(``path_override``) goes through the very same mapping; tests use small fixtures that way.

LiveCodeBench's ``code_generation_lite`` is a loading-script dataset, which ``datasets`` >= 4
no longer runs, so it is read as its release files (``test.jsonl`` .. ``test6.jsonl`` =
``release_v6``) through the packaged ``json`` builder. Its ``tests`` column holds LCB's own
public test JSON (a list of ``{input, output, testtype}``), not the project's test format,
and its ``difficulty`` label (``easy`` / ``medium`` / ``hard``) lands in ``metadata`` because
the problems ``difficulty`` column is an integer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.sources.base import Source

_LCB_FILES = tuple(
    f"hf://datasets/livecodebench/code_generation_lite/{name}.jsonl"
    for name in ("test", "test2", "test3", "test4", "test5", "test6")
)


@dataclass(frozen=True)
class EvalSet:
    """Where one benchmark lives and how its columns map onto the problems schema.

    Attributes:
        name: registry key, also the ``source`` column and the benchmark name in reports.
        path: Hub id (or packaged builder such as ``json`` with ``data_files``).
        split: the split holding the eval problems.
        mapping: ``{benchmark column: problems column}``.
        config: the dataset config (``gpqa_diamond``), if any.
        data_files: files for a packaged builder.
        defaults: constant problems columns (domain, language).
        revision: Hub revision; pin it for reproducible snapshots.
    """

    name: str
    path: str
    split: str
    mapping: dict[str, str]
    config: str | None = None
    data_files: tuple[str, ...] | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    revision: str | None = None


EVALSETS: dict[str, EvalSet] = {
    e.name: e
    for e in (
        EvalSet("aime_2024", "HuggingFaceH4/aime_2024", "train",
                {"problem": "prompt", "answer": "answer", "id": "problem_id"},
                defaults={"domain": "math", "language": "en"}),
        EvalSet("math_500", "HuggingFaceH4/MATH-500", "test",
                {"problem": "prompt", "answer": "answer", "unique_id": "problem_id", "level": "difficulty"},
                defaults={"domain": "math", "language": "en"}),
        EvalSet("gpqa_diamond", "Idavidrein/gpqa", "train",
                {"Question": "prompt", "Correct Answer": "answer", "Record ID": "problem_id"},
                config="gpqa_diamond", defaults={"domain": "science", "language": "en"}),
        EvalSet("livecodebench", "json", "train",
                {"question_content": "prompt", "question_id": "problem_id", "public_test_cases": "tests",
                 "difficulty": "metadata"},
                data_files=_LCB_FILES, defaults={"domain": "code", "language": "en"}),
    )
}


def load_evalset(name: str, path_override: str | os.PathLike | None = None) -> Source:
    """The benchmark ``name`` as a problems source.

    Args:
        name: a key of :data:`EVALSETS` (``aime_2024``, ``math_500``, ``gpqa_diamond``, ``livecodebench``).
        path_override: a local file or folder (JSONL, JSON, Parquet, CSV) in the benchmark's own
            column names, read instead of the Hub (offline runs, tests, pinned copies).

    Returns:
        A :class:`~factory.sources.FileSource` for an override, else an :class:`~factory.sources.HFSource`.

    Raises:
        ValueError: ``name`` is not a known benchmark.
    """
    from factory.sources.files import FileSource
    from factory.sources.hf import HFSource

    spec = EVALSETS.get(name)
    if spec is None:
        raise ValueError(f"eval set {name!r} is unknown; use one of {sorted(EVALSETS)}")
    if path_override is not None:
        return FileSource(str(path_override), mapping=spec.mapping, defaults=spec.defaults, name=spec.name)
    return HFSource(spec.path, spec.config, split=spec.split, mapping=spec.mapping, defaults=spec.defaults,
                    data_files=list(spec.data_files) if spec.data_files else None, revision=spec.revision,
                    source_name=spec.name)


def problems_config(name: str, path_override: str | os.PathLike | None = None) -> dict[str, Any]:
    """The ``problems`` builder config that imports benchmark ``name`` (for the eval builder's stages)."""
    spec = EVALSETS.get(name)
    if spec is None:
        raise ValueError(f"eval set {name!r} is unknown; use one of {sorted(EVALSETS)} or procedural-heldout")
    if path_override is not None:
        return {"source": str(Path(path_override).resolve()), "mapping": dict(spec.mapping),
                "defaults": {**spec.defaults, "source": spec.name}}
    options: dict[str, Any] = {"split": spec.split, "source_name": spec.name}
    if spec.config:
        options["name"] = spec.config
    if spec.data_files:
        options["data_files"] = list(spec.data_files)
    if spec.revision:
        options["revision"] = spec.revision
    return {"source": f"hf:{spec.path}", "mapping": dict(spec.mapping), "defaults": dict(spec.defaults), "options": options}
