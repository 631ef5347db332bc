"""Curated problems: exact and near-duplicate removal across sources, then decontamination against evals.

Near-duplicate detection (MinHash LSH) runs only on prompts of at least ``near_min_words``
words: two short math prompts that differ in one number are different problems, not
paraphrases. Decontamination uses 13-gram overlap and the 8-gram any-match peers use,
against AIME 2024, MATH-500, GPQA-Diamond and LiveCodeBench (or local copies). The report
of what was removed, against which benchmark and with which n-gram size goes into the card.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from factory.curate.decontam import DecontamConfig, Decontaminator
from factory.curate.dedup import DedupConfig, concat_rejects, dedup_and_decontaminate, dedup_exact

NAME = "curated"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Exact + near dedup (long prompts), 13-gram and 8-gram decontamination against eval sets."}
KIND = "problems"
PARENTS = ("problems",)
HELDOUT = "procedural-heldout"


@dataclass(frozen=True)
class Config:
    dedup: DedupConfig = field(default_factory=DedupConfig)
    near_min_words: int = field(default=20, metadata={"help": "near-dedup only prompts with at least this many words"})
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    decontaminate_against: tuple[str, ...] = field(default=("aime_2024", "math_500", "gpqa_diamond", "livecodebench"),
                                                   metadata={"help": f"eval sets (factory.evals.benchmarks) or {HELDOUT}"})
    paths: dict[str, str] = field(default_factory=dict, metadata={"help": "eval set -> local file (offline)"})
    heldout_n: int = 100
    heldout_seed: int = 12345
    heldout_options: dict = field(default_factory=dict, metadata={"help": f"procedural options of {HELDOUT}"})


def eval_sources(config: Config) -> dict:
    from factory.evals.benchmarks import load_evalset
    from factory.sources import source_from_spec

    out = {}
    for name in config.decontaminate_against:
        if name == HELDOUT:
            out[name] = source_from_spec({"kind": "procedural", "n": config.heldout_n, "seed": config.heldout_seed,
                                          **config.heldout_options})
        else:
            out[name] = load_evalset(name, config.paths.get(name))
    return out


def sources(config: Config) -> dict:
    return {f"eval:{k}": v for k, v in eval_sources(config).items()}


def build(ctx, config: Config) -> None:
    problems = ctx.parent("problems").to_arrow()
    evals = {name: src.to_table().column("prompt").to_pylist() for name, src in eval_sources(config).items()}
    decon = Decontaminator(evals, config.decontam) if evals else None
    words = pc.list_value_length(pc.utf8_split_whitespace(problems.column("prompt")))
    long_mask = pc.greater_equal(words, config.near_min_words)
    # exact dedup over everything first, so a short and a long copy of one prompt cannot both survive
    table, exact_rejects = dedup_exact(problems, config.dedup.column, id_column=config.dedup.id_column)
    short = table.filter(pc.invert(pc.is_in(table.column("problem_id"), problems.filter(long_mask).column("problem_id"))))
    long = table.filter(pc.is_in(table.column("problem_id"), problems.filter(long_mask).column("problem_id")))
    no_exact = DedupConfig(**{**config.dedup.__dict__, "exact": False})
    long_kept, long_rej, report = dedup_and_decontaminate(long, no_exact, None)
    kept = pa.concat_tables([short, long_kept]).sort_by([("problem_id", "ascending")])
    rejects = [exact_rejects, long_rej]
    if decon is not None:
        kept, rej, report["decontamination"] = decon.decontaminate(kept, config.dedup.column, config.dedup.id_column)
        rejects.append(rej)
    report["exact"] = {"removed": exact_rejects.num_rows}
    report.update(rows_in=problems.num_rows, rows_out=kept.num_rows, near_min_words=config.near_min_words)
    ctx.write("train", kept.to_batches(max_chunksize=65_536) or [pa.RecordBatch.from_pylist([], schema=kept.schema)])
    ctx.write_rejects(concat_rejects(rejects).to_batches(max_chunksize=65_536))
    ctx.note(reports=report, stats={"problems": problems.num_rows, "kept": kept.num_rows},
             description=f"{problems.num_rows:,} problems → {kept.num_rows:,} after dedup and decontamination")
