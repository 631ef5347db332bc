"""Tiny Qwen2-style models and tokenizers built offline, so tests never download weights.

Everything here is made from scratch in well under a second: a byte-level BPE tokenizer
trained in memory on a few hundred strings (English, Chinese, math and code, so any text
round-trips), a ChatML chat template, and randomly initialised 2-layer Qwen2 models
(a causal LM for generation/SFT/GRPO tests, a 1-label sequence classifier for reward-model
tests). Weights are random but seeded, so outputs are deterministic.

Typical use in a test::

    from tests.support.tiny_models import make_tiny_causal_lm
    model_dir = make_tiny_causal_lm(tmp_path / "lm")   # a folder usable by from_pretrained
"""

from __future__ import annotations

from pathlib import Path

# ChatML, as used by Qwen2 instruct models; `add_generation_prompt` opens an assistant turn.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"
SPECIAL_TOKENS = (PAD_TOKEN, "<|im_start|>", EOS_TOKEN)
# Plain (non-special) added tokens, so think tags survive decoding with skip_special_tokens.
ADDED_TOKENS = ("<think>", "</think>", "<answer>", "</answer>", "|special_token|")
VOCAB_SIZE = 512
SEED = 1234

_CORPUS_EN = (
    "Let me think step by step about the problem.",
    "Wait, let me check the calculation again.",
    "Hmm, let me verify this again.",
    "So the answer is \\boxed{42}.",
    "Solve for x: 3x + 5 = 20, so x = 5.",
    "The sum of the interior angles of a hexagon is 720 degrees.",
    "def solve(n):\n    return sum(range(n + 1))\n\nprint(solve(10))",
    "A conversation between User and Assistant. The user asks a question.",
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "The quick brown fox jumps over the lazy dog 0123456789.",
)
_CORPUS_ZH = (
    "让我一步一步地思考这个问题。",
    "等等，让我再检查一下计算。",
    "所以答案是 \\boxed{42}。",
    "解方程：3x + 5 = 20，所以 x = 5。",
    "六边形的内角和是720度。",
)


def _training_corpus() -> list[str]:
    """A few hundred short strings covering the characters tests are likely to use."""
    lines = list(_CORPUS_EN) + list(_CORPUS_ZH)
    lines += [f"{a} + {b} = {a + b}" for a in range(12) for b in range(12)]
    lines += [f"<think> step {i} </think> <answer> {i * 7} </answer>" for i in range(40)]
    return lines * 2


def make_tiny_tokenizer(path: str | Path | None = None):
    """Build a byte-level BPE tokenizer with a ChatML chat template.

    Args:
        path: when given, the tokenizer is also saved there with ``save_pretrained``.

    Returns:
        A ``transformers.PreTrainedTokenizerFast`` with ``eos_token="<|im_end|>"``,
        ``pad_token="<|endoftext|>"`` and left padding (what batched generation needs).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: any text encodes
        show_progress=False,
    )
    tok.train_from_iterator(_training_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        padding_side="left",
        model_max_length=4096,
    )
    fast.add_tokens(list(ADDED_TOKENS))
    fast.chat_template = CHAT_TEMPLATE
    if path is not None:
        fast.save_pretrained(str(path))
    return fast


def _tiny_config(tokenizer, **overrides):
    from transformers import Qwen2Config

    settings = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids(PAD_TOKEN),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    settings.update(overrides)
    return Qwen2Config(**settings)


# vLLM's CPU attention kernels take head sizes of 32 and up; the default shape (64 / 4 heads)
# has 16, so models for the real vLLM engine use 2 heads of 32.
VLLM_CPU_SHAPE = {"num_attention_heads": 2, "num_key_value_heads": 1}


def make_tiny_causal_lm(path: str | Path, *, seed: int = SEED, **config: object) -> Path:
    """Save a random 2-layer ``Qwen2ForCausalLM`` and its tokenizer to ``path``.

    Args:
        path: output folder (created); loadable with ``AutoModelForCausalLM.from_pretrained``.
        seed: torch seed for the random weights.
        **config: ``Qwen2Config`` overrides (``**VLLM_CPU_SHAPE`` for the vLLM CPU engine).

    Returns:
        ``path`` as a ``Path``.
    """
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    path = Path(path)
    tokenizer = make_tiny_tokenizer(path)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(_tiny_config(tokenizer, **config))
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(str(path))
    return path


def make_tiny_reward_model(path: str | Path, *, seed: int = SEED) -> Path:
    """Save a random ``Qwen2ForSequenceClassification`` (``num_labels=1``) and tokenizer.

    The single logit is the scalar reward, as TRL's reward models expect.

    Args:
        path: output folder (created); loadable with
            ``AutoModelForSequenceClassification.from_pretrained``.
        seed: torch seed for the random weights.

    Returns:
        ``path`` as a ``Path``.
    """
    import torch
    from transformers import Qwen2ForSequenceClassification

    path = Path(path)
    tokenizer = make_tiny_tokenizer(path)
    torch.manual_seed(seed)
    model = Qwen2ForSequenceClassification(_tiny_config(tokenizer, num_labels=1))
    model.save_pretrained(str(path))
    return path
