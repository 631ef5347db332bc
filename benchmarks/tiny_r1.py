"""The R1 recipe in miniature on CPU: a tiny model from scratch, SFT on short reasoning traces, then GRPO.

Usage: ``python benchmarks/tiny_r1.py [--store DIR] [--sft-steps N] [--grpo-steps N] [--trace digits|direct]``

Tasks are the procedural arithmetic problems at the easiest level (two numbers up to 20),
addition and subtraction only (a multiplication table cannot be inferred for unseen pairs).
Distinct expressions are split three ways by hash: SFT traces, RL prompts, held-out. Pass@1
uses 4 samples at temperature 0.6, top-p 0.95 (R1's evaluation settings), scored by the
registry's accuracy reward, on the held-out expressions and on the RL prompts' expressions.

A model trained from scratch in minutes cannot learn English prose, so traces are short
R1-Zero-style ones and the tokenizer is character level (every digit its own token). The
default ``digits`` trace works units, tens, then combines them
(``<think>3+7=10,10+0=10,10+10=20</think><answer>20</answer>``); ``direct`` writes only the
equation. Everything goes through the project: snapshots in a store, ``train_sft`` and
``train_grpo`` (rollouts logged into a snapshot and read back by SQL for the training curve).
``--sft-data NAME`` trains SFT on an existing ``sft_samples`` snapshot instead.

What was measured (shared 2-core machine; see the report for the latest numbers): the
digit trace is what makes held-out expressions learnable (0.43 pass@1 with ``direct``
traces vs 0.73-0.90 with ``digits``). GRPO reliably raises accuracy on its own prompts
(e.g. 0.88 -> 0.95) but transfers to unseen expressions only weakly, and only for the
128x4 model at lr 1e-4: with the 64x2 model or lr 3e-4 it memorizes its 174 expressions
and held-out pass@1 drops (the universe has only ~800 distinct +/- expressions).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import polars as pl
import pyarrow as pa

CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ +-*/=()$.,?:\\{}_^\n"
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def make_tokenizer(path: Path):
    """Character-level tokenizer (no merges) with ChatML and single-token think/answer tags."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, **{c: i + 1 for i, c in enumerate(CHARS)}}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<|endoftext|>",
                                   eos_token="<|im_end|>", padding_side="left", model_max_length=256)
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    # Tags and chat roles as single tokens: shorter sequences, and the format is one token away.
    fast.add_tokens(["<think>", "</think>", "<answer>", "</answer>", "user", "assistant"])
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(path))
    return fast


