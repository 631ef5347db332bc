"""Math grader throughput vs open-r1's per-row math-verify reward, on deterministic R1-like rollouts.

Run: ``python benchmarks/math_bench.py [--rows 20000] [--baseline-rows 1000] [--workers 2]``.
Prints rows/s of both graders (measured in this same process), their ratio, agreement on the
baseline slice, and peak RSS of the parent and of the worker processes.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from typing import Callable

SAMPLES_PER_PROBLEM = 8
KIND_WEIGHTS = {  # roughly the answer mix of MATH-style data: mostly integers, a few equations
    "int": 40, "frac": 10, "dec": 4, "tuple": 5, "interval": 3, "sqrt": 8, "pi": 5, "poly": 5,
    "trig": 3, "line": 3, "text": 3, "mc": 6, "pct": 3,
}
P_CORRECT = 0.6
NAMES = ["Evelyn", "Carla", "Briana", "Debra", "Angela", "Omar", "Priya", "Kenji"]
WORDS = (
    "so we need to check whether the sum of the remaining terms is consistent with the constraint "
    "wait let me reconsider the case where the denominator vanishes and verify each step again "
    "this means the factor must divide both sides hence the equation simplifies nicely"
).split()


def make_answer(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """(gold, correct spellings, wrong spellings) for one problem of a random answer kind."""
    kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    a, b = rng.randint(2, 60), rng.randint(61, 2000)
    if kind == "int":
        return str(b), [str(b), str(b), f"x = {b}", f"{b:,}"], [str(b + 1), str(b - 7), str(2 * b)]
    if kind == "frac":
        return rf"\frac{{{a}}}{{{b}}}", [rf"\frac{{{a}}}{{{b}}}", rf"\dfrac{{{a}}}{{{b}}}", f"{a}/{b}"], [
            rf"\frac{{{a + 1}}}{{{b}}}", rf"\frac{{{b}}}{{{a}}}"]
    if kind == "dec":
        return f"{a}.5", [f"{a}.5", rf"\frac{{{2 * a + 1}}}{{2}}", f"{a}.50"], [f"{a}.25", f"{a + 1}.5"]
    if kind == "tuple":
        return f"({a},{b})", [f"({a}, {b})", rf"\left({a}, {b}\right)"], [f"({b}, {a})", f"({a}, {b + 1})"]
    if kind == "interval":
        return f"[{a},{b})", [f"[{a}, {b})", rf"\left[{a},{b}\right)"], [f"[{a}, {b}]", f"({a}, {b})"]
    if kind == "sqrt":
        m = rng.choice([2, 3, 5, 6, 7])
        return rf"{a}\sqrt{{{m}}}", [rf"{a}\sqrt{{{m}}}", rf"{a}\sqrt{{{m}}}", rf"\sqrt{{{a * a * m}}}"], [
            rf"{a + 1}\sqrt{{{m}}}", rf"{a}\sqrt{{{m + 1}}}"]
    if kind == "pi":
        gold = rf"\frac{{{a}\pi}}{{3}}"
        return gold, [gold, rf"\frac{{{a}}}{{3}}\pi"], [rf"\frac{{{a}\pi}}{{6}}"]
    if kind == "poly":  # needs SymPy: no constant value to compare
        gold = f"x^2+{2 * a}x+{a * a}"
        return gold, [gold, f"(x+{a})^2"], [f"(x+{a + 1})^2", f"x^2+{a}x+{a * a}"]
    if kind == "trig":  # functions: only SymPy (math-verify) can decide these
        return rf"{a}\sin(2x)", [rf"{a}\sin(2x)", rf"{a}\sin(2x)", rf"{2 * a}\sin x\cos x"], [
            rf"{a}\cos(2x)", rf"{a + 1}\sin(2x)"]
    if kind == "line":  # a rearranged equation: only SymPy (math-verify) decides these
        eq = f"y={a}x+{b}"
        return eq, [eq, f"y = {a}x + {b}", f"{a}x - y + {b} = 0"], [f"y={b}x+{a}", f"y = {a}x - {b}"]
    if kind == "text":
        name, other = rng.sample(NAMES, 2)
        return rf"\text{{{name}}}", [rf"\text{{{name}}}", name], [rf"\text{{{other}}}"]
    if kind == "mc":
        letter, other = rng.sample("ABCDE", 2)
        return letter, [letter, f"({letter})", rf"\text{{({letter})}}"], [other, f"({other})"]
    return rf"{a}\%", [rf"{a}\%", str(a)], [rf"{a + 5}\%"]


def make_completion(rng: random.Random, answer: str, decoy: str) -> str:
    """An R1-style rollout of 1.5-6k characters: think block (with a tentative box), then a summary."""
    target = rng.randint(1500, 6000)
    parts = ["<think>\n"]
    size = 0
    while size < target - 200:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        math = rf" so $x_{{{rng.randint(1, 9)}}} = \frac{{{rng.randint(1, 99)}}}{{{rng.randint(2, 99)}}}$."
        parts.append(sentence.capitalize() + math + ("\n\n" if rng.random() < 0.2 else " "))
        size += len(parts[-1])
        if rng.random() < 0.02:
            parts.append(rf"Maybe the answer is \boxed{{{decoy}}}? Let me double-check. ")
    parts.append("\n</think>\n\n**Solution.** Combining the steps above, ")
    parts.append(rf"the final answer is $\boxed{{{answer}}}$.")
    return "".join(parts)


def make_rows(n_rows: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Deterministic (completions, golds): ``SAMPLES_PER_PROBLEM`` samples per problem, ~40% wrong."""
    rng = random.Random(seed)
    completions, golds = [], []
    while len(completions) < n_rows:
        gold, right, wrong = make_answer(rng)
        for _ in range(SAMPLES_PER_PROBLEM):
            if rng.random() < P_CORRECT:  # most correct samples agree on the canonical spelling
                pick = right[0] if rng.random() < 0.6 else rng.choice(right)
            else:
                pick = rng.choice(wrong)
            completions.append(make_completion(rng, pick, rng.choice(wrong)))
            golds.append(gold)
    return completions[:n_rows], golds[:n_rows]


