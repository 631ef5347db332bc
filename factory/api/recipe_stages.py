"""The stages of `factory recipe`, in order: one :class:`Stage` entry each (adding a stage is adding an entry).

Data stages call builders (``ctx.build`` = ``run_build``); model stages call the trainers and
return the model folder, whose ``factory_manifest.json`` names the snapshot it was trained on;
generation stages pass that folder as the builder's ``--model``, so every generated snapshot
names the checkpoint that wrote it. Each model stage is followed by an ``eval-<model>`` stage
(the eval builder, with the prompt template the checkpoint was trained on).
"""

from __future__ import annotations

from typing import Any

from factory.api.recipe import RecipeContext, Stage
from factory.generate.generation import GenerateConfig
from factory.rewards.readability import ReadabilityConfig
from factory.rewards.scoring import ScoreConfig

HELDOUT = "procedural-heldout"
TASK = {"tasks": "add_sub", "languages": "en", "code_share": 0.0}  # what a from-scratch model learns on 2 cores
HELDOUT_CONFIG = {"heldout_seed": 12345, "heldout_options": TASK}
R1_ZERO_TEMPLATE = "r1_zero_chat"


def _gen(ctx: RecipeContext, model: str, template: str, *, n: int, temperature: float = 0.6, top_p: float = 0.95,
         backend: str | None = None, limit: int | None = None, teacher_options: dict | None = None) -> GenerateConfig:
    p = ctx.preset
    if p.teacher and teacher_options is not None:  # smoke: the scripted teacher stands in for the checkpoint
        return GenerateConfig(backend="scripted", model=p.teacher, template=template, samples_per_prompt=n,
                              max_tokens=4096, seed=p.seed, limit=limit, backend_options=teacher_options)
    return GenerateConfig(backend=backend or ctx.backend, model=model, template=template, samples_per_prompt=n,
                          temperature=temperature, top_p=top_p, max_tokens=p.completion_tokens, seed=p.seed,
                          limit=limit)


def _sft_overrides(ctx: RecipeContext, stage: str, epochs: float | None = None) -> dict[str, Any]:
    p = ctx.preset
    return {"num_train_epochs": epochs or p.sft_epochs, "per_device_train_batch_size": 32, "learning_rate": p.sft_lr,
            "lr_scheduler_type": "cosine", "warmup_steps": 10, "weight_decay": 0.0, "max_length": 256,
            "gradient_checkpointing": False, "logging_steps": 25, "save_strategy": "no", "seed": p.seed,
            "run_name": f"recipe-{p.name}-{stage}"}


def _grpo_overrides(ctx: RecipeContext, stage: str) -> dict[str, Any]:
    """R1's GRPO at toy scale: no KL (TRL's default), a group of ``preset.group``, rollouts at the preset's sampling."""
    p = ctx.preset
    return {"max_steps": p.grpo_steps, "num_generations": p.group, "per_device_train_batch_size": p.grpo_batch,
            "temperature": p.rollout_temperature, "top_p": p.rollout_top_p,
            "max_completion_length": p.completion_tokens, "learning_rate": p.grpo_lr, "gradient_checkpointing": False,
            "logging_steps": 10, "save_strategy": "no", "seed": p.seed, "run_name": f"recipe-{p.name}-{stage}"}


# --- data --------------------------------------------------------------------------------------

def problems(ctx: RecipeContext) -> str:
    return ctx.build("problems", {"n": ctx.preset.problems, "seed": ctx.preset.seed, "options": TASK})


def curated(ctx: RecipeContext) -> str:
    return ctx.build("curated", {"decontaminate_against": [HELDOUT], "heldout_n": ctx.preset.heldout_n,
                                 **HELDOUT_CONFIG}, parents={"problems": ctx.out("problems")})


def corpus(ctx: RecipeContext) -> str:
    return ctx.build("pretrain-corpus", {"n_docs": ctx.preset.corpus_docs, "seed": ctx.preset.seed, **ctx.preset.corpus},
                     parents={"curated": ctx.out("curated")})