def make_model(path: Path, *, hidden: int, layers: int, seed: int) -> Path:
    """A randomly initialised Qwen2 causal LM (from scratch) with the char tokenizer."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tok = make_tokenizer(path)
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                         num_key_value_heads=4, intermediate_size=4 * hidden, max_position_embeddings=256,
                         tie_word_embeddings=True, bos_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model.save_pretrained(str(path))
    return path


def problems(n: int, seed: int) -> pl.DataFrame:
    """Level-1 procedural arithmetic, + and - only, with the bare expression in ``expr``."""
    from factory.sources import source_from_spec

    src = source_from_spec(f"procedural:n={n},seed={seed},tasks=arithmetic,languages=en,code_share=0")
    df = pl.from_arrow(pa.Table.from_batches(list(src.batches())))
    df = df.with_columns(expr=pl.col("metadata").str.extract(r'"expression": "([^"]*)"'))
    return df.filter((pl.col("difficulty") == 1) & ~pl.col("expr").str.contains(r"\*"))


def split(df: pl.DataFrame, rl_share: float, eval_share: float, eval_n: int) -> tuple[pl.DataFrame, ...]:
    """Disjoint expression sets by hash: SFT, RL prompts, held-out (one row per held-out expression).

    RL gets its own prompts, as in R1 (reasoning RL on prompts, SFT data for the cold start):
    on the SFT prompts the SFT model is already always right, and a group whose samples all
    get the same reward teaches GRPO nothing.
    """
    bucket = df["expr"].map_elements(lambda e: int(hashlib.sha256(e.encode()).hexdigest()[:8], 16) / 2**32,
                                     return_dtype=pl.Float64)
    held = df.filter(bucket < eval_share).unique("expr", keep="first", maintain_order=True).head(eval_n)
    rl = df.filter((bucket >= eval_share) & (bucket < eval_share + rl_share))
    return df.filter(bucket >= eval_share + rl_share), rl, held


def trace(expr: str, answer: str, style: str = "digits") -> str:
    """A short R1-Zero-style trace. ``digits``: units, tens, then combine; ``direct``: the bare equation.

    >>> trace("13 + 7", "20")
    '<think>3+7=10,10+0=10,10+10=20</think><answer>20</answer>'
    >>> trace("4 - 17", "-13")
    '<think>4-7=-3,0-10=-10,-10-3=-13</think><answer>-13</answer>'
    >>> trace("13 + 7", "20", "direct")
    '<think>13+7=20</think><answer>20</answer>'
    """
    if style == "direct":
        return f"<think>{expr.replace(' ', '')}={answer}</think><answer>{answer}</answer>"
    a, op, b = expr.split()
    (ta, ua), (tb, ub) = divmod(int(a), 10), divmod(int(b), 10)
    sign = 1 if op == "+" else -1
    units, tens = ua + sign * ub, 10 * (ta + sign * tb)
    if tens + units != int(answer):
        raise ValueError(f"{expr} = {answer}: the digit trace disagrees with the gold")
    combine = f"{tens}+{units}" if units >= 0 else f"{tens}-{-units}"
    return f"<think>{ua}{op}{ub}={units},{10 * ta}{op}{10 * tb}={tens},{combine}={answer}</think><answer>{answer}</answer>"


def write(store, name: str, kind: str, rows: list[dict], config: dict):
    from factory.store.ids import snapshot_id

    id_ = snapshot_id(f"tiny-r1-{kind}", "1.0.0", config)
    if store.find(name, id_) is not None:
        return store.find(name, id_)
    with store.begin(name, id_, kind=kind) as sb:
        sb.write("train", [pa.RecordBatch.from_pylist(rows)])
        return sb.commit(builder="benchmarks.tiny_r1", builder_version="1.0.0", config=config, synthetic=True)


def write_data(store, sft_df: pl.DataFrame, rl_df: pl.DataFrame, seed: int, style: str) -> tuple[str, str]:
    """The SFT traces and the RL prompts as snapshots; returns their refs."""
    sft = [{"sample_id": f"t{i}", "problem_id": r["problem_id"], "category": "reasoning", "has_cot": True,
            "messages": [{"role": "user", "content": r["prompt"]},
                         {"role": "assistant", "content": trace(r["expr"], r["answer"], style)}]}
           for i, r in enumerate(sft_df.iter_rows(named=True))]
    rl = [{"problem_id": r["problem_id"], "prompt": [{"role": "user", "content": r["prompt"]}], "answer": r["answer"],
           "domain": "math", "language": "en", "reward_type": "rule"} for r in rl_df.iter_rows(named=True)]
    sft_snap = write(store, "tiny-r1-sft", "sft_samples", sft, {"n": len(sft), "seed": seed, "trace": style})
    return sft_snap.ref, write(store, "tiny-r1-rl", "rl_prompts", rl, {"n": len(rl), "seed": seed}).ref


def evaluate(model: str, held: pl.DataFrame, k: int = 4, temperature: float = 0.6, seed: int = 0) -> dict:
    """Held-out pass@1 (mean accuracy over k samples), its standard error over problems, and format rate."""
    from factory.generate.backends.base import Request, SamplingParams
    from factory.generate.backends.hf_transformers import TransformersBackend
    from factory.rewards import get_reward

    backend = TransformersBackend(model, device="cpu", dtype="float32", batch_size=64)
    reqs = [Request(id=r["problem_id"], messages=[{"role": "user", "content": r["prompt"]}])
            for r in held.iter_rows(named=True)]
    samples = backend.generate(reqs, SamplingParams(n=k, temperature=temperature, top_p=0.95, max_tokens=48, seed=seed))
    backend.close()
    texts = [s.text for group in samples for s in group]
    acc = get_reward("accuracy")(texts, answer=[a for a in held["answer"].to_list() for _ in range(k)])
    per_problem = [sum(acc[i:i + k]) / k for i in range(0, len(acc), k)]
    mean = sum(per_problem) / len(per_problem)
    se = (sum((x - mean) ** 2 for x in per_problem) / max(1, len(per_problem) - 1) / len(per_problem)) ** 0.5
    fmt = get_reward("format")(texts)
    return {"pass@1": mean, "se": se, "format": sum(fmt) / len(fmt), "example": texts[0]}


def sft_overrides(args: argparse.Namespace) -> dict:
    return {"max_steps": args.sft_steps, "per_device_train_batch_size": 32, "learning_rate": args.sft_lr,
            "lr_scheduler_type": "cosine", "warmup_steps": 50, "weight_decay": 0.0, "max_grad_norm": 1.0,
            "gradient_checkpointing": False, "logging_steps": 100, "save_strategy": "no", "max_length": 128,
            "seed": args.seed}


def grpo_overrides(args: argparse.Namespace) -> dict:
    """R1's recipe at toy scale: TRL defaults (temperature 1.0, no KL) and a group of 8."""
    return {"max_steps": args.grpo_steps, "num_generations": 8, "per_device_train_batch_size": 64,
            "max_completion_length": 40, "learning_rate": args.grpo_lr, "gradient_checkpointing": False,
            "logging_steps": 10, "save_strategy": "no", "seed": args.seed}


