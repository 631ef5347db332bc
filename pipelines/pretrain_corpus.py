"""Pretraining corpus (the recipe's stage 0): procedural text that makes a model trained from scratch a *base* model.

R1 starts from DeepSeek-V3-Base, a model that has read the web: it knows arithmetic, has seen
chat turns, the R1-Zero template's words and the odd ``<think>`` tag, but was never trained to
answer in one format. This builder writes that kind of corpus about the curated problems (so
held-out eval problems, removed by ``curated``, are never seen): worked solutions mostly in
prose, a few in R1-Zero's tags or R1's readable format, some with a slip, each question
rendered through one of the recipe's prompt templates, plus pages of equations and general
Q&A. Rows are ``doc_id, text`` (the trainer renders nothing: the text is the document).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import pyarrow as pa

from factory.curate.pretrain_text import chatml, equations_doc, pick, solution
from factory.generate.templates import get_template

NAME = "pretrain-corpus"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Worked add/sub solutions in prose, tags and readable format, equations, general Q&A."}
KIND = None
PARENTS = ("curated",)


@dataclass(frozen=True)
class Config:
    n_docs: int = field(default=20_000, metadata={"help": "documents"})
    seed: int = 0
    # --- what the documents are
    kinds: dict[str, float] = field(default_factory=lambda: {"qa": 0.9, "equations": 0.05, "general": 0.05})
    styles: dict[str, float] = field(default_factory=lambda: {"prose": 0.6, "direct": 0.27, "tagged": 0.06,
                                                              "readable": 0.07},
                                     metadata={"help": "answer formats of worked solutions (no one format dominates)"})
    contexts: dict[str, float] = field(default_factory=lambda: {"bare": 0.45, "chat": 0.25, "r1_zero_chat": 0.2,
                                                                "cold_start_few_shot_tiny": 0.1},
                                       metadata={"help": "prompt template the question is rendered with"})
    follow_shots: float = field(default=0.5, metadata={"help": "share of few-shot documents answered like the shots"})
    slip_rate: float = field(default=0.2, metadata={"help": "solutions with an arithmetic slip (wrong result)"})
    long_rate: float = field(default=0.3, metadata={"help": "solutions that verify their result"})
    general_n: int = field(default=2_000, metadata={"help": "general prompts drawn for general Q&A documents"})

    def __post_init__(self) -> None:
        if self.n_docs < 1:
            raise ValueError(f"n_docs={self.n_docs}: need at least one document")


def _problems(snap) -> list[tuple[str, str | None, str]]:
    """(prompt, expression, answer) of the curated math problems; the expression (for a digit-wise
    trace) only for add/sub problems, whose other tasks get the bare answer."""
    out = []
    for row in snap.to_arrow().select(["prompt", "answer", "metadata"]).to_pylist():
        if row["answer"] is not None:
            meta = json.loads(row["metadata"] or "{}")
            out.append((row["prompt"], meta.get("expression") if meta.get("task") == "add_sub" else None, row["answer"]))
    return out


def qa_doc(rng: random.Random, config: Config, problem: tuple[str, str, str]) -> str:
    """One chat exchange: the question through a template, then a worked solution."""
    prompt, expr, answer = problem
    context = pick(rng, config.contexts)
    messages = get_template("chat" if context == "bare" else context).render({"prompt": prompt, "domain": "math"})
    if context == "bare":
        messages = [{"role": "user", "content": prompt}]
    few_shot = context.startswith("cold_start")
    style = "readable" if few_shot and rng.random() < config.follow_shots else pick(rng, config.styles)
    slip = rng.choice((-10, 10)) if rng.random() < config.slip_rate else 0
    long = few_shot or rng.random() < config.long_rate
    text = solution(expr, answer, style, slip, long) if expr else f"The answer is {answer}."
    return chatml(messages + [{"role": "assistant", "content": text}])


def build(ctx, config: Config) -> None:
    problems = _problems(ctx.parent("curated"))
    if not problems:
        raise ValueError(f"{ctx.parent('curated').ref} has no math problem with an answer to write about")
    general = ctx.stage("problems", {"source": "general", "n": config.general_n, "seed": config.seed,
                                     "options": {"zh_share": 0.0}}, name=f"{ctx.name}-general")
    refs = [(r["prompt"], json.loads(r["metadata"])["reference"]) for r in general.to_arrow().to_pylist()]
    rng = random.Random(config.seed)
    texts = []
    for _ in range(config.n_docs):
        kind = pick(rng, config.kinds)
        if kind == "equations":
            texts.append(equations_doc(rng, rng.randint(4, 10)))
        elif kind == "general":
            q, a = rng.choice(refs)
            texts.append(chatml([{"role": "user", "content": q}, {"role": "assistant", "content": a}]))
        else:
            texts.append(qa_doc(rng, config, rng.choice(problems)))
    ids = [f"doc-{config.seed}-{i}" for i in range(len(texts))]
    ctx.write("train", [pa.RecordBatch.from_pydict({"doc_id": ids, "text": texts})])
    ctx.note(stats={"documents": len(texts), "problems": len(problems), "general_prompts": len(refs)},
             description=f"{len(texts):,} procedural pretraining documents about {len(problems):,} problems")
