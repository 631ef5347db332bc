"""Decontamination: drop training prompts that share word n-grams with eval benchmarks, and say which and why.

Texts are normalized and tokenized as in :mod:`factory.curate.ngrams` (lowercase, NFKC, soft
punctuation dropped, math symbols kept as tokens, each CJK character a token, so Chinese
gets character n-grams). Two passes by default:

1. ``n=13`` (GPT-3's contamination n-gram), mode ``any`` (one shared 13-gram removes the
   text) or ``fraction`` (the text holds at least ``threshold`` of some eval item's
   distinct 13-grams — tolerant of a single quoted phrase);
2. ``also_any_match_n=8`` any-match, what open-r1's ``scripts/decontaminate.py`` (after s1)
   runs against AIME, MATH-500, GPQA and LiveCodeBench; it also catches shared runs of 8 to
   12 tokens (a lightly edited copy). Its reasons say ``8gram`` so the card shows what each
   pass removed.

Short texts: an eval text with fewer than ``n`` tokens is one n-gram made of all its tokens,
so a training text *containing the whole of it* is contaminated (open-r1 gives such texts no
n-gram at all and never flags them). A training text shorter than ``n`` tokens is caught only
that way. A text matching several benchmarks is charged to the first in registry order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from factory.curate.ngrams import Tokens, chunks, id_values, ngrams, reject_table, text_column, tokenize
from factory.sources.base import digest

MODES = ("any", "fraction")
_BATCH = 16_384  # texts per scan step: bounds the token and n-gram arrays (~100 MiB for 100-word texts)


@dataclass(frozen=True)
class DecontamConfig:
    """How texts are matched against eval sets; the defaults are the R1-era common practice."""

    n: int = field(default=13, metadata={"help": "tokens per n-gram of the main pass"})
    mode: str = field(default="any", metadata={"help": "any: one shared n-gram removes; fraction: see threshold"})
    threshold: float = field(default=0.5, metadata={"help": "fraction mode: share of an eval item's n-grams found"})
    also_any_match_n: int | None = field(default=8, metadata={"help": "second any-match pass (open-r1: 8); None: off"})

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r} is unknown; use one of {MODES}")
        if not 1 <= self.n <= 64:
            raise ValueError(f"n={self.n} is out of range; use 1..64, e.g. 13")
        if self.also_any_match_n is not None and not 1 <= self.also_any_match_n <= 64:
            raise ValueError(f"also_any_match_n={self.also_any_match_n} is out of range; use 1..64 (e.g. 8) or None")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold={self.threshold} must be in (0, 1], e.g. 0.5")

    def passes(self) -> list[tuple[int, str]]:
        """``(n, mode)`` of each pass, in order."""
        out = [(self.n, self.mode)]
        if self.also_any_match_n is not None and (self.also_any_match_n, "any") != out[0]:
            out.append((self.also_any_match_n, "any"))
        return out


@dataclass(frozen=True)
class _Index:
    """Distinct ``(gram hash, eval item)`` pairs of one n, sorted by hash, plus a bitmap prefilter of the hashes."""

    n: int
    hashes: np.ndarray
    items: np.ndarray
    item_grams: np.ndarray  # distinct grams per eval item
    short_sizes: tuple[int, ...]  # token counts of eval items shorter than n
    bitmap: np.ndarray  # bool[2**22]: bitmap[h & mask] is False for most hashes not in the index


_MASK = np.uint64((1 << 22) - 1)


def _build_index(tokens: Tokens, n: int) -> _Index:
    grams = ngrams(tokens, n, whole_if_shorter=True)
    keep = grams.size > 0  # an empty eval text matches nothing
    h, item = grams.hashes[keep], grams.doc[keep]
    order = np.lexsort((item, h))
    h, item = h[order], item[order]
    first = np.ones(len(h), bool)
    first[1:] = (h[1:] != h[:-1]) | (item[1:] != item[:-1])
    lengths = tokens.lengths
    short = tuple(sorted(set(lengths[(lengths > 0) & (lengths < n)].tolist())))
    bitmap = np.zeros(int(_MASK) + 1, bool)
    bitmap[(h & _MASK).astype(np.int64)] = True
    return _Index(n, h[first], item[first], np.bincount(item[first], minlength=len(lengths)), short, bitmap)


@dataclass(frozen=True)
class _Hits:
    """One row per (training gram, eval item) match."""

    doc: np.ndarray
    item: np.ndarray
    start: np.ndarray
    size: np.ndarray
    hash: np.ndarray

    def take(self, rows: np.ndarray) -> "_Hits":
        return _Hits(self.doc[rows], self.item[rows], self.start[rows], self.size[rows], self.hash[rows])


def _lookup(tokens: Tokens, index: _Index) -> _Hits:
    """Every training gram (size n, and each short eval size) found in the index, once per eval item holding it."""
    found = []
    for k in (index.n, *index.short_sizes):
        g = ngrams(tokens, k, whole_if_shorter=False)
        cand = np.flatnonzero(index.bitmap[(g.hashes & _MASK).astype(np.int64)])
        h = g.hashes[cand]
        left = np.searchsorted(index.hashes, h, side="left")
        hit = left < len(index.hashes)
        hit[hit] = index.hashes[left[hit]] == h[hit]
        cand, h, left = cand[hit], h[hit], left[hit]
        counts = np.searchsorted(index.hashes, h, side="right") - left
        rep = np.repeat(np.arange(len(cand)), counts)
        pair = left[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts))
        rows = cand[rep]
        found.append(_Hits(g.doc[rows], index.items[pair], g.start[rows], g.size[rows], h[rep]))
    return _Hits(*(np.concatenate([getattr(f, a) for f in found]) for a in ("doc", "item", "start", "size", "hash")))


def _first_per_group(*keys: np.ndarray) -> np.ndarray:
    """Row indices of the first row of each group after sorting by ``keys``; the last key is the group."""
    order = np.lexsort(keys)
    group = keys[-1][order]
    lead = np.ones(len(order), bool)
    lead[1:] = group[1:] != group[:-1]
    return order[lead]


def _coverage(key: np.ndarray, hashes: np.ndarray, item_grams: np.ndarray) -> np.ndarray:
    """Per hit row: distinct grams its ``key`` (doc, eval item) matched, over the eval item's distinct grams."""
    order = np.lexsort((hashes, key))
    k, h = key[order], hashes[order]
    distinct = np.ones(len(k), bool)
    distinct[1:] = (k[1:] != k[:-1]) | (h[1:] != h[:-1])
    keys, found = np.unique(k[distinct], return_counts=True)
    return found[np.searchsorted(keys, key)] / np.maximum(item_grams, 1)


