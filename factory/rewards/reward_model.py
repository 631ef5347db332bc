"""Neural reward models for R1's all-scenario RL (§2.3.4): helpfulness on the summary, harmlessness on all of it.

General prompts (writing, factual QA, ...) have no rule-checkable answer, so R1 scores them
with reward models: *helpfulness* sees only the final summary (so the score reflects what the
user reads and does not interfere with the reasoning), *harmlessness* sees the whole response,
reasoning included (so harm hidden in the chain of thought is caught). Rows are routed by the
``reward_type`` column: ``"rule"`` rows (or no value) get the rule rewards, ``"reward_model"``
rows get these scores, and every reward returns ``None`` for rows it does not apply to, which
TRL skips when it sums rewards.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from factory.rewards.base import broadcast, completion_texts, split_think

RULE, REWARD_MODEL = "rule", "reward_model"
REWARD_TYPES = (RULE, REWARD_MODEL)


def _types(reward_type: Any, n: int) -> list[str]:
    """Per-row reward types; a missing value means ``"rule"``; unknown values are an error."""
    types = [t or RULE for t in broadcast(reward_type, n, "reward_type")]
    bad = sorted({t for t in types if t not in REWARD_TYPES})
    if bad:
        raise ValueError(f"reward_type values {bad} are unknown; use one of {REWARD_TYPES} (empty means rule)")
    return types


def route_by_reward_type(fn: Callable[..., list], accept: str = RULE) -> Callable[..., list]:
    """Apply ``fn`` only to rows whose ``reward_type`` is ``accept``; other rows get ``None``.

    Only the accepted rows are passed to ``fn`` (per-row list arguments are subset too), so
    a verifier never spends time on rows it does not score.

    >>> from factory.rewards.format_reward import format_reward
    >>> routed = route_by_reward_type(format_reward)
    >>> routed(["<think>a</think><answer>1</answer>", "hello"], reward_type=["rule", "reward_model"])
    [1.0, None]
    """
    if accept not in REWARD_TYPES:
        raise ValueError(f"accept={accept!r}: use one of {REWARD_TYPES}")

    def routed(completions: Sequence[Any], *, reward_type: Any = None, **kwargs: Any) -> list:
        n = len(completions)
        types = _types(reward_type, n)
        rows = [i for i, t in enumerate(types) if t == accept]
        out: list = [None] * n
        if not rows:
            return out
        sub = {k: ([v[i] for i in rows] if isinstance(v, list) and len(v) == n else v) for k, v in kwargs.items()}
        for i, value in zip(rows, fn([completions[i] for i in rows], reward_type=[accept] * len(rows), **sub)):
            out[i] = value
        return out

    routed.__name__ = routed.__qualname__ = getattr(fn, "__name__", "reward")
    routed.__doc__ = fn.__doc__
    return routed


class RewardModelScorer:
    """Scalar scores from a ``AutoModelForSequenceClassification`` reward model (``num_labels=1``).

    Deterministic: the model runs in eval mode (no dropout) under ``torch.inference_mode``,
    with right padding so a row's score does not depend on the other rows of its batch.
    The model loads on first use, so building a reward function is cheap.

    Args:
        model_path: local folder or Hub id of the reward model (with its tokenizer).
        batch_size: rows per forward pass.
        max_length: tokens per row; longer inputs keep their end (the response).
        device: ``"cpu"``, ``"cuda"``, ...; default cuda when available.
    """

    def __init__(self, model_path: str, batch_size: int = 8, max_length: int = 4096, device: str | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}: must be at least 1")
        if max_length < 8:
            raise ValueError(f"max_length={max_length}: must be at least 8 tokens")
        self.model_path, self.batch_size, self.max_length, self.device = str(model_path), batch_size, max_length, device
        self._model = self._tokenizer = None

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        tok = AutoTokenizer.from_pretrained(self.model_path, padding_side="right", truncation_side="left")
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        model = AutoModelForSequenceClassification.from_pretrained(self.model_path, num_labels=1)
        model.config.pad_token_id = tok.pad_token_id
        self._tokenizer, self._model = tok, model.to(self.device).eval()

    def text(self, prompt: Any, response: str) -> str:
        """One scored input: the conversation rendered by the model's chat template (or concatenated)."""
        if self._tokenizer is None:
            self._load()
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": str(prompt or "")}]
        if self._tokenizer.chat_template:
            return self._tokenizer.apply_chat_template(
                messages + [{"role": "assistant", "content": response}], tokenize=False)
        return "\n".join(str(m.get("content") or "") for m in messages) + "\n" + response

    def score(self, prompts: Sequence[Any], responses: Sequence[str]) -> np.ndarray:
        """One float per (prompt, response); prompts are text or chat message lists.

        Returns:
            ``float32`` array of shape ``(len(responses),)``.
        """
        import torch

        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts for {len(responses)} responses: pass one prompt per response")
        texts = [self.text(p, r) for p, r in zip(prompts, responses)]
        out = np.zeros(len(texts), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            enc = self._tokenizer(texts[start:start + self.batch_size], return_tensors="pt", padding=True,
                                  truncation=True, max_length=self.max_length, add_special_tokens=False)
            with torch.inference_mode():
                logits = self._model(**enc.to(self.device)).logits[:, 0]
            out[start:start + len(logits)] = logits.float().cpu().numpy()
        return out


@functools.lru_cache(maxsize=4)
def _scorer(model_path: str, batch_size: int, max_length: int, device: str | None) -> RewardModelScorer:
    return RewardModelScorer(model_path, batch_size=batch_size, max_length=max_length, device=device)


def get_reward_model_reward(helpfulness_model: str, harmlessness_model: str | None = None,
                            weights: tuple[float, float] = (1.0, 1.0), batch_size: int = 8,
                            max_length: int = 4096, device: str | None = None) -> Callable[..., list]:
    """R1's general-data reward: helpfulness of the summary plus harmlessness of the whole response.

    Args:
        helpfulness_model: reward model scoring (prompt, final summary after the reasoning).
        harmlessness_model: optional reward model scoring (prompt, reasoning + summary).
        weights: (helpfulness, harmlessness) multipliers of the summed score.
        batch_size, max_length, device: passed to :class:`RewardModelScorer`.

    Returns:
        A TRL reward ``(completions, *, prompts=None, reward_type=None, **kw) -> list[float | None]``,
        ``None`` on rows whose ``reward_type`` is not ``"reward_model"``.

    >>> reward = get_reward_model_reward("path/to/helpfulness-rm")  # doctest: +SKIP
    >>> reward(["<think>plan</think> Paris."], prompts=["Capital of France?"], reward_type=["reward_model"])  # doctest: +SKIP
    [1.73]
    """
    if len(weights) != 2 or not all(np.isfinite(w) for w in weights):
        raise ValueError(f"weights={weights!r}: give two finite numbers (helpfulness, harmlessness)")
    helpful = _scorer(str(helpfulness_model), batch_size, max_length, device)
    harmless = _scorer(str(harmlessness_model), batch_size, max_length, device) if harmlessness_model else None

    def reward_model_reward(completions: Sequence[Any], *, prompts: Any = None, prompt: Any = None,
                            **kwargs: Any) -> list[float | None]:
        texts = completion_texts(completions)
        asked = broadcast(prompts if prompts is not None else prompt, len(texts), "prompts")
        score = weights[0] * helpful.score(asked, [split_think(t)[1] for t in texts])
        if harmless is not None:
            score = score + weights[1] * harmless.score(asked, texts)
        return [float(s) for s in score]

    return route_by_reward_type(reward_model_reward, accept=REWARD_MODEL)