def record(table: list, stage: str, model: str, evals: dict[str, pl.DataFrame], started: float) -> None:
    """Evaluate ``model`` on each eval set; one table row per stage."""
    secs = time.perf_counter() - started
    res = {name: evaluate(model, df) for name, df in evals.items()}
    table.append((stage, res, secs))
    print(f"== {stage}: " + "; ".join(f"{n} pass@1 {r['pass@1']:.3f} ± {r['se']:.3f}" for n, r in res.items()),
          flush=True)


def print_report(table: list, total: float, store, rollouts_ref: str, steps: int) -> None:
    import torch

    from factory.sql.query import query_rows

    print(f"\n{'stage':<26} {'held-out pass@1':>16} {'RL-prompts pass@1':>18} {'format':>7} {'train s':>8}  "
          f"first held-out sample")
    for stage, res, secs in table:
        held, rl = res["held-out"], res["RL prompts"]
        print(f"{stage:<26} {held['pass@1']:>9.3f} ±{held['se']:.3f} {rl['pass@1']:>11.3f} ±{rl['se']:.3f} "
              f"{held['format']:>7.3f} {secs:>8.0f}  {held['example'][:44]!r}")
    print(f"total {total:.0f} s wall, torch threads {torch.get_num_threads()}")
    name = store.get(rollouts_ref).name
    _, rows, _ = query_rows(store, f'select (step - 1) // {max(1, steps // 5)}, min(step), avg(reward_accuracy), '
                                   f'avg(completion_tokens) from "{name}" group by 1 order by 1', limit=20)
    print(f"\nGRPO training curve (SQL over {rollouts_ref}): RL-prompt accuracy and completion tokens")
    for _, first, acc, tokens in rows:
        print(f"  steps {first:>4}+: accuracy {acc:.3f}, tokens {tokens:.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default=None, help="store folder (default: a temporary one)")
    p.add_argument("--n", type=int, default=60_000, help="procedural problems drawn (about 13%% are used)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--sft-steps", type=int, default=600)
    p.add_argument("--sft-lr", type=float, default=3e-3)
    p.add_argument("--grpo-steps", type=int, default=600)
    p.add_argument("--grpo-lr", type=float, default=1e-4)
    p.add_argument("--eval-n", type=int, default=200)
    p.add_argument("--trace", choices=("digits", "direct"), default="digits", help="SFT trace style")
    p.add_argument("--sft-data", default=None, help="an existing sft_samples snapshot to use for SFT")
    args = p.parse_args()

    import torch

    from factory.store.store import Store
    from trainers.grpo import train_grpo
    from trainers.sft import train_sft

    torch.set_num_threads(2)
    work = Path(tempfile.mkdtemp(prefix="tiny-r1-"))
    store = Store(args.store or work / "store")
    sft_df, rl_df, held = split(problems(args.n, args.seed), 0.2, 0.2, args.eval_n)
    sft_ref, rl_ref = write_data(store, sft_df, rl_df, args.seed, args.trace)
    print(f"SFT {sft_df.height} rows ({sft_df['expr'].n_unique()} expressions), RL {rl_df.height} prompts "
          f"({rl_df['expr'].n_unique()}), held-out {held.height}; data {sft_ref}, {rl_ref}; work {work}", flush=True)
    evals = {"held-out": held, "RL prompts": rl_df.unique("expr", keep="first", maintain_order=True).head(args.eval_n)}
    table, t0 = [], time.perf_counter()
    base = str(make_model(work / "base", hidden=args.hidden, layers=args.layers, seed=args.seed))
    record(table, "from scratch", base, evals, t0)
    t = time.perf_counter()
    sft = train_sft(store, args.sft_data or sft_ref, base, work / "sft", sft_overrides(args))
    record(table, f"after SFT ({args.sft_steps} steps)", str(sft.output_dir), evals, t)
    t = time.perf_counter()
    grpo = train_grpo(store, rl_ref, str(sft.output_dir), work / "grpo", "accuracy,format", grpo_overrides(args))
    record(table, f"after GRPO ({args.grpo_steps} steps)", str(grpo.output_dir), evals, t)
    print_report(table, time.perf_counter() - t0, store, grpo.rollouts_ref, args.grpo_steps)


if __name__ == "__main__":
    main()
