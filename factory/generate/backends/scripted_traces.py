"""Assemble one synthetic R1-style trace from phrase pools and 128 hash bits, in microseconds.

Every choice (phrases, step count, which defects to inject) is read from fixed bit fields
of a 128-bit xxh3 hash of (seed, request id, sample index), so reruns and shards give
byte-identical text without any random-number-generator state. Defect rates are compared
against 10-bit draws, i.e. with a resolution of 1/1024.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from factory.generate.backends.scripted_phrases import POOLS

STYLES = ("r1", "r1_zero", "readable")
SPECIAL = "|special_token|"
RATE_NAMES = ("wrong", "mixed_language", "overlong", "broken_tags", "code_in_cot", "long_paragraph")
# Bit layout of h: 0-59 defect draws (10 bits each, RATE_NAMES order), 60-62 opening,
# 63 fourth step block, 64-87 step blocks (6 bits each), 88-93 reflections, 94-95 verification,
# 96-99 summary, 100-104 mixed-language and code-in-CoT picks, 105 wrong sign, 106-107 tag damage.
_INT = re.compile(r"\d+")
_TASK = re.compile(r'"task"\s*:\s*"([^"\\]*)"')
_ZH_DOMAIN = {"math": "数学", "code": "编程"}
_STUB_CODE = "import sys\n\n\ndef main():\n    data = sys.stdin.read().split()\n    print(len(data))\n\n\nmain()"


def wrong_answer(gold: str, up: bool = True) -> str:
    """A plausible wrong answer: the first integer in ``gold`` moved by one (so ``12`` → ``13``,
    ``3/4`` → ``4/4``, ``\\frac{1}{2}`` → ``\\frac{2}{2}``), a multiple-choice letter moved to
    the next one, otherwise ``gold + 1``.

    >>> wrong_answer("12"), wrong_answer("12", up=False), wrong_answer("\\\\frac{1}{2}")
    ('13', '11', '\\\\frac{2}{2}')
    >>> wrong_answer("B"), wrong_answer("\\\\pi")
    ('C', '\\\\pi + 1')
    """
    m = _INT.search(gold)
    if m:
        value = int(m.group()) + (1 if up else -1)
        return f"{gold[:m.start()]}{value}{gold[m.end():]}"
    if len(gold) == 1 and gold.isalpha():
        return chr((ord(gold.upper()) - 65 + 1) % 26 + 65)
    return f"{gold} + 1"


def wrong_code(code: str) -> str:
    """Off-by-one program: the first integer literal incremented, or an extra output line.

    >>> wrong_code("print(sum(range(10)))")
    'print(sum(range(11)))'
    """
    m = _INT.search(code)
    if m:
        return f"{code[:m.start()]}{int(m.group()) + 1}{code[m.end():]}"
    return code + "\nprint(0)"


@dataclass(slots=True)
class Problem:
    """Everything about one request that does not depend on the sample index."""

    pool: Any
    other: Any
    domain: str  # "math" (boxed answer), "code" (python block) or "general" (no gold)
    intro: str
    gold: str
    wrong_up: str
    wrong_down: str
    prompt_tokens: int


def make_problem(meta: dict, prompt: str, with_wrong: bool = True) -> Problem:
    """Precompute the per-request parts of a trace from the request's gold metadata.

    Args:
        meta: ``Request.metadata`` (``answer``, ``language``, ``domain``, ``metadata`` with
            ``task`` and, for code, ``solution``; optional ``prompt`` = the bare problem).
        prompt: the rendered prompt text (used when ``meta`` has no ``prompt``).
        with_wrong: also prepare wrong answers (skipped when ``wrong_rate`` is 0).
    """
    lang = "zh" if str(meta.get("language") or "en").lower().startswith("zh") else "en"
    pool, other = POOLS[lang], POOLS["en" if lang == "zh" else "zh"]
    answer, raw_meta = meta.get("answer"), meta.get("metadata")
    domain = str(meta.get("domain") or "math").lower()
    if domain == "code":
        gold = str(_as_dict(raw_meta).get("solution") or _STUB_CODE).strip("\n")
        up = down = wrong_code(gold) if with_wrong else gold
    elif answer is None or str(answer) == "":
        domain, gold, up, down = "general", "", "", ""
    else:
        domain, gold = "math", str(answer)
        up, down = (wrong_answer(gold, True), wrong_answer(gold, False)) if with_wrong else (gold, gold)
    if lang == "zh":
        task_name = _ZH_DOMAIN.get(domain, "推理")
    else:
        task_name = str(_task_of(raw_meta) or domain).replace("_", " ")
    excerpt = str(meta.get("prompt") or prompt)[:160].replace("\n", " ").strip()
    intro = pool["intro"].format(p=excerpt) + " " + pool["task"].format(t=task_name)
    return Problem(pool, other, domain, intro, gold, up, down, max(1, len(prompt) // 4))


def _task_of(raw_meta: Any) -> str | None:
    """The ``task`` key of the metadata; read with a regex from JSON text, since parsing the
    whole document would cost more than writing the trace."""
    if isinstance(raw_meta, str):
        m = _TASK.search(raw_meta)
        return m.group(1) if m else None
    return _as_dict(raw_meta).get("task")


def _as_dict(value: Any) -> dict:
    """The problem's metadata, given as a dict or as the JSON text stored in Parquet."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _reasoning(pr: Problem, h: int, answer: str, mixed: bool, code_in_cot: bool,
               long_par: bool) -> str:
    """The think section: opening, 9 or 12 numbered steps broken by reflections, the result
    and a verification (R1 §2.2.4: reflection and re-evaluation emerge during RL)."""
    pool = pr.pool
    parts = [pool["open"][(h >> 60) & 7], pr.intro]
    if pr.domain != "general":
        blocks = pool["code_blocks"] if pr.domain == "code" else pool["math_blocks"]
        parts += (blocks[0][(h >> 64) & 63], pool["reflect"][(h >> 88) & 7],
                  blocks[1][(h >> 70) & 63], blocks[2][(h >> 76) & 63],
                  pool["reflect"][(h >> 91) & 7])
        if (h >> 63) & 1:
            parts.append(blocks[3][(h >> 82) & 63])
    if pr.domain == "math":
        parts.append(pool["result"].format(a=answer))
        parts.append(pool["verify"][(h >> 94) & 3].format(a=answer))
    elif pr.domain == "code":
        parts.append(pool["code_verify"][(h >> 94) & 3])
    if mixed:  # R1 §2.3.2: R1-Zero mixes languages; the language-consistency reward targets it
        other, j = pr.other, (h >> 100) & 7
        parts.insert(1, other["open"][j])
        parts.insert(len(parts) - 1, other["reflect"][j])
    if code_in_cot:
        parts.insert(3, pool["cot_code"][(h >> 103) & 3])
    if long_par:  # one run-on paragraph: what "drop long paragraphs" filters catch
        return " ".join(part.replace("\n\n", " ") for part in parts)
    return "\n\n".join(parts)


