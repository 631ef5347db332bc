"""A scripted judge: deterministic synthetic verdicts, so the LLM-as-judge path runs offline.

It reads the question, reference and response from ``Request.metadata`` (set by
``factory.generate.judge.judge_batch``) or, failing that, from the ``<question>``,
``<reference_answer>`` and ``<response>`` sections of the judge prompt, compares the
reference with the response's final answer (last ``\\boxed{}``, ``<answer>`` or last line)
after light normalisation, and writes a short rationale and a verdict line. The verdict
line's format is picked by a hash among those judges really write, so the verdict parser is
exercised; ``noise_rate`` flips verdicts, ``unparseable_rate`` writes no verdict at all and
``think_rate`` opens with a think section holding the opposite first impression.

Every choice is a function of (seed, judged triple, sample index) — an xxh3 hash, no RNG
state — so reruns, shards and duplicate rows get identical judgements. Marked ``synthetic``.
"""

from __future__ import annotations

import re
from typing import Sequence

import xxhash

from factory.generate.backends.base import Backend, Request, Sample, SamplingParams

FORMATS = (
    ("VERDICT: CORRECT", "VERDICT: INCORRECT"),
    ("**Verdict:** correct", "**Verdict:** incorrect"),
    ("[[CORRECT]]", "[[INCORRECT]]"),
    ("Final verdict: Yes", "Final verdict: No"),
    ("Therefore the verdict is $\\boxed{correct}$.", "Therefore the verdict is $\\boxed{incorrect}$."),
    ("判定：正确", "判定：错误"),
    ("Verdict: correct", "Verdict: not correct"),
)
HEDGES = (
    "I could not settle whether the two answers agree; the response is ambiguous.",
    "Comparing these answers needs more context than I have.",
    "<think>\nLet me compare the reference with the final answer of the response",
)
_SECTION = {k: re.compile(rf"<{tag}>\n(.*?)\n</{tag}>", re.DOTALL)
            for k, tag in (("question", "question"), ("reference", "reference_answer"), ("response", "response"))}
_CJK = re.compile(r"[\u4e00-\u9fff]")


