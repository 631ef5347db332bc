"""Preference pairs for a reward model (R1 §2.3.4 scores general prompts with reward models).

R1's helpfulness and harmlessness models were trained on DeepSeek-V3's preference data. The
recipe's stand-in has no human labels, so each pair prefers the non-reasoning set's answer to
its own prompt over an answer written for a different prompt (off-topic) or the same answer
cut short: what a helpfulness model must at least tell apart. Rows are ``pair_id`` and TRL's
conversational ``chosen``/``rejected``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pyarrow as pa

from schemas import message_type

NAME = "preference-pairs"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Own answer preferred over an off-topic or truncated one."}
KIND = None
PARENTS = ("non-reasoning",)


@dataclass(frozen=True)
class Config:
    max_pairs: int = field(default=2_000, metadata={"help": "pairs written (at most one per sample)"})
    truncated_share: float = field(default=0.3, metadata={"help": "rejected = own answer cut to a third"})
    seed: int = 0


def build(ctx, config: Config) -> None:
    rows = ctx.parent("non-reasoning").to_arrow().select(["sample_id", "messages"]).to_pylist()
    rng = random.Random(config.seed)
    rng.shuffle(rows)
    rows = [r for r in rows if len(r["messages"]) >= 2][: config.max_pairs]
    if len(rows) < 2:
        raise ValueError(f"{ctx.parent('non-reasoning').ref} has {len(rows)} usable samples; need at least 2")
    ids, chosen, rejected = [], [], []
    for i, row in enumerate(rows):
        user, answer = row["messages"][0], row["messages"][-1]["content"]
        if rng.random() < config.truncated_share and len(answer.split()) > 3:
            words = answer.split()
            bad = " ".join(words[: max(1, len(words) // 3)])
        else:
            bad = rows[(i + 1 + rng.randrange(len(rows) - 1)) % len(rows)]["messages"][-1]["content"]
        ids.append(row["sample_id"])
        chosen.append([user, {"role": "assistant", "content": answer}])
        rejected.append([user, {"role": "assistant", "content": bad}])
    ctx.write("train", [pa.RecordBatch.from_pydict({"pair_id": ids, "chosen": pa.array(chosen, message_type()),
                                                    "rejected": pa.array(rejected, message_type())})])
    ctx.note(stats={"pairs": len(ids)}, description=f"{len(ids):,} preference pairs from non-reasoning answers")
