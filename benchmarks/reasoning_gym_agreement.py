"""Where reasoning-gym's own scorer and the factory's accuracy grader disagree, on a sample of tasks.

For each task, n seeded entries and three answers each: the gold, the gold followed by another
candidate ("<gold> or <other>": an answer that hedges), and another entry's gold (wrong unless
equal). Both graders see the same final answer: ours through ``\\boxed{}``; reasoning-gym's
``score_answer`` with the raw string, counted correct only at 1.0 (its raw score is shown too).

    python benchmarks/reasoning_gym_agreement.py [--n 50] [--tasks a,b,...]
"""

from __future__ import annotations

import argparse
import json

TASKS = ("basic_arithmetic", "chain_sum", "leg_counting", "gsm_symbolic", "fraction_simplification", "simple_equations",
         "gcd", "lcm", "decimal_arithmetic", "prime_factorization", "letter_counting", "spell_backward", "word_sorting",
         "number_sorting", "base_conversion", "count_bits")


def compare(task: str, n: int, seed: int = 0) -> dict:
    import reasoning_gym

    from factory.rewards.reasoning_gym_reward import score_entry
    from factory.rewards.registry import verify_accuracy_batch

    data = reasoning_gym.create_dataset(task, size=n, seed=seed)
    entries = [data[i] for i in range(n)]
    golds = [str(e["answer"]) for e in entries]
    cases = [(i, kind, ans) for i, g in enumerate(golds) for kind, ans in
             (("gold", g), ("hedged", f"{g} or {golds[(i + 1) % n]}"), ("other", golds[(i + 1) % n]))]
    ours = verify_accuracy_batch([f"\\boxed{{{a}}}" for _, _, a in cases], answer=[golds[i] for i, _, _ in cases])
    out = {"task": task, "rows": len(cases), "agree": 0, "rg_only": 0, "ours_only": 0, "rg_partial": 0, "example": ""}
    for (i, kind, ans), v in zip(cases, ours):
        raw = score_entry(ans, json.dumps({"task": task, "entry": entries[i]}, default=str))
        rg_ok, our_ok = raw >= 1.0, v is not None and v.value == "correct"
        out["rg_partial"] += 0.0 < raw < 1.0
        if rg_ok == our_ok:
            out["agree"] += 1
            continue
        out["rg_only" if rg_ok else "ours_only"] += 1
        out["example"] = out["example"] or f"{kind}: {ans[:40]!r} vs gold {golds[i][:30]!r} (rg {raw:.2f})"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--tasks", default=",".join(TASKS))
    args = parser.parse_args()
    rows = [compare(t, args.n) for t in args.tasks.split(",")]
    print("| task | rows | agree | rg only correct | ours only correct | rg partial credit | example disagreement |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['task']} | {r['rows']} | {r['agree']} | {r['rg_only']} | {r['ours_only']} | {r['rg_partial']} | {r['example']} |")
    total = sum(r["rows"] for r in rows)
    print(f"\nagreement {sum(r['agree'] for r in rows) / total:.1%} over {total} answers, {len(rows)} tasks")


if __name__ == "__main__":
    main()