def difficulty(policy: str, template: str):
    """The `difficulty` builder under ``policy``: k = group samples of each prompt, sampled as GRPO's rollouts are.

    The RL stage after it keeps only prompts the policy solves sometimes (``0 < n_correct < k``):
    a group whose k rewards are equal has zero advantage and teaches GRPO nothing. Prompts are
    rendered with the RL stage's own ``template``, so the pass rate is the one GRPO will see.
    """
    def run(ctx: RecipeContext) -> str:
        from pipelines.difficulty import Config

        p = ctx.preset
        gen = _gen(ctx, ctx.out(policy), template, n=p.group, temperature=p.rollout_temperature,
                   top_p=p.rollout_top_p, limit=p.difficulty_prompts, teacher_options={"wrong_rate": 0.5})
        return ctx.build("difficulty", Config(generate=gen, policy_revision=policy), name=f"difficulty-{policy}",
                         parents={"curated": ctx.out("curated")}, backend=gen.backend)
    return run


def _by_pass_rate(ctx: RecipeContext, table_stage: str) -> dict[str, Any]:
    """The RL prompt builders' filter: the pinned difficulty table, default predicate, unmeasured prompts dropped."""
    return {"enabled": True, "table": ctx.out(table_stage), "keep_unmeasured": False}


def r1_zero_prompts(ctx: RecipeContext) -> str:
    """R1-Zero's template as a chat turn (the form the corpus and the eval use), curated by the base's pass rate."""
    return ctx.build("r1-zero", {"domains": ["math"], "template": R1_ZERO_TEMPLATE,
                                 "difficulty": _by_pass_rate(ctx, "difficulty-base")},
                     parents={"curated": ctx.out("curated")})


def cold_start(ctx: RecipeContext) -> str:
    """R1 §2.3.1: few-shot long-CoT prompting of the R1-Zero checkpoint, kept only in the readable format."""
    from pipelines.cold_start import Config

    p = ctx.preset
    score = ScoreConfig(rewards=("accuracy", "format", "language"), format_template="readable",
                        readability=ReadabilityConfig(require_markdown=True, min_language_consistency=None))
    gen = _gen(ctx, ctx.out("r1-zero"), "cold_start_few_shot_tiny", n=p.samples, temperature=p.rollout_temperature,
               top_p=p.rollout_top_p, teacher_options={"style": "readable"})
    return ctx.build("cold-start", Config(n_prompts=p.cold_start_prompts, target=p.cold_start_prompts, seed=p.seed,
                                          generate=gen, score=score), parents={"curated": ctx.out("curated")},
                     backend=gen.backend)


def reasoning_prompts(ctx: RecipeContext) -> str:
    """The R1-Zero prompts again, as chat turns: after SFT the policy answers chat prompts (R1 §2.3.2)."""
    return ctx.build("r1-zero", {"domains": ["math"], "template": "chat",
                                 "difficulty": _by_pass_rate(ctx, "difficulty-sft-cold-start")},
                     name="reasoning-rl-prompts", parents={"curated": ctx.out("curated")})


def reasoning(ctx: RecipeContext) -> str:
    """R1 §2.3.3: rejection sampling from the reasoning-RL checkpoint (several samples, keep correct, readable)."""
    from pipelines.reasoning import Config

    p = ctx.preset
    gen = _gen(ctx, ctx.out("reasoning-rl"), "chat", n=p.samples, temperature=0.8, limit=p.reasoning_prompts,
               teacher_options={})
    return ctx.build("reasoning", Config(target=p.reasoning_prompts * p.samples, max_per_problem=2, generate=gen,
                                         max_completion_tokens=gen.max_tokens, seed=p.seed),
                     parents={"curated": ctx.out("curated")}, backend=gen.backend)


def non_reasoning(ctx: RecipeContext) -> str:
    return ctx.build("non-reasoning", {"target": ctx.preset.non_reasoning, "zh_share": 0.0, "seed": ctx.preset.seed})


def sft_mix(ctx: RecipeContext) -> str:
    return ctx.build("sft-mix", {"seed": ctx.preset.seed},
                     parents={"reasoning": ctx.out("reasoning"), "non-reasoning": ctx.out("non-reasoning")})


def preference_pairs(ctx: RecipeContext) -> str:
    return ctx.build("preference-pairs", {"max_pairs": 4 * ctx.preset.non_reasoning},
                     parents={"non-reasoning": ctx.out("non-reasoning")})


def rl_mix(ctx: RecipeContext) -> str:
    return ctx.build("rl-mix", {"domains": ["math"], "general_share": 0.3,
                                "difficulty": _by_pass_rate(ctx, "difficulty-sft-mix-base")},
                     parents={"curated": ctx.out("curated"), "non-reasoning": ctx.out("non-reasoning")})


