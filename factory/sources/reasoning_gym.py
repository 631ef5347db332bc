"""reasoning-gym (PyPI ``reasoning-gym``, 100+ seeded generators) as a problems source.

``problems --set source=reasoning-gym:leg_counting,basic_arithmetic --set n=1000 --set seed=0``
makes ``n`` problems per task; a task's generator options go in ``options.configs.<task>``. The
package version, tasks, seeds and configs make the fingerprint, so an upstream generator fix is a
new snapshot, never a silent change, and the manifest's ``source`` names the version. Each row
keeps the generator's entry as JSON in ``metadata`` (``{"task", "entry"}``): what its
``score_answer`` needs, so the ``reasoning_gym`` reward can grade its own tasks.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

import pyarrow as pa

import schemas
from factory.sources.base import PROBLEMS, Source, check_batch_size, digest

PACKAGE = "reasoning-gym"


def package_version() -> str:
    """The installed distribution's version (the module's own ``__version__`` lags behind releases)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        raise ValueError(f"source reasoning-gym needs the package: pip install '{PACKAGE}==0.1.25'") from None


def known_tasks() -> list[str]:
    from reasoning_gym.factory import DATASETS

    return sorted(DATASETS)


class ReasoningGymSource(Source):
    """``n`` problems per task from reasoning-gym's seeded generators (task ``t`` uses ``seed + i``)."""

    kind = "reasoning-gym"

    def __init__(self, tasks: str | list[str], n: int = 1000, seed: int = 0,
                 configs: Mapping[str, Mapping[str, Any]] | None = None, domain: str = "logic"):
        self.version = package_version()
        self.tasks = [t.strip() for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t.strip()]
        known = known_tasks()
        unknown = [t for t in self.tasks if t not in known]
        if unknown or not self.tasks:
            raise ValueError(f"unknown reasoning-gym task {', '.join(unknown) or '(none given)'}; "
                             f"known tasks: {', '.join(known)}")
        self.configs = {t: dict((configs or {}).get(t, {})) for t in self.tasks}
        extra = sorted(set(configs or {}) - set(self.tasks))
        if extra:
            raise ValueError(f"reasoning-gym configs for tasks not in the source: {extra}")
        self.n, self.seed, self.domain = int(n), int(seed), domain

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "package": f"{PACKAGE}=={self.version}", "tasks": self.tasks, "n_per_task": self.n,
                "seeds": {t: self.seed + i for i, t in enumerate(self.tasks)}, "configs": self.configs,
                "domain": self.domain}

    def fingerprint(self) -> str:
        return digest(self.describe())

    def batches(self, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        import reasoning_gym

        check_batch_size(batch_size)
        for i, task in enumerate(self.tasks):
            seed = self.seed + i
            try:
                data = reasoning_gym.create_dataset(task, size=self.n, seed=seed, **self.configs[task])
            except (TypeError, ValueError, AssertionError) as e:
                raise ValueError(f"reasoning-gym task {task} config {self.configs[task]}: {e}") from None
            rows = [self._row(task, seed, j, data[j]) for j in range(self.n)]
            for lo in range(0, len(rows), batch_size):
                yield schemas.conform(pa.RecordBatch.from_pylist(rows[lo:lo + batch_size]), PROBLEMS)

    def _row(self, task: str, seed: int, j: int, entry: dict[str, Any]) -> dict[str, Any]:
        return {"problem_id": f"rg-{task}-{seed}-{j}", "prompt": entry["question"], "answer": str(entry["answer"]),
                "domain": self.domain, "language": "en", "source": f"reasoning-gym/{task}",
                "metadata": json.dumps({"task": task, "entry": entry}, default=str, ensure_ascii=False)}