def _summary(pr: Problem, h: int, answer: str) -> str:
    """The readable part after the think section (markdown, as R1's cold-start format asks)."""
    pool = pr.pool
    head = pool["summary_head"][(h >> 96) & 3] + "\n\n" + pool["summary_items"][(h >> 98) & 3]
    if pr.domain == "code":
        return f"{head}\n\n{pool['code_final']}\n\n```python\n{answer}\n```"
    if pr.domain == "general":
        return f"{head}\n\n" + pool["general_final"].format(p=pr.intro)
    return f"{head}\n\n" + pool["final"].format(a=answer)


def _wrap(style: str, reasoning: str, summary: str, broken: int) -> str:
    """Put reasoning and summary into the chosen output format. ``broken`` damages the tags:
    1 drops the closing tag, 2 duplicates the opening one, 3 drops ``<answer>`` (r1_zero) or
    the opening ``<think>`` (r1); for readable, 1 drops and 2-3 duplicate a special token."""
    if style == "readable":
        if broken == 1:
            return f"{SPECIAL}{reasoning}\n\n{summary}"
        if broken >= 2:
            return f"{SPECIAL}{reasoning}{SPECIAL}{SPECIAL}{summary}"
        return f"{SPECIAL}{reasoning}{SPECIAL}{summary}"
    open_tag = {2: "<think>\n<think>\n", 3: "" if style == "r1" else "<think>\n"}.get(broken, "<think>\n")
    close_tag = "\n" if broken == 1 else "\n</think>\n"
    if style == "r1_zero":
        answer = f"{summary}\n" if broken == 3 else f"<answer>\n{summary}\n</answer>"
        return f"{open_tag}{reasoning}{close_tag}{answer}"
    return f"{open_tag}{reasoning}{close_tag}\n{summary}"


def write_trace(pr: Problem, h: int, thresholds: tuple[int, ...], style: str,
                limit_chars: int) -> tuple[str, str, str, bool]:
    """Write one sample.

    Args:
        pr: the request's precomputed parts.
        h: the sample's 128-bit hash.
        thresholds: per defect in ``RATE_NAMES`` order, ``round(rate * 1024)``.
        style: one of ``STYLES``.
        limit_chars: ``max_tokens * 4``; longer text is cut and finishes with ``"length"``.

    Returns:
        ``(text, reasoning, summary, truncated)``: the full text, the think section, the
        summary (empty when truncated), and whether ``limit_chars`` cut the text.
    """
    t_wrong, t_mixed, t_long, t_tags, t_code, t_par = thresholds
    answer = pr.gold
    if (h & 1023) < t_wrong:
        answer = pr.wrong_up if (h >> 105) & 1 else pr.wrong_down
    reasoning = _reasoning(pr, h, answer, ((h >> 10) & 1023) < t_mixed,
                           ((h >> 40) & 1023) < t_code, ((h >> 50) & 1023) < t_par)
    if ((h >> 20) & 1023) < t_long:  # a looping CoT that never closes, as unbounded R1-Zero samples do
        loop = "\n\n" + pr.pool["loop"]
        reps = max(1, (limit_chars - len(reasoning)) // len(loop) + 2)
        reasoning += loop * reps
    summary = _summary(pr, h, answer)
    broken = 1 + ((h >> 106) & 3) % 3 if ((h >> 30) & 1023) < t_tags else 0
    text = _wrap(style, reasoning, summary, broken)
    if len(text) > limit_chars:
        return text[:limit_chars], reasoning[:limit_chars], "", True
    return text, reasoning, summary, False

