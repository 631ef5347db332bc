"""Non-reasoning SFT set (R1 §2.3.3, ~200k): writing, factual QA, translation, simple queries, self-cognition.

A teacher answers each prompt, writing a CoT first for some prompts and none for simple
queries ("hello"); self-cognition answers come from a template with the model's name, never
from the teacher (a teacher would name itself).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from factory.curate.sft_format import sft_batch
from factory.generate.backends.base import backend_is_synthetic
from factory.generate.generation import GenerateConfig
from factory.sources.general import GeneralConfig, GeneralSource
from factory.sql.filters import rejects_of, row_keys, run_model, select_rows

NAME = "non-reasoning"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Teacher answers with CoT for some prompts, template self-cognition, SQL filter."}
KIND = "sft_samples"
PARENTS: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    # --- size and mix (R1: about 200k non-reasoning samples)
    target: int = field(default=200_000, metadata={"help": "prompts to answer (before filtering)"})
    mix: dict[str, float] = field(default_factory=lambda: dict(GeneralConfig().mix), metadata={"help": "category shares"})
    zh_share: float = 0.3
    cot_share: float = field(default=0.5, metadata={"help": "share of writing/QA/translation prompts given a CoT"})
    # --- self-cognition
    model_name: str = field(default="R1-Factory", metadata={"help": "the name the model gives itself"})
    developer: str = "the r1-factory team"
    seed: int = 0
    # --- the teacher (R1 used DeepSeek-V3)
    generate: GenerateConfig = field(default_factory=lambda: GenerateConfig(
        backend="scripted_general", model="scripted-general", samples_per_prompt=1, max_tokens=4096))


def _general(config: Config, categories: dict[str, float], n: int) -> dict:
    total = sum(categories.values())
    return {"source": "general", "n": max(n, 1), "seed": config.seed,
            "options": {"mix": {k: v / total for k, v in categories.items()}, "zh_share": config.zh_share,
                        "cot_share": config.cot_share, "model_name": config.model_name, "developer": config.developer}}


def build(ctx, config: Config) -> None:
    n_self = round(config.target * config.mix.get("self_cognition", 0.0))
    others = {k: v for k, v in config.mix.items() if k != "self_cognition" and v > 0}
    prompts = ctx.stage("problems", _general(config, others, config.target - n_self), name=f"{ctx.name}-prompts")
    rollouts = ctx.stage("rollouts", config.generate, name=f"{ctx.name}-rollouts", parents={"problems": prompts.ref})
    decisions, sql = run_model("non_reasoning_filter", {"rollouts": rollouts}, {})
    ctx.write_rejects(rejects_of(decisions))
    keys = row_keys(decisions.filter(decisions.column("reason").is_null()))

    def batches():
        for b in select_rows(rollouts, keys):
            has_cot = pc.fill_null(pc.match_substring(b.column("completion"), "</think>"), False)
            yield sft_batch(b, category=b.column("domain"), has_cot=has_cot)
        if n_self:
            gen = GeneralSource(**{**_general(config, {"self_cognition": 1.0}, n_self)["options"], "n": n_self,
                                   "seed": config.seed + 1})
            for b in gen.batches():
                refs = pa.array([json.loads(m)["reference"] for m in b.column("metadata").to_pylist()])
                yield sft_batch(b.append_column("completion", refs), category="self_cognition", source="template",
                                has_cot=False)

    ctx.write("train", batches())
    ctx.note(queries={"non_reasoning_filter": sql},
             stats={"prompts": prompts.num_rows, "self_cognition": n_self, "kept_generated": len(keys)},
             synthetic=backend_is_synthetic(config.generate.backend),
             description=f"non-reasoning SFT samples answered by {config.generate.backend}:{config.generate.model}")
