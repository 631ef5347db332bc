"""Per-row CPU cost of each text grader and of its parts, on score_bench's R1-like rollouts.

Why: the scoring CLI's speed targets are bound by these per-row costs (2 cores, so a reward
mix at N µs per row caps near 2e6/N rows/s); this names the part to make faster next.

Run: .venv/bin/python benchmarks/text_grader_costs.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from score_bench import make_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    args = ap.parse_args()
    from factory.rewards import format_reward as fmt
    from factory.rewards import language as lang
    from factory.rewards import language_utils as words
    from factory.rewards import readability as read
    from factory.rewards import text_kernel as kernel
    from factory.rewards.base import split_think

    texts = make_table(args.rows).column("completion").to_pylist()
    reasoning = [split_think(t)[0] for t in texts]
    stripped = [words.strip_non_words(t) for t in reasoning]
    config = read.ReadabilityConfig(min_language_consistency=None)
    from factory.rewards import text_grades as grades
    from factory.rewards.batch_text import Utf8Rows
    from factory.rewards.language import kernel_consistency
    from factory.rewards.text_pool import TextJob

    rows = Utf8Rows.from_strings(texts)
    langs = ["en"] * len(texts)
    job = TextJob(format_template="readable", language=True, readability=config)
    facts = kernel.text_facts(rows, lines=True)
    # load the compiled kernels (numba's disk cache, or a first compile) before timing anything
    lang.language_consistency(texts[:300], "en")
    read.readability_reasons(texts[:300], config)
    fmt.format_ok(texts[:300], "readable")
    parts: list[tuple[str, Callable[[], object]]] = [
        ("language (whole reward, batch)", lambda: lang.language_consistency(texts, "en")),
        ("  kernel count_batch", lambda: kernel.count_batch(texts, ["en"] * len(texts))),
        ("  python path: consistency() per row", lambda: [lang.consistency(t, "en") for t in texts]),
        ("    split_think", lambda: [split_think(t) for t in texts]),
        ("    strip LaTeX/code/URLs", lambda: [words.strip_non_words(t) for t in reasoning]),
        ("    count_words", lambda: [words.count_words(t) for t in stripped]),
        ("readability (scoring's config)", lambda: read.readability_reasons(texts, config)),
        ("  kernel line_stats", lambda: kernel.line_stats(texts, 20)),
        ("  tail deflate (ISA-L 1)", lambda: [read._tail_compression_ratio(t, 4096) for t in texts]),
        ("  missing_summary", lambda: read.missing_summary(texts)),
        ("  bad_format", lambda: read.bad_format(texts)),
        ("format (readable, batch)", lambda: fmt.format_ok(texts, "readable")),
        ("  python path: readable_format_ok per row", lambda: [fmt.readable_format_ok(t) for t in texts]),
        ("in place (scoring's path, Utf8Rows): all three", lambda: grades.grade_rows(rows, langs, None, job)),
        ("  text_facts (format + readability facts)", lambda: kernel.text_facts(rows, lines=True)),
        ("  language counts", lambda: kernel_consistency(len(rows), rows.take, rows.text, langs)),
        ("  readability from the facts (with deflate)", lambda: grades._readability(rows, facts, config)),
    ]
    print(f"{len(texts):,} completions, mean {sum(map(len, texts)) / len(texts):,.0f} chars")
    print(f"{'grader':40s} {'µs/row':>8s}")
    for name, fn in parts:
        t0 = time.perf_counter()
        fn()
        print(f"{name:40s} {(time.perf_counter() - t0) / len(texts) * 1e6:8.1f}")


if __name__ == "__main__":
    main()
