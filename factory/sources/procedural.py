"""A built-in generator of verifiable math and code problems: exact golds, deterministic by (seed, index), fast.

It lets every pipeline run offline and at scale without a dataset download (R1-Zero RL
needs prompts whose answers a rule can check). Problems are made in fixed blocks of
:data:`BLOCK`; block ``b`` draws everything from ``numpy.random.default_rng([seed, b, ...])``,
so problem ``i`` depends only on ``(seed, i)`` and the config, never on the batch size,
the range requested or the shard — shards can be generated independently and concatenated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import schemas
from factory.sources.base import PROBLEMS, Source, check_batch_size, digest, rebatch
from factory.sources.procedural_code import code_call, code_stdio
from factory.sources.procedural_common import LANGUAGES, Generated
from factory.sources.procedural_math import add_sub, arithmetic, combinatorics, fractions, linear_equation, sequence

PROCEDURAL_VERSION = "1.0.0"
BLOCK = 4096  # problems per random stream; part of the output definition, so changing it bumps the version
_STREAM = 0x5EED  # separates these streams from any other use of the same seed

TASKS: dict[str, tuple[str, Callable[[np.random.Generator, np.ndarray], Generated]]] = {
    "arithmetic": ("math", arithmetic),
    "fraction": ("math", fractions),
    "linear_equation": ("math", linear_equation),
    "combinatorics": ("math", combinatorics),
    "sequence": ("math", sequence),
    "code_stdio": ("code", code_stdio),
    "code_call": ("code", code_call),
    "add_sub": ("math", add_sub),  # last, and off by default: the default mix (and its ids) stay as they were
}
DEFAULT_TASKS = tuple(t for t in TASKS if t != "add_sub")
DOMAINS = ("math", "code")


def _weights(value: Any, label: str, known: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """Normalize ``{"en": 0.7}``, ``(("en", 0.7),)``, ``["en"]`` or ``"en:0.7|zh:0.3"`` to pairs in ``known`` order."""
    if isinstance(value, str):
        value = [item.partition(":")[::2] for item in value.split("|") if item.strip()]
        value = {k.strip(): (float(w) if w.strip() else 1.0) for k, w in value}
    elif not isinstance(value, Mapping):
        value = dict((item, 1.0) if isinstance(item, str) else item for item in value)
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"{label}: unknown names {unknown}; use some of {list(known)}")
    if any(float(w) < 0 for w in value.values()) or not sum(float(w) for w in value.values()) > 0:
        raise ValueError(f"{label}={dict(value)} needs non-negative weights with a positive sum, e.g. {known[0]}=1")
    return tuple((k, float(value[k])) for k in known if k in value)


@dataclass(frozen=True)
class ProceduralConfig:
    """What to generate; weights need not sum to 1.

    Strings are accepted for every field (CLI, ``"procedural:n=1000,languages=en:0.5|zh:0.5"``).
    """

    # -- size and identity
    n: int = field(default=10_000, metadata={"help": "number of problems"})
    seed: int = field(default=0, metadata={"help": "non-negative seed; problem i depends only on (seed, i)"})
    # -- mix
    tasks: tuple[tuple[str, float], ...] = field(
        default=tuple((t, 1.0) for t in DEFAULT_TASKS), metadata={"help": f"relative weights of task kinds: {list(TASKS)}"}
    )
    languages: tuple[tuple[str, float], ...] = field(
        default=(("en", 0.7), ("zh", 0.3)), metadata={"help": f"prompt language mix over {list(LANGUAGES)}"}
    )
    code_share: float = field(default=0.2, metadata={"help": "fraction of code problems (the rest are math)"})

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "n", int(self.n))
        set_(self, "seed", int(self.seed))
        set_(self, "code_share", float(self.code_share))
        set_(self, "tasks", _weights(self.tasks, "tasks", tuple(TASKS)))
        set_(self, "languages", _weights(self.languages, "languages", LANGUAGES))
        if self.n < 0 or self.seed < 0:
            raise ValueError(f"n={self.n}, seed={self.seed}: both must be >= 0")
        if not 0.0 <= self.code_share <= 1.0:
            raise ValueError(f"code_share={self.code_share} must be within [0, 1], e.g. 0.2")
        for domain, share in (("math", 1 - self.code_share), ("code", self.code_share)):
            if share > 0 and not any(w > 0 for t, w in self.tasks if TASKS[t][0] == domain):
                fix = "code_share=0" if domain == "code" else "code_share=1"
                raise ValueError(f"code_share={self.code_share} asks for {domain} problems but "
                                 f"tasks={dict(self.tasks)} has no {domain} kind; add one or set {fix}")

    def task_probabilities(self) -> np.ndarray:
        """Probability of each kind in :data:`TASKS` order: weights normalized within math and code, then mixed."""
        weights = dict(self.tasks)
        p = np.array([weights.get(t, 0.0) for t in TASKS])
        for domain, share in (("math", 1 - self.code_share), ("code", self.code_share)):
            mask = np.array([TASKS[t][0] == domain for t in TASKS])
            total = p[mask].sum()
            p[mask] = p[mask] / total * share if total > 0 else 0.0
        return p / p.sum()

    def language_probabilities(self) -> np.ndarray:
        weights = dict(self.languages)
        p = np.array([weights.get(lang, 0.0) for lang in LANGUAGES])
        return p / p.sum()

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "seed": self.seed, "tasks": dict(self.tasks), "languages": dict(self.languages),
                "code_share": self.code_share}


def generate_block(config: ProceduralConfig, block: int) -> pa.RecordBatch:
    """All :data:`BLOCK` problems of block ``block`` (indices ``block*BLOCK ...``), ignoring ``config.n``."""
    rng = np.random.default_rng([config.seed, block, _STREAM])
    task_ix = rng.choice(len(TASKS), size=BLOCK, p=config.task_probabilities())
    lang_ix = rng.choice(len(LANGUAGES), size=BLOCK, p=config.language_probabilities())
    cols = {name: np.full(BLOCK, None, dtype=object) for name in ("prompt", "answer", "tests", "metadata")}
    difficulty = np.zeros(BLOCK, dtype=np.int32)
    for t, (_, make) in enumerate(TASKS.values()):
        rows = np.flatnonzero(task_ix == t)
        if rows.size:
            out = make(rng, lang_ix[rows])
            for name in cols:
                values = getattr(out, name)
                if values is not None:
                    cols[name][rows] = np.array(values, dtype=object)
            difficulty[rows] = out.difficulty
    start = block * BLOCK
    ids = pc.binary_join_element_wise(
        f"proc-{config.seed}-", pc.cast(pa.array(np.arange(start, start + BLOCK)), pa.string()), ""
    )
    domain_ix = np.array([DOMAINS.index(d) for d, _ in TASKS.values()], dtype=np.int8)[task_ix]
    arrays = {
        "problem_id": ids,
        **{name: pa.array(cols[name], pa.string()) for name in ("prompt", "answer", "tests")},
        "domain": _labels(domain_ix, DOMAINS),
        "language": _labels(lang_ix.astype(np.int8), LANGUAGES),
        "source": pa.repeat(pa.scalar("procedural"), BLOCK),
        "difficulty": pa.array(difficulty),
        "metadata": pa.array(cols["metadata"], pa.string()),
    }
    return schemas.conform(pa.RecordBatch.from_pydict(arrays), PROBLEMS, where=f"procedural block {block}")


def _labels(index: np.ndarray, names: tuple[str, ...]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(index), pa.array(names)).cast(pa.string())


class ProceduralSource(Source):
    """Problems ``start .. stop-1`` of the procedural set described by ``config``.

    Args:
        config: what to generate; default ``ProceduralConfig()``.
        start: first problem index (inclusive).
        stop: last problem index (exclusive); default ``config.n``.
    """

    kind = "procedural"

    def __init__(self, config: ProceduralConfig | None = None, *, start: int = 0, stop: int | None = None):
        self.config = config or ProceduralConfig()
        self.start, self.stop = int(start), self.config.n if stop is None else int(stop)
        if not 0 <= self.start <= self.stop <= self.config.n:
            raise ValueError(f"start={start}, stop={stop} must satisfy 0 <= start <= stop <= n={self.config.n}")

    @classmethod
    def from_options(cls, start: int = 0, stop: int | None = None, **options: Any) -> ProceduralSource:
        """Build from flat options: any :class:`ProceduralConfig` field plus ``start``/``stop``."""
        return cls(ProceduralConfig(**options), start=start, stop=stop)

    def __len__(self) -> int:
        return self.stop - self.start

    def fingerprint(self) -> str:
        return digest("procedural", BLOCK, self.describe())

    def describe(self) -> dict[str, Any]:
        # numpy does not promise identical Generator streams across releases (NEP 19), so its
        # minor version is part of the fingerprint: an upgrade may cost a rebuild, never a stale hit.
        numpy_version = ".".join(np.__version__.split(".")[:2])
        return {"kind": self.kind, "version": PROCEDURAL_VERSION, "config": self.config.to_dict(),
                "start": self.start, "stop": self.stop, "numpy": numpy_version}

    def batches(self, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        return self.range_batches(self.start, self.stop, batch_size)

    def range_batches(self, start: int, stop: int, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Problems ``start .. stop-1`` (absolute indices within ``0 .. n``), in order."""
        check_batch_size(batch_size)
        if not 0 <= start <= stop <= self.config.n:
            raise ValueError(f"start={start}, stop={stop} must satisfy 0 <= start <= stop <= n={self.config.n}")
        return rebatch(self._blocks(start, stop), batch_size)

    def _blocks(self, start: int, stop: int) -> Iterator[pa.RecordBatch]:
        for block in range(start // BLOCK, math.ceil(stop / BLOCK)):
            base = block * BLOCK
            lo, hi = max(start, base) - base, min(stop, base + BLOCK) - base
            yield generate_block(self.config, block).slice(lo, hi - lo)

    def shard(self, rank: int, world_size: int) -> ProceduralSource:
        """The ``rank``-th of ``world_size`` contiguous, near-equal parts; their union in rank order is this source."""
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank={rank}, world_size={world_size}: need world_size >= 1 and 0 <= rank < world_size")
        size = self.stop - self.start
        lo = self.start + size * rank // world_size
        hi = self.start + size * (rank + 1) // world_size
        return ProceduralSource(self.config, start=lo, stop=hi)