def distill_data(ctx: RecipeContext) -> str:
    student = {"name": "recipe-student", "base": ctx.out("student-base"), "model": ctx.out("student-base")}
    return ctx.build("distill", {"students": [student]}, parents={"sft-mix": ctx.out("sft-mix")})


# --- models ------------------------------------------------------------------------------------

def _pretrain(ctx: RecipeContext, stage: str, shape: tuple[int, int, int], steps: int) -> str:
    from trainers.pretrain import init_model, train_pretrain, train_tokenizer

    p = ctx.preset
    tok_dir = ctx.work / "tokenizer"
    if not (tok_dir / "tokenizer.json").exists():
        texts = ctx.store.get(ctx.out("corpus")).to_arrow().column("text").to_pylist()
        train_tokenizer(texts, tok_dir, p.vocab)
    hidden, layers, heads = shape
    init = init_model(tok_dir, ctx.work / "init" / stage, hidden=hidden, layers=layers, heads=heads, seed=p.seed)
    overrides = {"max_steps": steps, "per_device_train_batch_size": 16, "learning_rate": p.pretrain_lr,
                 "seed": p.seed, "run_name": f"recipe-{p.name}-{stage}"}
    return str(train_pretrain(ctx.store, ctx.out("corpus"), str(init), ctx.model_dir(stage), overrides,
                              loss_on=p.pretrain_loss).output_dir)


def _grpo(ctx: RecipeContext, stage: str, data: str, model: str, rewards: str, **kw: Any) -> str:
    from trainers.grpo import train_grpo

    return str(train_grpo(ctx.store, ctx.out(data), ctx.out(model), ctx.model_dir(stage), rewards,
                          _grpo_overrides(ctx, stage), **kw).output_dir)


def _sft(ctx: RecipeContext, stage: str, data: str, model: str) -> str:
    from trainers.sft import train_sft

    return str(train_sft(ctx.store, ctx.out(data), ctx.out(model), ctx.model_dir(stage),
                         _sft_overrides(ctx, stage)).output_dir)


def reward_model(ctx: RecipeContext) -> str:
    from trainers.pretrain import init_model
    from trainers.reward import train_reward_model

    p = ctx.preset
    hidden, layers, heads = p.reward_model
    init = init_model(ctx.work / "tokenizer", ctx.work / "init" / "reward-model", hidden=hidden, layers=layers,
                      heads=heads, seed=p.seed, num_labels=1)
    return str(train_reward_model(ctx.store, ctx.out("preference-pairs"), str(init), ctx.model_dir("reward-model"),
                                  {"max_steps": p.rm_steps, "seed": p.seed}).output_dir)


def student_distill(ctx: RecipeContext) -> str:
    """R1 §4: plain SFT of the small student on the distill snapshot (the same mix), no RL."""
    from trainers.distill import train_distill

    return str(train_distill(ctx.store, ctx.out("distill"), "recipe-student", ctx.model_dir("student-distill"),
                             _sft_overrides(ctx, "student-distill")).output_dir)


def evaluate(model_stage: str, template: str):
    """The eval builder on ``model_stage``'s checkpoint: k samples of each held-out problem at temperature 0.6."""
    def run(ctx: RecipeContext) -> str:
        p = ctx.preset
        cfg = {"benchmarks": [HELDOUT], "heldout_n": p.heldout_n, **HELDOUT_CONFIG, "k": p.eval_k,
               "generate": {**_gen(ctx, ctx.out(model_stage), template, n=p.eval_k, backend=ctx.eval_backend).__dict__},
               "score": {"rewards": ["accuracy", "format"], "format_template": "auto", "readability": None}}
        return ctx.build("eval", cfg, name=f"eval-{model_stage}", backend=ctx.eval_backend)
    return run


