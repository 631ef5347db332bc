"""MinHash signatures, LSH banding and connected components in NumPy: near-duplicate search without Python loops.

Permutations are multiply-add hashes ``(a*x + b) mod 2**64`` (``a`` odd) whose top 32 bits
are the signature value; shingles are already xxh3-mixed 64-bit values, and the top bits
of a multiply-add are monotone in its 64-bit value, so the minimum is taken on the uint64
values (``np.minimum.reduceat`` per document) and shifted afterwards.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from factory.curate.ngrams import mix64

_U64 = np.uint64
_CHUNK = 1 << 16  # shingles per block: a 512 KiB buffer per permutation pass
_BAND_MULT = (np.random.default_rng(0xBA4D).integers(1, 2**63, 256, dtype=np.uint64) << _U64(1)) | _U64(1)


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``num_perm`` multiply-add hash parameters ``(a, b)``; ``a`` is odd. Same seed, same permutations."""
    if num_perm < 1:
        raise ValueError(f"num_perm={num_perm} must be positive, e.g. 128")
    rng = np.random.default_rng([seed, 0x4D494E48])
    a = rng.integers(0, 2**64, num_perm, dtype=np.uint64, endpoint=False) | _U64(1)
    b = rng.integers(0, 2**64, num_perm, dtype=np.uint64, endpoint=False)
    return a, b


def signatures(shingles: np.ndarray, doc: np.ndarray, num_docs: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures, permutation-major ``(num_perm, num_docs)`` uint32, of shingles grouped by ``doc``.

    ``doc`` is sorted and every doc has a shingle. One permutation at a time over a block of
    shingles: a 1-D multiply-add + ``minimum.reduceat`` on a cache-sized buffer measured ~6x
    faster than one ``(block, num_perm)`` matrix; permutation-major rows make each LSH band a
    contiguous slice.
    """
    starts = np.searchsorted(doc, np.arange(num_docs + 1))
    if np.any(starts[1:] == starts[:-1]):
        raise ValueError("every document needs at least one shingle; build them with whole_if_shorter=True")
    out = np.empty((len(a), num_docs), np.uint32)
    lo = 0
    while lo < num_docs:
        hi = int(np.searchsorted(starts, starts[lo] + _CHUNK, side="right")) - 1
        hi = min(max(hi, lo + 1), num_docs)
        block = shingles[starts[lo] : starts[hi]]
        heads = starts[lo:hi] - starts[lo]
        tmp = np.empty(len(block), np.uint64)
        for i in range(len(a)):
            np.multiply(block, a[i], out=tmp)
            np.add(tmp, b[i], out=tmp)
            out[i, lo:hi] = np.minimum.reduceat(tmp, heads) >> _U64(32)
        lo = hi
    return out


def _area(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoid rule (``np.trapezoid`` is NumPy >= 2 only)."""
    return float(((y[1:] + y[:-1]) * np.diff(x)).sum() / 2)


def _collision_probability(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    return 1.0 - (1.0 - s**rows) ** bands


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int, false_negative_weight: float = 0.9) -> tuple[int, int]:
    """``(bands, rows)``, ``bands * rows <= num_perm``, minimizing weighted false positives + negatives.

    Candidates are checked against ``threshold`` on their signatures afterwards, so a false
    positive costs one comparison while a false negative is a missed duplicate: misses weigh
    0.9 by default (candidate probability 0.87 at the threshold, 0.975 at +0.05).

    >>> lsh_params(0.8, 128)
    (14, 9)
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold={threshold} must be in (0, 1), e.g. 0.8")
    if num_perm < 1:
        raise ValueError(f"num_perm={num_perm} must be positive, e.g. 128")
    below = np.linspace(0.0, threshold, 201)
    above = np.linspace(threshold, 1.0, 201)
    best, best_err = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = _area(_collision_probability(below, bands, rows), below)
            fn = _area(1.0 - _collision_probability(above, bands, rows), above)
            err = (1.0 - false_negative_weight) * fp + false_negative_weight * fn
            if err < best_err:
                best, best_err = (bands, rows), err
    return best


def _bucket_firsts(key: np.ndarray) -> np.ndarray:
    """For each row, the smallest row index with the same key."""
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(key)
    sorted_key = key[order]
    heads = np.flatnonzero(np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]]))
    firsts = np.minimum.reduceat(order, heads)
    rep = np.empty(len(key), np.int64)
    rep[order] = np.repeat(firsts, np.diff(np.append(heads, len(key))))
    return rep


def candidate_pairs(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs ``(u, v)``, ``v < u``, sharing a band: each doc is paired with the first doc of its bucket."""
    if bands * rows > sig.shape[0]:
        raise ValueError(f"bands*rows={bands * rows} exceeds num_perm={sig.shape[0]}; lower bands or rows")
    n = sig.shape[1]
    ids = np.arange(n, dtype=np.int64)
    pairs = [np.zeros(0, np.int64)]
    for band in range(bands):
        key = np.zeros(n, np.uint64)
        for j in range(rows):
            key += sig[band * rows + j].astype(np.uint64) * _BAND_MULT[j]
        rep = _bucket_firsts(mix64(key))
        moved = rep != ids
        pairs.append(ids[moved] * n + rep[moved])
    pair = np.sort(np.concatenate(pairs))
    pair = pair[np.concatenate([[True], pair[1:] != pair[:-1]])] if len(pair) else pair
    return pair // n, pair % n


def similarity(sig: np.ndarray, u: np.ndarray, v: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
    """Estimated Jaccard similarity of each pair: the share of equal signature values."""
    out = np.empty(len(u), np.float64)
    for lo in range(0, len(u), chunk):
        hi = lo + chunk
        out[lo:hi] = (sig[:, u[lo:hi]] == sig[:, v[lo:hi]]).mean(axis=0)
    return out


def components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected components of the graph with edges ``(u, v)``: each node's label is the smallest node of its component.

    >>> components(5, np.array([1, 4]), np.array([0, 1])).tolist()
    [0, 0, 2, 3, 0]
    """
    label = np.arange(n, dtype=np.int64)
    if len(u) == 0:
        return label
    while True:
        lu, lv = label[u], label[v]
        low = np.minimum(lu, lv)
        new = label.copy()
        np.minimum.at(new, lu, low)  # hook both roots onto the smaller one
        np.minimum.at(new, lv, low)
        while True:  # pointer jumping until every label is a root
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, label):
            return label
        label = new
