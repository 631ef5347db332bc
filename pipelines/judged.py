"""Judgements (R1 §2.3.3): an LLM judge's verdict on scored rollouts that no rule can check.

A stage of its own, like generation: its id depends only on the scored rollouts, the judge
model, the judge prompt version and sampling, so a filter change never re-judges, and a
killed run resumes at the first unfinished shard. Rows qualify as in
``factory.generate.judge.is_judgeable``: a ground truth (``reference``, ``answer`` or
``metadata.reference``), no rule verdict (with ``only_unverified``), and a finished
generation. The output feeds the reasoning filter's ``judgements`` ref: rows without a rule
verdict take ``judge_correct`` from it.

Runtime settings of the judge (``base_url``, ``api_key``, concurrency: not in the id) come from
``BuildOptions.judge``; ``BuildOptions.backend`` belongs to the
generation stage, whose server is not the judge's.
"""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq

from factory.generate.backends.base import backend_is_synthetic
from factory.generate.judge import JudgeConfig, JudgeTask, shard_bounds
from factory.generate.judge_prompts import get_judge_prompt
from factory.progress import RowProgress
from factory.store.fsio import open_input

NAME = "judged"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "LLM-as-judge against the ground truth: versioned prompt, robust verdict parsing, "
                          "duplicate answers judged once, sharded and resumable."}
KIND = "judgements"
PARENTS = ("scored",)
Config = JudgeConfig


def _all_rule_verified(files: list[str]) -> bool:
    """True when every row has a rule verdict: then nothing qualifies and no text needs reading."""
    return all(pq.read_table(open_input(f), columns=["verdict"]).column(0).null_count == 0 for f in files)


def build(ctx, config: JudgeConfig) -> None:
    scored = ctx.parent("scored")
    files = [str(p) for p in scored.files(config.split)]
    if config.only_unverified and _all_rule_verified(files):
        import pyarrow as pa

        import schemas

        ctx.write("train", [pa.RecordBatch.from_pylist([], schema=schemas.get("judgements").schema)])
        ctx.note(judge={"backend": config.backend, "model": config.model, "prompt": config.prompt},
                 stats={"judged": 0, "judge_calls": 0}, synthetic=backend_is_synthetic(config.backend),
                 description=f"nothing to judge: every row of {scored.ref} has a rule verdict")
        return
    task = JudgeTask(files, shard_bounds(files, config.prompts_per_shard), config,
                     runtime_options=dict(ctx.options.judge))
    done = ctx.done_shards("train")
    with RowProgress(f"judge {config.model}", total=task.num_shards(), unit="shards", quiet=ctx.quiet,
                     completed=len(done)) as bar:
        ctx.run_shards("train", task.num_shards(), task, on_done=lambda shard, rows: bar.advance(1))
    prompt = get_judge_prompt(config.prompt)
    info = {"backend": config.backend, "model": config.model, "prompt": prompt.ref,
            "prompt_fingerprint": prompt.fingerprint, "sampling": config.sampling().to_dict(),
            "summary_only": config.summary_only}
    if task.backend is not None:
        info.update({k: v for k, v in task.backend.info().items() if k != "backend"})
        task.backend.close()
    stats = _stats(ctx.part_files("train"))
    ctx.note(judge=info, stats=stats, synthetic=backend_is_synthetic(config.backend),
             description=f"{stats['judged']:,} rows of {scored.ref} judged by {config.backend}:{config.model} "
                         f"with {prompt.ref}")


def _stats(parts: list) -> dict:
    """Verdict counts, distinct judge calls (dedup is per shard) and agreement with the rule grader."""
    stats = {"judged": 0, "judge_calls": 0, "correct": 0, "wrong": 0, "unparseable": 0,
             "rule_agree": 0, "rule_disagree": 0}
    for part in parts:
        t = pq.read_table(open_input(part), columns=["verdict", "correct", "rule_correct", "judge_request"])
        stats["judged"] += t.num_rows
        stats["judge_calls"] += len(pc.unique(t.column("judge_request").drop_null()))
        for d in pc.value_counts(t.column("verdict").drop_null()).to_pylist():
            stats[d["values"]] = stats.get(d["values"], 0) + d["counts"]
        both = t.filter(pc.and_(pc.is_valid(t.column("correct")), pc.is_valid(t.column("rule_correct"))))
        agree = pc.sum(pc.equal(both.column("correct"), both.column("rule_correct")).cast("int64")).as_py() or 0
        stats["rule_agree"] += agree
        stats["rule_disagree"] += both.num_rows - agree
    return stats