class Decontaminator:
    """N-gram index of eval benchmarks; :meth:`decontaminate` splits a table into kept rows and rejects.

    Args:
        eval_texts: ``{benchmark: [eval problem texts]}``, in the order matches are charged.
        config: n-gram size, mode and the second any-match pass.
        eval_ids: ``{benchmark: [ids]}`` aligned with ``eval_texts``, named in rejects
            (default ``<benchmark>:<index>``).

    >>> d = Decontaminator({"toy": ["the quick brown fox jumps over the lazy dog near the river bank today"]},
    ...                    DecontamConfig(n=8, also_any_match_n=None))
    >>> import pyarrow as pa
    >>> prompts = ["Recall: the quick brown fox jumps over the lazy dog!", "hi"]
    >>> t = pa.table({"problem_id": ["a", "b"], "prompt": prompts})
    >>> kept, rejects, report = d.decontaminate(t)
    >>> rejects.column("reason").to_pylist(), kept.column("problem_id").to_pylist()
    (['contaminated:toy:8gram'], ['b'])
    """

    def __init__(self, eval_texts: Mapping[str, Sequence[str]], config: DecontamConfig | None = None,
                 eval_ids: Mapping[str, Sequence[str]] | None = None):
        self.config = config or DecontamConfig()
        if not eval_texts:
            raise ValueError("eval_texts is empty; pass {benchmark: [texts]}, e.g. from Decontaminator.from_evalsets()")
        self.benchmarks = list(eval_texts)
        texts, bench, ids = [], [], []
        for b, name in enumerate(self.benchmarks):
            items = list(eval_texts[name])
            names = list((eval_ids or {}).get(name) or [f"{name}:{i}" for i in range(len(items))])
            if len(names) != len(items):
                raise ValueError(f"eval_ids[{name!r}] has {len(names)} ids for {len(items)} texts; align them")
            texts += items
            bench += [b] * len(items)
            ids += [str(x) for x in names]
        self._fingerprint = digest("decontam", {k: list(v) for k, v in eval_texts.items()}, asdict(self.config))
        self.item_bench = np.array(bench, np.int64)
        self.item_ids = ids
        self.counts = {name: int((self.item_bench == b).sum()) for b, name in enumerate(self.benchmarks)}
        tokens = tokenize(pa.array(texts, pa.string()))
        self._indexes = {n: _build_index(tokens, n) for n, _ in self.config.passes()}

    @classmethod
    def from_evalsets(cls, names: Sequence[str] | None = None, config: DecontamConfig | None = None,
                      paths: Mapping[str, str] | None = None) -> "Decontaminator":
        """Index the registered benchmarks (:data:`factory.evals.benchmarks.EVALSETS`), reading local copies from ``paths``."""
        from factory.evals.benchmarks import EVALSETS, load_evalset

        texts, ids = {}, {}
        for name in names or list(EVALSETS):
            table = load_evalset(name, (paths or {}).get(name)).to_table()
            texts[name] = table.column("prompt").to_pylist()
            ids[name] = table.column("problem_id").to_pylist()
        return cls(texts, config, ids)

    def fingerprint(self) -> str:
        """Hash of the eval texts and the config: enters the id of snapshots this decontaminates."""
        return self._fingerprint

    def describe(self) -> dict[str, Any]:
        return {**asdict(self.config), "benchmarks": dict(self.counts), "fingerprint": self._fingerprint}

    def _pick(self, hits: _Hits, mode: str, index: _Index) -> _Hits:
        """One match per contaminated doc: lowest benchmark, then (any) earliest gram or (fraction) best coverage."""
        if mode == "any":
            return hits.take(_first_per_group(hits.item, hits.start, self.item_bench[hits.item], hits.doc))
        key = hits.doc * len(self.item_bench) + hits.item
        coverage = _coverage(key, hits.hash, index.item_grams[hits.item])
        first = _first_per_group(hits.start, key)  # earliest matched gram of each (doc, eval item)
        first = first[coverage[first] >= self.config.threshold]
        sub, cov = hits.take(first), coverage[first]
        return sub.take(_first_per_group(sub.item, -cov, self.item_bench[sub.item], sub.doc))

    def scan(self, texts: pa.Array | Sequence[str]) -> list[dict[str, Any] | None]:
        """Per text: ``None`` (clean) or ``{"benchmark", "n", "eval_id", "ngram"}`` of the match that removes it."""
        texts = texts if isinstance(texts, pa.Array) else pa.array(list(texts), pa.string())
        out: list[dict[str, Any] | None] = []
        for lo, hi in chunks(len(texts), _BATCH):
            out += self._scan_chunk(texts.slice(lo, hi - lo))
        return out

    def _scan_chunk(self, texts: pa.Array) -> list[dict[str, Any] | None]:
        tokens = tokenize(texts)
        result: list[dict[str, Any] | None] = [None] * len(texts)
        clean = np.ones(len(texts), bool)
        for n, mode in self.config.passes():
            hits = _lookup(tokens, self._indexes[n])
            picked = self._pick(hits.take(np.flatnonzero(clean[hits.doc])), mode, self._indexes[n])
            clean[picked.doc] = False
            columns = (picked.doc, picked.item, picked.start, picked.size)
            for d, item, start, size in zip(*(x.tolist() for x in columns)):
                result[d] = {"benchmark": self.benchmarks[self.item_bench[item]], "n": n,
                             "eval_id": self.item_ids[item], "ngram": tokens.text(start, size)}
        return result

    def decontaminate(self, table: pa.Table, column: str = "prompt",
                      id_column: str = "problem_id") -> tuple[pa.Table, pa.Table, dict[str, Any]]:
        """Split ``table`` into rows clean of every benchmark and rejects.

        Returns:
            ``(kept, rejects, report)``: rejects carry ``reason="contaminated:<benchmark>:<n>gram"``,
            ``matched_ngram`` (normalized tokens) and ``matched_eval_id``; ``report`` counts removals
            per benchmark and n-gram size, with the first 5 removed ids as examples.
        """
        ids = id_values(table, id_column).to_pylist()
        matches = self.scan(text_column(table, column))
        dropped = [i for i, m in enumerate(matches) if m is not None]
        hits = [matches[i] for i in dropped]
        rejects = reject_table(
            table, np.array(dropped, np.int64), [f"contaminated:{m['benchmark']}:{m['n']}gram" for m in hits],
            matched_ngram=[m["ngram"] for m in hits], matched_eval_id=[m["eval_id"] for m in hits])
        keep = np.ones(table.num_rows, bool)
        keep[dropped] = False
        return table.filter(pa.array(keep)), rejects, self._report(table.num_rows, dropped, hits, ids)

    def _report(self, checked: int, dropped: list[int], hits: list[dict], ids: list) -> dict[str, Any]:
        c = self.config
        per = {name: {"eval_texts": self.counts[name], "removed": 0,
                      "by_ngram": {f"{n}gram": 0 for n, _ in c.passes()}, "examples": []} for name in self.benchmarks}
        for i, m in zip(dropped, hits):
            entry = per[m["benchmark"]]
            entry["removed"] += 1
            entry["by_ngram"][f"{m['n']}gram"] += 1
            if len(entry["examples"]) < 5:
                entry["examples"].append(ids[i])
        return {"n": c.n, "mode": c.mode, "threshold": c.threshold if c.mode == "fraction" else None,
                "also_any_match_n": c.also_any_match_n, "checked": checked, "removed": len(dropped),
                "fingerprint": self._fingerprint, "benchmarks": per}
