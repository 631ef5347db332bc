"""Local generation with Hugging Face transformers, for CPU runs, small models and tests.

Slower than vLLM by orders of magnitude, but needs nothing beyond ``transformers`` and works
on a laptop: batched, left-padded, chat-templated generation with ``n`` samples per prompt.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from factory.errors import InputError
from factory.generate.backends.base import Backend, Request, Sample, SamplingParams, sample_seed
from factory.generate.backends.model_checks import check_model

_DTYPES = ("auto", "float32", "float16", "bfloat16")


class TransformersBackend(Backend):
    """Generate with ``AutoModelForCausalLM.generate``.

    Args:
        model: model id or local path (with its tokenizer and chat template).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``…; default: cuda when available.
        dtype: ``"auto"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        batch_size: prompts per ``generate`` call (each expands to ``n`` sequences).
        trust_remote_code: passed to ``from_pretrained``.
    """

    name = "transformers"

    def __init__(self, model: str, *, device: str | None = None, dtype: str = "auto",
                 batch_size: int = 8, trust_remote_code: bool = False) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype={dtype!r}: choose one of {_DTYPES}")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}: must be at least 1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        check_model(str(model))
        self.model, self.batch_size = str(model), batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(
            self.model, padding_side="left", trust_remote_code=trust_remote_code)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
        self.lm = AutoModelForCausalLM.from_pretrained(
            self.model, dtype=torch_dtype, trust_remote_code=trust_remote_code).to(self.device).eval()
        self._eos_ids = _eos_ids(self.lm.generation_config.eos_token_id, self.tokenizer.eos_token_id)
        self.options = {"device": self.device, "dtype": dtype, "batch_size": batch_size}

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        """Sample ``params.n`` completions per request (see ``Backend.generate``).

        A given ``params.seed`` seeds torch once per micro-batch from (seed, first request id),
        so a rerun of the same batch is identical and batches with other prompts draw other
        numbers (one seed shared by every prompt is what made sample i of all prompts alike). ``latency_s`` is the wall time of the micro-batch the sample was part of.
        """
        import torch

        out: list[list[Sample]] = []
        for i in range(0, len(requests), self.batch_size):
            batch = requests[i:i + self.batch_size]
            if params.seed is not None:  # per micro-batch: a shard's samples do not depend on earlier shards
                torch.manual_seed(sample_seed(params.seed, batch[0].id, 0))
            out += self._generate_batch(batch, params)
        return out

    def render(self, request: Request) -> list[int]:
        """Prompt token ids: chat template with a generation prompt, or the raw prompt."""
        tok = self.tokenizer
        if request.messages is not None:
            if not getattr(tok, "chat_template", None):
                raise InputError(f"model {self.model} has no chat template, but the prompt template sends chat "
                                 f"messages; use --template r1_zero (raw text prompts) or a checkpoint with one")
            text = tok.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
            return tok(text, add_special_tokens=False)["input_ids"]
        return tok(request.prompt)["input_ids"]

    def _generate_batch(self, batch: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        import torch

        start = time.perf_counter()
        prompts = [self.render(r) for r in batch]
        enc = self.tokenizer.pad({"input_ids": prompts}, padding=True, return_tensors="pt").to(self.device)
        # Only SamplingParams decide sampling: neutralise a model's generation_config extras
        # (top_k, repetition_penalty), as vLLM does for an explicit SamplingParams.
        kwargs: dict[str, Any] = dict(max_new_tokens=params.max_tokens, num_return_sequences=params.n,
                                      pad_token_id=self.tokenizer.pad_token_id,
                                      eos_token_id=sorted(self._eos_ids), repetition_penalty=1.0)
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            sequences = self.lm.generate(**enc, **kwargs)
        new_tokens = sequences[:, enc["input_ids"].shape[1]:].tolist()
        latency = time.perf_counter() - start
        samples = [self._sample(tokens, len(prompts[j // params.n]), params, latency)
                   for j, tokens in enumerate(new_tokens)]
        return [samples[k * params.n:(k + 1) * params.n] for k in range(len(batch))]

    def _sample(self, tokens: list[int], prompt_tokens: int, params: SamplingParams,
                latency: float) -> Sample:
        """Decode one generated row: cut at EOS, drop batch padding, decide the finish reason."""
        eos_at = next((i for i, t in enumerate(tokens) if t in self._eos_ids), None)
        if eos_at is not None:  # EOS counts as a generated token, as in vLLM
            text = self.tokenizer.decode(tokens[:eos_at], skip_special_tokens=True)
            return Sample(text, None, "stop", prompt_tokens, eos_at + 1, latency)
        pad = self.tokenizer.pad_token_id
        while tokens and tokens[-1] == pad:  # rows that stopped early are padded to the batch width
            tokens = tokens[:-1]
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        cut = min((i for i in (text.find(s) for s in params.stop) if i >= 0), default=-1)
        if cut >= 0:  # stop strings are excluded from the output, as in vLLM and OpenAI
            return Sample(text[:cut], None, "stop", prompt_tokens, len(tokens), latency)
        finish = "length" if len(tokens) >= params.max_tokens else "stop"
        return Sample(text, None, finish, prompt_tokens, len(tokens), latency)

    def close(self) -> None:
        """Drop the model; free GPU memory when on CUDA."""
        if getattr(self, "lm", None) is None:
            return
        self.lm = None
        if str(self.device).startswith("cuda"):
            import torch

            torch.cuda.empty_cache()


def _eos_ids(config_eos: Any, tokenizer_eos: int | None) -> frozenset[int]:
    """All token ids that end a completion (generation configs may list several)."""
    ids = set(config_eos if isinstance(config_eos, (list, tuple)) else [config_eos])
    ids.add(tokenizer_eos)
    return frozenset(i for i in ids if i is not None)