def open_r1_reward() -> Callable[[str, str], float | None]:
    """open-r1's accuracy_reward, one row at a time (gold parsed with the default config)."""
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    config = [LatexExtractionConfig(
        normalization_config=NormalizationConfig(
            nits=False, malformed_operators=False, basic_latex=True, equations=True, boxed="all", units=True
        ),
        boxed_match_priority=0,
        try_extract_without_anchor=False,
    )]

    def reward(completion: str, gold: str) -> float | None:
        gold_parsed = parse(gold, extraction_mode="first_match")
        if not gold_parsed:
            return None
        answer_parsed = parse(completion, extraction_config=config, extraction_mode="first_match")
        try:
            return float(verify(gold_parsed, answer_parsed))
        except Exception:  # noqa: BLE001 - as open-r1 does
            return None

    return reward


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def run_ours(args: argparse.Namespace, completions: list[str], golds: list[str]) -> dict:
    """Our grader: pool start, one big batch, then GRPO-like batches over other problems."""
    from factory.rewards.math_pool import MathVerifyPool
    from factory.rewards.math_reward import MathGrader

    pool, t_start = timed(lambda: MathVerifyPool(args.workers).start())
    grader = MathGrader(pool=pool)
    verdicts, t_grade = timed(lambda: grader.grade(completions, golds))
    more_c, more_g = make_rows(args.rows, seed=1)  # new problems: cold caches everywhere
    stepped = MathGrader(pool=pool)
    steps = range(0, len(more_c), args.batch)
    _, t_step = timed(lambda: [stepped.grade(more_c[i : i + args.batch], more_g[i : i + args.batch])
                               for i in steps])
    pool.close()
    return {"verdicts": verdicts, "t_start": t_start, "t_grade": t_grade, "t_step": t_step,
            "stats": grader.stats, "workers": pool.workers, "rss": peak_rss_mib()}


def report(args: argparse.Namespace, ours: dict, base_rewards: list, t_base: float, golds: list[str]) -> None:
    from factory.rewards.base import Verdict

    k = len(base_rewards)
    mine = [float(v is Verdict.CORRECT) for v in ours["verdicts"][:k]]
    both = [(a, b) for a, b in zip(mine, base_rewards) if b is not None]
    agree_parsed = sum(a == b for a, b in both) / max(1, len(both))
    agree_all = sum(a == (b or 0.0) for a, b in zip(mine, base_rewards)) / k
    if args.show_disagreements:
        for i in [i for i, (a, b) in enumerate(zip(mine, base_rewards)) if b is not None and a != b][:20]:
            print(f"  disagree: gold={golds[i]!r} ours={mine[i]} open-r1={base_rewards[i]}")
    n = len(ours["verdicts"])
    base_rps, one, step = k / t_base, n / ours["t_grade"], n / ours["t_step"]
    cold = n / (ours["t_start"] + ours["t_grade"])
    print(f"verdicts: { {v.value: sum(x is v for x in ours['verdicts']) for v in Verdict} }")
    n_none = sum(b is None for b in base_rewards)
    print(f"open-r1 per-row baseline: {base_rps:8.1f} rows/s ({k} rows; {n_none} golds it cannot parse)")
    print(f"ours, one batch         : {one:8.1f} rows/s  ({one / base_rps:.1f}x)  "
          f"[+{ours['t_start']:.1f}s to start {ours['workers']} workers once: {cold:.1f} rows/s]")
    print(f"ours, batches of {args.batch:<4}   : {step:8.1f} rows/s  ({step / base_rps:.1f}x)  "
          "[other problems, cache across batches]")
    print(f"agreement with baseline: {agree_parsed:.1%} on the {len(both)} rows whose gold it can parse, "
          f"{agree_all:.1%} on all {k} (its None counted as 0.0)")
    stats = ours["stats"]
    print(f"pairs sent to math-verify: {stats['undecided']} of {stats['distinct']} distinct "
          "(answer, gold) pairs")
    print(f"peak RSS: parent {ours['rss']:.0f} MiB (ours), {peak_rss_mib():.0f} MiB (after baseline); "
          f"largest worker {peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--baseline-rows", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=512, help="batch size of the per-step (GRPO-like) run")
    ap.add_argument("--show-disagreements", action="store_true")
    args = ap.parse_args()

    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)  # math-verify logs a deprecation per parse of open-r1's config

    completions, golds = make_rows(args.rows)
    chars = sum(map(len, completions)) / len(completions)
    print(f"data: {len(completions)} rows, {len(completions) // SAMPLES_PER_PROBLEM} problems, "
          f"{chars:.0f} chars/completion on average")
    ours = run_ours(args, completions, golds)
    base = open_r1_reward()
    k = min(args.baseline_rows, len(completions))
    base_rewards, t_base = timed(lambda: [base(c, g) for c, g in zip(completions[:k], golds[:k])])
    report(args, ours, base_rewards, t_base, golds)


if __name__ == "__main__":
    main()
