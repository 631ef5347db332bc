"""Exact and near-duplicate removal across sources, with every removed row kept as an auditable reject.

Both passes keep the *first* row of each duplicate group in table order, so a builder that
concatenates its sources in a fixed order (and records that order in its config) gets the
same survivors on every run; ``duplicate_of`` names the survivor's id.

* exact: xxh3-64 of the normalized text (see :mod:`factory.curate.ngrams`: NFKC, lowercase,
  soft punctuation dropped, math symbols kept). With 64-bit keys a false merge among 10M
  rows has probability ~3e-6.
* near: MinHash (128 permutations) over token 5-gram shingles (character 5-grams for CJK,
  whose characters are tokens), LSH bands x rows chosen for the threshold with misses
  weighted 0.9 (14 x 9 at 0.8), then every candidate pair is checked on its signatures
  (estimated Jaccard >= threshold) and clusters are connected components. A component
  loses all rows but its first, so a chain A~B~C drops C even when A and C differ more.
  Jaccard of 5-gram sets falls fast on short texts: one edited word in an m-token text
  gives (m - 5) / (m + 5), so at 0.8 one edit is caught from ~50 tokens, two from ~100;
  texts under 5 tokens are one shingle (near = exact). Templated prompts that differ in
  one number are near duplicates by this measure (``"... letters of QQE?"`` vs ``"... of
  LG?"``): run near dedup on natural-language sources, or raise the threshold, when such
  variants are distinct problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pyarrow as pa

from factory.curate import minhash
from factory.curate.ngrams import (
    as_string_array,
    chunks,
    hash_strings,
    id_values,
    ngrams,
    normalize,
    reject_table,
    text_column,
    tokenize,
)
from factory.errors import BuildError

KEEP = ("first", "last")
_BATCH = 65_536  # texts tokenized at once: bounds the transient token/shingle arrays


def exact_dedup_keys(texts: pa.Array | pa.ChunkedArray | list[str]) -> pa.Array:
    """64-bit keys of normalized texts: equal keys mean equal text up to case, spacing, soft punctuation, Unicode form.

    Args:
        texts: a string column or a list of strings (nulls count as empty text).

    Returns:
        A ``uint64`` array, one key per text, stable across runs, versions and machines.

    >>> a, b, c = exact_dedup_keys(["What is 2+2?", "what is  2 + 2", "What is 2-2?"]).to_pylist()
    >>> a == b, a == c
    (True, False)
    """
    texts = as_string_array(texts)
    keys = [hash_strings(normalize(texts.slice(lo, hi - lo))) for lo, hi in chunks(len(texts), _BATCH)]
    return pa.array(np.concatenate(keys) if keys else np.zeros(0, np.uint64), pa.uint64())


def _order(n: int, keep: str) -> np.ndarray:
    if keep not in KEEP:
        raise ValueError(f"keep={keep!r} is unknown; use one of {KEEP}")
    return np.arange(n) if keep == "first" else np.arange(n)[::-1]


def _split(table: pa.Table, rep: np.ndarray, id_column: str, reason: str) -> tuple[pa.Table, pa.Table]:
    """Keep rows that are their own representative; the rest become rejects naming theirs."""
    kept_mask = rep == np.arange(len(rep))
    dropped = np.flatnonzero(~kept_mask)
    ids = id_values(table, id_column)
    duplicate_of = ids.take(pa.array(rep[dropped], pa.int64())).to_pylist()
    rejects = reject_table(table, dropped, reason, duplicate_of=duplicate_of)
    return table.filter(pa.array(kept_mask)), rejects


def dedup_exact(
    table: pa.Table, column: str = "prompt", keep: str = "first", id_column: str = "problem_id"
) -> tuple[pa.Table, pa.Table]:
    """Drop rows whose normalized ``column`` equals an earlier (``keep="first"``) or later row's.

    Args:
        table: rows from one or several sources (a ``source`` column is kept as is).
        column: the text compared.
        keep: ``"first"`` or ``"last"`` occurrence survives.
        id_column: named in ``duplicate_of`` of each reject.

    Returns:
        ``(kept, rejects)``: kept rows in their original order; rejects are the dropped rows
        plus ``reason="duplicate_exact"`` and ``duplicate_of`` (the survivor's id).
    """
    order = _order(table.num_rows, keep)
    id_values(table, id_column)
    keys = exact_dedup_keys(text_column(table, column)).to_numpy()[order]
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rep = np.empty(table.num_rows, np.int64)
    rep[order] = order[first[inverse.reshape(-1)]]
    return _split(table, rep, id_column, "duplicate_exact")


def minhash_signatures(texts: pa.Array, num_perm: int = 128, ngram: int = 5, seed: int = 0) -> np.ndarray:
    """MinHash signatures ``(num_perm, len(texts))`` uint32 of token ``ngram``-shingles (whole text when shorter)."""
    a, b = minhash.permutations(num_perm, seed)
    out = []
    for lo, hi in chunks(len(texts), _BATCH):
        grams = ngrams(tokenize(texts.slice(lo, hi - lo)), ngram)
        out.append(minhash.signatures(grams.hashes, grams.doc, hi - lo, a, b))
    return np.concatenate(out, axis=1) if out else np.zeros((num_perm, 0), np.uint32)


def near_dedup(
    table: pa.Table,
    column: str = "prompt",
    id_column: str = "problem_id",
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 0,
) -> tuple[pa.Table, pa.Table]:
    """Drop rows whose ``column`` is a near duplicate (estimated Jaccard >= ``threshold``) of an earlier row.

    Args:
        table: rows in a stable order; the first row of each near-duplicate group survives.
        column: the text compared (shingled as token ``ngram``-grams; CJK characters are tokens).
        id_column: named in ``duplicate_of`` of each reject.
        threshold: Jaccard similarity of shingle sets from which two texts are duplicates.
        num_perm: MinHash permutations (more: sharper threshold, slower).
        ngram: tokens per shingle.
        seed: permutation seed; the result is deterministic for a given seed.

    Returns:
        ``(kept, rejects)`` with ``reason="duplicate_near"`` and ``duplicate_of``.
    """
    bands, rows = minhash.lsh_params(threshold, num_perm)
    id_values(table, id_column)
    sig = minhash_signatures(text_column(table, column), num_perm, ngram, seed)
    u, v = minhash.candidate_pairs(sig, bands, rows)
    close = minhash.similarity(sig, u, v) >= threshold
    rep = minhash.components(table.num_rows, u[close], v[close])
    return _split(table, rep, id_column, "duplicate_near")


@dataclass(frozen=True)
class DedupConfig:
    """Which duplicates to drop; defaults follow common practice for prompt sets."""

    # --- what is compared
    column: str = field(default="prompt", metadata={"help": "text column compared"})
    id_column: str = field(default="problem_id", metadata={"help": "id named in duplicate_of"})
    # --- exact
    exact: bool = field(default=True, metadata={"help": "drop exact duplicates (normalized text hash)"})
    # --- near
    near: bool = field(default=True, metadata={"help": "drop near duplicates (MinHash LSH)"})
    threshold: float = field(default=0.8, metadata={"help": "Jaccard similarity of near duplicates"})
    num_perm: int = field(default=128, metadata={"help": "MinHash permutations"})
    ngram: int = field(default=5, metadata={"help": "tokens per shingle (characters for CJK)"})
    seed: int = field(default=0, metadata={"help": "MinHash seed"})

    def __post_init__(self) -> None:
        minhash.lsh_params(self.threshold, self.num_perm)  # validates both
        if self.ngram < 1:
            raise ValueError(f"ngram={self.ngram} must be positive, e.g. 5")


def deduplicate(table: pa.Table, config: DedupConfig | None = None) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """Exact then near dedup; returns ``(kept, rejects, report)`` where ``report`` goes into the dataset card."""
    config = config or DedupConfig()
    report: dict[str, Any] = {"rows_in": table.num_rows, "column": config.column}
    rejects = []
    if config.exact:
        table, rej = dedup_exact(table, config.column, id_column=config.id_column)
        rejects.append(rej)
        report["exact"] = {"removed": rej.num_rows, "normalization": "nfkc-lower-soft-punct-v1"}
    if config.near:
        table, rej = near_dedup(table, config.column, config.id_column, config.threshold,
                                config.num_perm, config.ngram, config.seed)
        bands, rows = minhash.lsh_params(config.threshold, config.num_perm)
        rejects.append(rej)
        report["near"] = {"removed": rej.num_rows, "threshold": config.threshold, "num_perm": config.num_perm,
                          "bands": bands, "rows": rows, "ngram": config.ngram, "seed": config.seed}
    report["rows_out"] = table.num_rows
    return table, concat_rejects(rejects), report


def concat_rejects(parts: list[pa.Table]) -> pa.Table:
    """Concatenate reject tables (columns missing from a part become nulls)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return pa.table({"reason": pa.array([], pa.string())})
    return pa.concat_tables(parts, promote_options="default")


def dedup_and_decontaminate(
    table: pa.Table, dedup: DedupConfig | None = None, decontaminator: Any = None
) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """The builders' one call: dedup (exact, near), then decontamination when a ``Decontaminator`` is given.

    Returns:
        ``(kept, rejects, report)``; ``report`` is ``{"exact": {...}, "near": {...},
        "decontamination": {...}}``, ready for the manifest's ``reports`` (shown in the card).
    """
    dedup = dedup or DedupConfig()
    kept, rejects, report = deduplicate(table, dedup)
    if decontaminator is not None:
        kept, rej, report["decontamination"] = decontaminator.decontaminate(kept, dedup.column, dedup.id_column)
        rejects = concat_rejects([rejects, rej])
        report["rows_out"] = kept.num_rows
    return kept, rejects, report


def duplicate_gate(texts: Iterable[pa.Array], max_ratio: float, what: str) -> dict[str, Any]:
    """Refuse a prompt set whose exact-duplicate ratio is above ``max_ratio`` (DAPO's released 17k
    set repeated each prompt about 100 times: a filter that only drops rows hides such a bug).

    Args:
        texts: prompt text columns, batch by batch.
        max_ratio: the bound on ``duplicates / prompts`` (duplicates: rows beyond the first of each text).
        what: names the set in the error.

    Returns:
        ``{"prompts", "duplicates", "duplicate_ratio", "max_duplicate_ratio"}`` for the card.

    >>> duplicate_gate([pa.array(["a", "b", "A"])], 0.5, "x")["duplicates"]
    1
    >>> duplicate_gate([pa.array(["a", "a", "a", "b"])], 0.1, "r1-zero")
    Traceback (most recent call last):
    ...
    factory.errors.BuildError: r1-zero refuses to publish: 2 of 4 prompts (50.0%) repeat another prompt, above max_duplicate_ratio=0.1; build it from `curated` (which dedups) or raise the bound
    """
    keys = [exact_dedup_keys(t).to_numpy() for t in texts]
    allkeys = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    n = len(allkeys)
    dup = n - len(np.unique(allkeys))
    ratio = dup / n if n else 0.0
    if ratio > max_ratio:
        raise BuildError(f"{what} refuses to publish: {dup:,} of {n:,} prompts ({ratio:.1%}) repeat another prompt, "
                         f"above max_duplicate_ratio={max_ratio}; build it from `curated` (which dedups) or raise the bound")
    return {"prompts": n, "duplicates": dup, "duplicate_ratio": round(ratio, 6), "max_duplicate_ratio": max_ratio}