class ScriptedJudgeBackend(Backend):
    """Synthetic judge; see the module docstring.

    Args:
        model: a label for the manifest (default ``"scripted-judge"``).
        seed: default seed; ``SamplingParams.seed`` overrides it.
        noise_rate: share of judgements whose verdict is flipped.
        unparseable_rate: share of judgements without any verdict.
        think_rate: share that start with ``<think>`` holding the opposite first impression.
    """

    name = "scripted_judge"
    synthetic = True

    def __init__(self, model: str = "scripted-judge", *, seed: int = 0, noise_rate: float = 0.0,
                 unparseable_rate: float = 0.0, think_rate: float = 0.0) -> None:
        rates = {"noise_rate": noise_rate, "unparseable_rate": unparseable_rate, "think_rate": think_rate}
        for rate_name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{rate_name}={rate}: a rate is a share between 0 and 1")
        self.model, self.seed = model, int(seed)
        self._thresholds = tuple(int(round(r * 1024)) for r in rates.values())
        self.options = {"seed": self.seed, **{k: float(v) for k, v in rates.items()}}

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        """Write ``params.n`` judgements per request (see ``Backend.generate``); with
        ``temperature == 0`` all ``n`` are identical, like greedy decoding."""
        seed = (self.seed if params.seed is None else int(params.seed)) & ((1 << 64) - 1)
        out = []
        for req in requests:
            fields = _fields(req)
            key = "\x1f".join(fields or (req.id,))
            samples = []
            for i in range(params.n):
                h = xxhash.xxh3_128_intdigest(f"{key}\x1f{0 if params.temperature == 0 else i}".encode(), seed)
                text = self._judgement(fields, h)
                cut = len(text) > params.max_tokens * 4
                text = text[:params.max_tokens * 4] if cut else text
                samples.append(Sample(text, None, "length" if cut else "stop", max(1, len(req.prompt_text()) // 4),
                                      max(1, len(text) // 4), 0.0))
            out.append(samples)
        return out

    def _judgement(self, fields: tuple[str, str, str] | None, h: int) -> str:
        t_noise, t_unparseable, t_think = self._thresholds
        if fields is None:
            return "I cannot find a question, a reference answer and a response to compare."
        if ((h >> 10) & 1023) < t_unparseable:
            return HEDGES[(h >> 40) % len(HEDGES)]
        question, reference, response = fields
        got = final_answer(response)
        agree = answers_match(reference, got, response)
        verdict = agree != ((h & 1023) < t_noise)
        zh = bool(_CJK.search(question))
        rationale = _rationale(reference, got, agree, zh)
        line = FORMATS[(h >> 20) % len(FORMATS)][0 if verdict else 1]
        think = ""
        if ((h >> 30) & 1023) < t_think:
            first = FORMATS[0][1 if verdict else 0]
            think = f"<think>\nFirst impression: {first}. Let me compare the answers again.\n</think>\n\n"
        return f"{think}{rationale}\n\n{line}"


def _fields(req: Request) -> tuple[str, str, str] | None:
    """(question, reference, response) from the request metadata, else from the prompt sections."""
    meta = req.metadata or {}
    if all(meta.get(k) is not None for k in ("question", "reference", "response")):
        return str(meta["question"]), str(meta["reference"]), str(meta["response"])
    text = req.prompt_text()
    found = [p.search(text) for p in _SECTION.values()]
    return None if not all(found) else tuple(m.group(1) for m in found)  # type: ignore[return-value]


def _rationale(reference: str, got: str, agree: bool, zh: bool) -> str:
    ref, ans = _clip(reference), _clip(got)
    if zh:
        said = f"回答给出的最终答案是 {ans}。" if got else "回答没有给出最终答案。"
        return f"参考答案是 {ref}。{said}两者{'一致' if agree else '不一致'}。"
    said = f"The response's final answer is {ans}." if got else "The response gives no final answer."
    return f"The reference answer is {ref}. {said} They {'agree' if agree else 'differ'}."


def _clip(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


def _last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}``, braces balanced."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1:j]
    return None


def final_answer(response: str) -> str:
    """The response's final answer: last ``\\boxed{}``, else ``<answer>``, else the last line.

    >>> final_answer("so x = 2. The answer is $\\\\boxed{\\\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    """
    boxed = _last_boxed(response)
    if boxed is not None:
        return boxed.strip()
    tags = re.findall(r"<answer>(.*?)</answer>", response, re.DOTALL)
    if tags:
        return tags[-1].strip()
    lines = [ln.strip() for ln in response.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def normalize(answer: str) -> str:
    """Light normalisation of a short answer (TeX spacing, ``\\text``, ``$``, case, thousands commas).

    >>> normalize("$\\\\dfrac{1}{2}$.")
    '\\\\frac{1}{2}'
    """
    s = re.sub(r"\\(?:text|textbf|mathrm)\{([^{}]*)\}", r"\1", answer)
    s = re.sub(r"\\left|\\right|\\[!,;]|\\quad|\$|\s+", "", s)
    s = re.sub(r"\^\{?\\circ\}?|°", "", s).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.rstrip(".。").lower()
    return s.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s) else s


def _number(s: str) -> float | None:
    m = re.fullmatch(r"\\frac\{?(-?\d+)\}?\{?(\d+)\}?|(-?\d+)/(\d+)", s)
    try:
        if m:
            num, den = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            return int(num) / int(den)
        return float(s)
    except (ValueError, ZeroDivisionError):
        return None


def answers_match(reference: str, got: str, response: str = "") -> bool:
    """Same normalised answer, same number, or (for a sentence-long reference) the reference
    contained in the response, ignoring case and punctuation.

    >>> answers_match("0.5", "\\\\frac{1}{2}"), answers_match("3", "13")
    (True, False)
    """
    ref, ans = normalize(reference), normalize(got)
    if ans and ref == ans:
        return True
    a, b = _number(ref), _number(ans)
    if a is not None and b is not None:
        return abs(a - b) <= 1e-9 * max(1.0, abs(a))
    words = re.sub(r"[\W_]+", " ", reference.lower()).strip()
    return len(words.split()) >= 2 and words in re.sub(r"[\W_]+", " ", response.lower())
