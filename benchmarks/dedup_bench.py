"""Dedup and decontamination throughput on procedural prompts, each against a straightforward baseline in the same run.

Usage: ``python benchmarks/dedup_bench.py [N]`` (default 200,000 prompts from
``procedural:n=N,seed=0``). Every stage runs in a forked child, so its peak RSS is its own
(it includes the input table, inherited from the parent). Ratios use CPU seconds, which
stay meaningful on a shared machine. Baselines:

* exact: the same normalization in plain Python per row (``unicodedata`` NFKC, ``lower``,
  ``str.translate`` with the same character classes, ``split``/``join``; identical keys on
  these prompts), xxh3 and a first-seen dict;
* near: per-document NumPy MinHash (datasketch's algorithm: hash each shingle, then
  ``(a*x+b) mod p`` over (shingles x 128) and a min per document), on N/10 rows, signatures only;
* decontamination: open-r1's ``scripts/decontaminate.py`` approach (lowercase, ``split()``,
  Python sets of n-gram strings, any-match) for the same 13- and 8-gram passes.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import xxhash

from factory.curate.decontam import DecontamConfig, Decontaminator
from factory.curate.dedup import dedup_exact, near_dedup
from factory.curate.ngrams import SPACE, WORD, bmp_classes
from factory.evals.benchmarks import EVALSETS
from factory.sources import source_from_spec

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "evalsets"


def translation() -> dict[int, str]:
    """``str.translate`` table: soft characters to a space, stand-alone ones padded with spaces."""
    classes = bmp_classes()
    return {cp: " " if c == SPACE else f" {chr(cp)} " for cp, c in enumerate(classes.tolist()) if c != WORD}


def naive_exact(prompts: list[str]) -> int:
    table = translation()
    seen: dict[int, int] = {}
    removed = 0
    for i, p in enumerate(prompts):
        text = " ".join(unicodedata.normalize("NFKC", p).lower().translate(table).split())
        key = xxhash.xxh3_64_intdigest(text.encode())
        if key in seen:
            removed += 1
        else:
            seen[key] = i
    return removed


def naive_minhash(prompts: list[str], num_perm: int = 128, ngram: int = 5) -> int:
    rng = np.random.default_rng(0)
    prime = np.uint64((1 << 61) - 1)
    a = rng.integers(1, int(prime), num_perm, dtype=np.uint64)
    b = rng.integers(0, int(prime), num_perm, dtype=np.uint64)
    for p in prompts:
        words = p.lower().split()
        grams = {" ".join(words[i:i + ngram]) for i in range(max(1, len(words) - ngram + 1))}
        hv = np.array([xxhash.xxh32_intdigest(g.encode()) for g in grams], np.uint64)
        np.min((hv[:, None] * a + b) % prime, axis=0)
    return 0


def naive_decontam(prompts: list[str], evals: list[str], sizes=(13, 8)) -> int:
    def grams(text: str, n: int) -> set[str]:
        words = " ".join(text.lower().split()).split()
        return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}

    index = {n: set().union(*(grams(e, n) for e in evals)) for n in sizes}
    return sum(any(not grams(p, n).isdisjoint(index[n]) for n in sizes) for p in prompts)


def _child(conn, fn) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    removed = fn()
    conn.send((time.perf_counter() - start, time.process_time() - cpu, removed,
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def stage(label: str, rows: int, fn) -> float:
    """Run ``fn`` in a forked child; print rows/s and peak RSS; return rows per CPU second."""
    parent, child = mp.get_context("fork").Pipe()
    proc = mp.get_context("fork").Process(target=_child, args=(child, fn))
    proc.start()
    wall, cpu, removed, rss = parent.recv()
    proc.join()
    print(f"{label:<44} {rows:>8,} rows {wall:6.2f} s wall {cpu:6.2f} s cpu {rows / wall:>9,.0f} rows/s "
          f"removed {removed:>7,}  peak RSS {rss:,.0f} MiB")
    return rows / cpu


def planted(table: pa.Table, evals: list[str], every: int = 2000) -> pa.Table:
    """Replace every ``every``-th prompt by one that embeds an eval problem (exercises the removal path)."""
    prompts = table.column("prompt").to_pylist()
    for k, i in enumerate(range(0, len(prompts), every)):
        prompts[i] = f"Practice problem: {evals[k % len(evals)]} Show your work."
    return table.set_column(table.schema.get_field_index("prompt"), "prompt", pa.array(prompts, pa.string()))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    table = source_from_spec(f"procedural:n={n},seed=0").to_table()
    prompts = table.column("prompt").to_pylist()
    paths = {name: str(FIXTURES / f"{name}.jsonl") for name in EVALSETS}
    decon = Decontaminator.from_evalsets(paths=paths, config=DecontamConfig())
    evals = [json.loads(line)[col] for name, col in (("aime_2024", "problem"), ("math_500", "problem"),
                                                    ("gpqa_diamond", "Question"), ("livecodebench", "question_content"))
             for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines()]
    dirty = planted(table, evals)
    long = dirty.slice(0, n // 4).set_column(1, "prompt", pa.array(
        [" ".join(prompts[4 * i:4 * i + 4]) if i % 500 else dirty.column("prompt")[i].as_py() for i in range(n // 4)]))
    words = np.mean([len(p.split()) for p in long.column("prompt").to_pylist()[:2000]])
    print(f"{n:,} procedural prompts (~{np.mean([len(p.split()) for p in prompts[:2000]]):.0f} words); "
          f"long: {long.num_rows:,} prompts of ~{words:.0f} words; eval fixtures: {len(evals)} texts")
    base = stage("baseline exact: python str.translate + dict", n, lambda: naive_exact(prompts))
    fast = stage("exact: dedup_exact", n, lambda: dedup_exact(table)[1].num_rows)
    print(f"  exact: {fast / base:.1f}x the baseline's rows per CPU second")
    small = n // 10
    base = stage("baseline near: per-doc numpy minhash (sig only)", small, lambda: naive_minhash(prompts[:small]))
    fast = stage("near: near_dedup (signatures + LSH + clusters)", n, lambda: near_dedup(table)[1].num_rows)
    print(f"  near: {fast / base:.1f}x the baseline's rows per CPU second")
    dirty_prompts = dirty.column("prompt").to_pylist()
    base = stage("baseline decontam: open-r1 sets 13+8", n, lambda: naive_decontam(dirty_prompts, evals))
    fast = stage("decontam: Decontaminator 13 any + 8 any", n, lambda: decon.decontaminate(dirty)[1].num_rows)
    print(f"  decontam: {fast / base:.1f}x the baseline's rows per CPU second")
    long_prompts = long.column("prompt").to_pylist()
    base = stage("baseline decontam, ~50-word prompts", long.num_rows, lambda: naive_decontam(long_prompts, evals))
    fast = stage("decontam, ~50-word prompts", long.num_rows, lambda: decon.decontaminate(long)[1].num_rows)
    print(f"  decontam (long): {fast / base:.1f}x the baseline's rows per CPU second")


if __name__ == "__main__":
    main()
