"""A synthetic store for the web view's tests and benchmark: big scored rollouts, a filter with rejects,
a difficulty table, a GRPO rollouts log, a recipe report and a model — written in seconds with Arrow.

Columns follow the real tables (schemas/scored_rollouts.py, trainers/rollout_log.py); texts carry
``<think>`` blocks and LaTeX so the viewer's reasoning/answer split and KaTeX have work to do.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from factory.store.models import register_model
from factory.store.snapshot import Snapshot
from factory.store.store import Store

VERDICTS = ["correct", "wrong", "correct", "unverifiable", "correct", "wrong", "correct", "correct"]
DOMAINS = ["math", "code", "math", "logic"]
COMPLETIONS = [
    "<think>We need $x^2 = 16$, so $x = \\pm 4$. Check: $4^2 = 16$.</think><answer>\\boxed{4}</answer>",
    "<think>Sum of the first $n$ odd numbers is $n^2$; with $n = 7$ that is $49$.</think><answer>\\boxed{49}</answer>",
    "<think>Try $\\frac{3}{4} + \\frac{1}{4} = 1$. Wait, the question asks for the product.</think>"
    "<answer>\\boxed{\\frac{3}{16}}</answer>",
    "<think>Let me count: 2, 3, 5, 7, 11 are prime.</think><answer>\\boxed{5}</answer>",
]


def _batches(n: int, k: int, batch: int = 200_000, step: int | None = None) -> Iterator[pa.RecordBatch]:
    texts = pa.array(COMPLETIONS)
    verdicts, domains = pa.array(VERDICTS), pa.array(DOMAINS)
    for start in range(0, n, batch):
        idx = pa.array(range(start, min(start + batch, n)), pa.int64())
        prob = pc.divide(idx, k)
        cols = {
            "problem_id": pc.binary_join_element_wise("p-", pc.cast(prob, pa.string()), ""),
            "sample_idx": pc.cast(pc.subtract(idx, pc.multiply(prob, k)), pa.int32()),
            "prompt": pc.binary_join_element_wise("Solve problem ", pc.cast(prob, pa.string()),
                                                  ": find $x$ with $x^2 = 16$.", ""),
            "completion": pc.take(texts, pc.bit_wise_and(idx, 3)),
            "verdict": pc.take(verdicts, pc.bit_wise_and(idx, 7)),
            "domain": pc.take(domains, pc.bit_wise_and(prob, 3)),
            "completion_tokens": pc.cast(pc.add(pc.bit_wise_and(idx, 1023), 64), pa.int32()),
        }
        if step is not None:  # a policy that learns: accuracy rises with the step
            cols["step"] = pc.add(pc.divide(idx, 64), 1)
            learned = pc.less(pc.bit_wise_and(idx, 63), pc.add(pc.multiply(cols["step"], 5), 10))
            cols["verdict"] = pc.if_else(learned, "correct", "wrong")
        cols["correct"] = pc.equal(cols["verdict"], "correct")
        cols["reward_accuracy"] = pc.cast(cols["correct"], pa.float64())
        cols["reward"] = cols["reward_accuracy"]
        yield pa.RecordBatch.from_pydict(cols)


def _commit(store: Store, name: str, id_: str, kind: str | None, splits: dict, parents: dict | None = None,
            **extra) -> Snapshot:
    with store.begin(name, id_, kind=kind) as b:
        for split, batches in splits.items():
            b.write(split, batches)
        return b.commit(builder=name, builder_version="1.0.0", parents=parents or {}, **extra)


def make_view_store(store: Store, rollouts: int = 1_000_000, k: int = 4) -> dict[str, Snapshot]:
    """Snapshots: ``rollouts`` (scored, ``rollouts`` rows), ``sft`` (a filter of it with rejects),
    ``difficulty``, ``grpo-rollouts-demo``, ``recipe-report``; plus a model trained on ``sft``."""
    out: dict[str, Snapshot] = {}
    out["rollouts"] = _commit(store, "rollouts", f"{rollouts:012x}", None, {"train": _batches(rollouts, k)},
                              sources={"procedural": "fp-" + "0" * 12}, description="synthetic scored rollouts")
    small = pa.Table.from_batches(list(_batches(2_000, k)))
    wrong = pc.not_equal(small.column("verdict"), "correct")
    rejects = small.filter(wrong).select(["problem_id", "sample_idx", "verdict"]).rename_columns(
        ["problem_id", "sample_idx", "reason"])
    out["sft"] = _commit(store, "sft", "5f0000000001", None, {"train": [small.filter(pc.invert(wrong)).to_batches()[0]],
                         "rejects": rejects.to_batches()}, parents={"scored": out["rollouts"].ref})
    n_correct = pa.array([i % (k + 1) for i in range(500)], pa.int32())
    diff = pa.table({"problem_id": [f"p-{i}" for i in range(500)], "k": pa.array([k] * 500, pa.int32()),
                     "n_correct": n_correct, "pass_rate": pc.divide(n_correct.cast(pa.float64()), float(k))})
    out["difficulty"] = _commit(store, "difficulty", "d00000000001", None, {"train": diff.to_batches()},
                                parents={"rollouts": out["rollouts"].ref})
    out["grpo"] = _commit(store, "grpo-rollouts-demo", "a00000000001", "rollouts",
                          {"train": _batches(640, k, step=1)}, parents={"data": out["sft"].ref})
    report = pa.table({"checkpoint": ["base", "sft", "grpo"], "pass_at_1": [0.0, 0.898, 0.922],
                       "maj_at_k": [0.0, 0.91, 0.94], "format_ok": [0.0, 1.0, 1.0]})
    out["report"] = _commit(store, "recipe-report", "e00000000001", None, {"train": report.to_batches()},
                            parents={"grpo": out["grpo"].ref})
    register_model(store, {"path": str(store.root.parent / "models" / "tiny-sft"), "trainer": "sft",
                           "data_ref": out["sft"].ref, "created_at": "2026-01-01T00:00:00"})
    return out
