"""The SFT mix (R1 §2.3.3: ~800k = 600k reasoning + 200k non-reasoning), trained for 2 epochs.

A deterministic shuffle by hash(sample_id, seed) — same parents and seed, same order — and the
mix (rows per subset and category) recorded in the manifest.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from factory import settings as envconfig
from factory.sql import sqlmodel

NAME = "sft-mix"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Reasoning ∪ non-reasoning in TRL conversational format, hash-shuffled."}
KIND = "sft_samples"
PARENTS = ("reasoning", "non-reasoning")


@dataclass(frozen=True)
class Config:
    seed: int = field(default=0, metadata={"help": "shuffle seed"})
    epochs: int = field(default=2, metadata={"help": "R1: 2 epochs of SFT on this mix (recorded for trainers)"})


def build(ctx, config: Config) -> None:
    refs = {"reasoning": ctx.parent("reasoning"), "non-reasoning": ctx.parent("non-reasoning")}
    text, _ = sqlmodel.load("sft_mix")
    sql = sqlmodel.render(text, refs, {"seed": config.seed})
    con = sqlmodel.connect(list(refs.values()))
    con.execute(f"set memory_limit='{envconfig.duckdb_memory_limit()}'").fetchall()
    tmp = ctx.work_dir / ".tmp"
    tmp.mkdir(exist_ok=True)
    con.execute(f"set temp_directory='{tmp}'").fetchall()
    mix: Counter[tuple[str, str]] = Counter()

    def tallied(reader):
        # the mix is counted as the rows stream to disk: no second pass over the union
        for batch in reader:
            counts = pa.table({"s": batch.column("subset"), "c": batch.column("category")}).group_by(["s", "c"])
            for row in counts.aggregate([([], "count_all")]).to_pylist():
                mix[(row["s"], row["c"])] += row["count_all"]
            yield batch

    n = ctx.write("train", tallied(con.sql(sql).to_arrow_reader(50_000)))
    con.close()
    ctx.note(stats={"rows": n, "epochs": config.epochs},
             mix=[{"subset": s, "category": c, "rows": k} for (s, c), k in sorted(mix.items())],
             queries={"sft_mix": sqlmodel.stored_sql(text, refs, {"seed": config.seed})},
             synthetic=any(p.manifest.get("synthetic") for p in refs.values()),
             description=f"SFT mix of {refs['reasoning'].ref} and {refs['non-reasoning'].ref}")
