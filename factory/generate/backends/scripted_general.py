"""A scripted teacher for non-reasoning prompts: answers from the row's reference, with a short
CoT when the row asks for one (R1 §2.3.3: a teacher writes a CoT for some prompts, none for
simple queries). Deterministic and labelled synthetic."""

from __future__ import annotations

import json
from typing import Any, Sequence

import xxhash

from factory.generate.backends.base import Backend, Request, Sample, SamplingParams

_COT = {
    "en": ["The user wants {task}. Let me keep it clear and direct.", "I should answer in the user's language.",
           "Let me check that the answer is accurate and complete."],
    "zh": ["用户需要{task}。我应该清楚直接地回答。", "我要用用户的语言来回答。", "让我确认答案准确完整。"],
}
_TASK = {"en": {"writing": "a piece of writing", "factual_qa": "a factual answer", "translation": "a translation"},
         "zh": {"writing": "一段写作", "factual_qa": "一个事实性回答", "translation": "一个翻译"}}


class ScriptedGeneralBackend(Backend):
    """Writes ``<think>`` + answer for rows with ``needs_cot``, the bare answer otherwise."""

    name = "scripted_general"
    synthetic = True

    def __init__(self, model: str = "scripted-general", *, seed: int = 0):
        self.model, self.seed = model, seed
        self.options = {"seed": seed}

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        return [[self._one(r, i, params) for i in range(params.n)] for r in requests]

    def _one(self, req: Request, i: int, params: SamplingParams) -> Sample:
        meta: dict[str, Any] = req.metadata.get("metadata") or {}
        if isinstance(meta, str):
            meta = json.loads(meta or "{}")
        lang = "zh" if req.metadata.get("language") == "zh" else "en"
        answer = str(meta.get("reference") or "")
        text = answer
        if meta.get("needs_cot"):
            h = xxhash.xxh64_intdigest(f"{req.id}:{i}".encode(), self.seed)
            lines = [s.format(task=_TASK[lang].get(meta.get("task"), "")) for s in _COT[lang]]
            lines = lines[h % 2:] if h % 3 else lines
            text = "<think>\n" + "\n".join(lines) + "\n</think>\n\n" + answer
        cut = len(text) > params.max_tokens * 4
        if cut:
            text = text[: params.max_tokens * 4]
        return Sample(text, None, "length" if cut else "stop", max(1, len(req.prompt_text()) // 4),
                      max(1, len(text) // 4), 0.0)
