"""Distillation set (R1 §4): the same 800k SFT mix, plus the students and their settings.

Rows are the SFT mix's own files (hard-linked, zero copy); the manifest lists the students R1
distilled into — plain SFT, no RL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NAME = "distill"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "SFT mix + R1's student list (Qwen2.5-Math-1.5B/7B, Qwen2.5-14B/32B, Llama-3.1-8B, Llama-3.3-70B)."}
KIND = "sft_samples"
PARENTS = ("sft-mix",)

R1_STUDENTS = (
    {"name": "Qwen2.5-Math-1.5B", "base": "Qwen/Qwen2.5-Math-1.5B", "epochs": 2},
    {"name": "Qwen2.5-Math-7B", "base": "Qwen/Qwen2.5-Math-7B", "epochs": 2},
    {"name": "Qwen2.5-14B", "base": "Qwen/Qwen2.5-14B", "epochs": 2},
    {"name": "Qwen2.5-32B", "base": "Qwen/Qwen2.5-32B", "epochs": 2},
    {"name": "Llama-3.1-8B", "base": "meta-llama/Llama-3.1-8B", "epochs": 2},
    {"name": "Llama-3.3-70B-Instruct", "base": "meta-llama/Llama-3.3-70B-Instruct", "epochs": 2},
)


@dataclass(frozen=True)
class Config:
    students: tuple[dict, ...] = field(default=R1_STUDENTS, metadata={"help": "students: name, base, SFT settings"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "students", tuple(dict(s) for s in self.students))
        for s in self.students:
            if "name" not in s or "base" not in s:
                raise ValueError(f"student {s!r} needs a name and a base model path or hub id")


def build(ctx, config: Config) -> None:
    mix = ctx.parent("sft-mix")
    n = ctx.link_split("train", mix)
    ctx.note(students=list(config.students), stats={"rows": n, "students": len(config.students)},
             synthetic=bool(mix.manifest.get("synthetic")),
             description=f"distillation data: {mix.ref} for {len(config.students)} students (SFT only, no RL)")
