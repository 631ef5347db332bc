"""Pretraining from scratch on a text snapshot: an offline tokenizer, a random Qwen2, TRL's SFTTrainer as a plain LM.

``factory recipe`` needs a *base* model it can make on 2 CPU cores without a download. The
tokenizer is a byte-level BPE trained on the corpus itself, with two choices that matter:
digits and the signs ``+ - = ,`` stay single tokens (so a trace is one token per symbol, and
``=-`` is never a token of its own: carries and signs are learnable digit by digit) and merges may cross
spaces (so the recipe's long, constant prompt texts — the R1-Zero template, few-shot
examples — become a handful of tokens instead of hundreds). ChatML markers are special
tokens; the think/answer tags and R1's ``|special_token|`` are plain added tokens, so they
survive decoding with ``skip_special_tokens``. Models are Qwen2-shaped with a head dimension of
at least 32 (vLLM's CPU attention kernels reject smaller ones).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from factory.curate.pretrain_text import CHATML_TEMPLATE
from factory.store.store import Store
from trainers.common import TrainResult, build_trl_config, finish, import_trl, load_data

EOS, PAD, IM_START = "<|im_end|>", "<|endoftext|>", "<|im_start|>"
ANSWER_OPEN = IM_START + "assistant\n"
SYMBOLS = r"[-+=,]"  # each its own token, as digits are
ADDED_TOKENS = ("<think>", "</think>", "<answer>", "</answer>", "|special_token|")
# Documents are concatenated and cut into 256-token blocks ("wrapped" packing, as GPT-style pretraining does):
# no padding, so every token computed is a token learned.
DEFAULTS = {"num_train_epochs": 1, "assistant_only_loss": False, "dataset_text_field": "text", "max_length": 256,
            "packing": True, "packing_strategy": "wrapped", "gradient_checkpointing": False, "save_strategy": "no", "lr_scheduler_type": "cosine",
            "warmup_steps": 20, "weight_decay": 0.0, "logging_steps": 50}


def train_tokenizer(texts: Iterable[str], path: str | Path, vocab_size: int = 2048):
    """A byte-level BPE (single-digit tokens, merges across spaces) with a ChatML chat template, saved to ``path``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.Split(Regex(SYMBOLS), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, IM_START, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=PAD, padding_side="left",
                                   model_max_length=1024)
    fast.add_special_tokens({"additional_special_tokens": [IM_START]})
    fast.add_tokens(list(ADDED_TOKENS))  # plain tokens: decoded even with skip_special_tokens
    fast.chat_template = CHATML_TEMPLATE
    fast.save_pretrained(str(path))
    return fast


def init_model(tokenizer_dir: str | Path, path: str | Path, *, hidden: int, layers: int, heads: int,
               seed: int = 0, num_labels: int | None = None) -> Path:
    """A randomly initialised Qwen2 causal LM (or a ``num_labels`` sequence classifier) with ``tokenizer_dir``'s tokenizer."""
    import torch
    from transformers import (
        AutoTokenizer,
        GenerationConfig,
        Qwen2Config,
        Qwen2ForCausalLM,
        Qwen2ForSequenceClassification,
    )

    if hidden % heads or hidden // heads < 32:
        raise ValueError(f"hidden={hidden}, heads={heads}: head dimension {hidden / heads:g} must be a whole "
                         "number >= 32 (vLLM's CPU attention rejects smaller heads)")
    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = Qwen2Config(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=heads, intermediate_size=4 * hidden, max_position_embeddings=1024,
                         tie_word_embeddings=num_labels is None, bos_token_id=tok.pad_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                         **({"num_labels": num_labels} if num_labels else {}))
    torch.manual_seed(seed)
    model = (Qwen2ForSequenceClassification if num_labels else Qwen2ForCausalLM)(config)
    if num_labels is None:
        model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return Path(path)


def split_at_answer(text: str) -> dict[str, str]:
    """A document as prompt (up to the last assistant turn's opening) and completion (the rest).

    >>> split_at_answer("<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n3+4=7<|im_end|>\\n")["completion"]
    '3+4=7<|im_end|>\\n'
    >>> split_at_answer("1 + 2 = 3")
    {'prompt': '', 'completion': '1 + 2 = 3'}
    """
    cut = text.rfind(ANSWER_OPEN)
    cut = 0 if cut < 0 else cut + len(ANSWER_OPEN)
    return {"prompt": text[:cut], "completion": text[cut:]}


def train_pretrain(store: Store, data_ref: str, model_path: str, output_dir: str | Path,
                   trl_overrides: dict[str, Any] | None = None, *, loss_on: str = "all") -> TrainResult:
    """Language-model ``model_path`` on a text snapshot (column ``text``).

    ``loss_on="all"`` learns every token (plain pretraining); ``"answers"`` learns only what follows
    the last assistant turn's opening (questions are random digits: predicting them is noise that
    a tiny model pays for with the copying it has to learn). Documents are still packed.
    """
    from transformers import AutoTokenizer
    SFTConfig, SFTTrainer = import_trl("SFTConfig", "SFTTrainer")

    if loss_on not in ("all", "answers"):
        raise ValueError(f"loss_on={loss_on!r}: use 'all' or 'answers'")
    args = build_trl_config(SFTConfig, Path(output_dir).resolve(), DEFAULTS, trl_overrides)
    snap, dataset = load_data(store, data_ref, ("documents",), "text")
    dataset = dataset.select_columns(["text"])
    if loss_on == "answers":
        dataset = dataset.map(lambda row: split_at_answer(row["text"]), remove_columns=["text"])
    trainer = SFTTrainer(model=model_path, args=args, train_dataset=dataset,
                         processing_class=AutoTokenizer.from_pretrained(model_path))
    out = trainer.train()
    return finish(store, trainer, snap, "pretrain", model_path, metrics=out.metrics)