MODELS = [
    Stage("base", ("corpus",), lambda c: _pretrain(c, "base", c.preset.base, c.preset.pretrain_steps),
          "pretrain the base from scratch on the corpus", R1_ZERO_TEMPLATE),
    Stage("student-base", ("corpus", "base"), lambda c: _pretrain(c, "student-base", c.preset.student,
                                                                      c.preset.student_steps),
          "pretrain the smaller student base", R1_ZERO_TEMPLATE),
    Stage("r1-zero", ("r1-zero-prompts", "base"),
          lambda c: _grpo(c, "r1-zero", "r1-zero-prompts", "base", "accuracy,format"),
          "R1-Zero: GRPO of the base on r1-zero, rule rewards only (accuracy + format)", R1_ZERO_TEMPLATE),
]
STAGES: list[Stage] = [
    Stage("problems", (), problems, "procedural add/sub problems"),
    Stage("curated", ("problems",), curated, "dedup + decontaminate against the held-out set"),
    Stage("corpus", ("curated",), corpus, "procedural pretraining corpus"),
    *MODELS[:2],
    Stage("difficulty-base", ("curated", "base"), difficulty("base", R1_ZERO_TEMPLATE),
          "pass rates of the R1-Zero prompts under the base"),
    Stage("r1-zero-prompts", ("curated", "difficulty-base"), r1_zero_prompts,
          "R1-Zero RL prompts the base solves sometimes"),
    MODELS[2],
    Stage("student-rl", ("r1-zero-prompts", "student-base"),
          lambda c: _grpo(c, "student-rl", "r1-zero-prompts", "student-base", "accuracy,format"),
          "the student trained by RL alone (GRPO on r1-zero), to compare with distilling it", R1_ZERO_TEMPLATE),
    Stage("cold-start", ("r1-zero", "curated"), cold_start, "cold start: few-shot prompting of the R1-Zero model"),
    Stage("sft-cold-start", ("cold-start", "base"), lambda c: _sft(c, "sft-cold-start", "cold-start", "base"),
          "SFT of the base on the cold start", "chat"),
    Stage("difficulty-sft-cold-start", ("curated", "sft-cold-start"), difficulty("sft-cold-start", "chat"),
          "pass rates of the reasoning RL prompts under the cold-start SFT model"),
    Stage("reasoning-rl-prompts", ("curated", "difficulty-sft-cold-start"), reasoning_prompts,
          "reasoning RL prompts (chat) the cold-start model solves sometimes"),
    Stage("reasoning-rl", ("reasoning-rl-prompts", "sft-cold-start"),
          lambda c: _grpo(c, "reasoning-rl", "reasoning-rl-prompts", "sft-cold-start", "accuracy,language"),
          "reasoning RL: GRPO, accuracy + language consistency", "chat"),
    Stage("reasoning", ("reasoning-rl", "curated"), reasoning, "rejection sampling with the reasoning-RL model"),
    Stage("non-reasoning", (), non_reasoning, "non-reasoning set (scripted general teacher)"),
    Stage("sft-mix", ("reasoning", "non-reasoning"), sft_mix, "SFT mix = reasoning + non-reasoning"),
    Stage("sft-mix-base", ("sft-mix", "base"), lambda c: _sft(c, "sft-mix-base", "sft-mix", "base"),
          "SFT of the base for 2 epochs on the mix", "chat"),
    Stage("preference-pairs", ("non-reasoning",), preference_pairs, "preference pairs for the reward model"),
    Stage("reward-model", ("preference-pairs", "corpus"), reward_model, "reward model from scratch (Bradley-Terry)"),
    Stage("difficulty-sft-mix-base", ("curated", "sft-mix-base"), difficulty("sft-mix-base", "chat"),
          "pass rates of the all-scenario RL prompts under the SFT-mix model"),
    Stage("rl-mix", ("curated", "non-reasoning", "difficulty-sft-mix-base"), rl_mix,
          "all-scenario RL prompts (reasoning ones the SFT-mix model solves sometimes)"),
    Stage("all-scenario", ("rl-mix", "sft-mix-base", "reward-model"),
          lambda c: _grpo(c, "all-scenario", "rl-mix", "sft-mix-base", "accuracy,language",
                          reward_model=c.out("reward-model")),
          "all-scenario GRPO: rule rewards + reward model", "chat"),
    Stage("distill", ("sft-mix", "student-base"), distill_data, "distillation set for the student"),
    Stage("student-distill", ("distill",), student_distill, "student SFT on the distill set (no RL)", "chat"),
]
# Each checkpoint is evaluated right after it is trained: a run that stops later still reports it.
STAGES = [e for s in STAGES for e in [s, *([Stage(f"eval-{s.name}", (s.name, "curated"), evaluate(s.name, s.eval_template),
                                                  f"eval builder on {s.name}")] if s.eval_template else [])]]
