"""Procedural pretraining text: worked arithmetic in several formats, so a model trained from scratch is a *base*.

The recipe (``factory recipe``) needs a base model that knows arithmetic and has seen text of
every kind the later stages prompt it with (the R1-Zero template, chat turns, few-shot
examples) but was never trained on one answer format: most solutions are prose ("… The
answer is 20."), a few use R1-Zero's tags or R1's readable format, as text on the web does.
Some solutions carry a slip (pretraining data is not all correct), so RL has accuracy to gain.

Traces are digit-wise, units then tens then the sum, which is what makes unseen expressions
learnable for a tiny model (``13+7``: ``3+7=10,10+0=10,10+10=20``).
"""

from __future__ import annotations

import random
from typing import Sequence

# ChatML, as Qwen2 instruct models use it; `add_generation_prompt` opens an assistant turn.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
STYLES = ("prose", "direct", "tagged", "readable")
R1_SPECIAL = "|special_token|"


def chatml(messages: Sequence[dict], add_generation_prompt: bool = False) -> str:
    """Render ``messages`` exactly as :data:`CHATML_TEMPLATE` does.

    >>> chatml([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    '<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n'
    """
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def digit_trace(expr: str, answer: str | int, slip: int = 0) -> str:
    """Units, tens, then their sum; ``slip`` adds that error to the tens step (and so to the result).

    >>> digit_trace("13 + 7", 20)
    '3+7=10,10+0=10,10+10=20'
    >>> digit_trace("4 - 17", -13)
    '4-7=-3,0-10=-10,-10-3=-13'
    >>> digit_trace("45 + 38", 83, slip=10)
    '5+8=13,40+30=80,80+13=93'
    """
    a, op, b = expr.split()
    (ta, ua), (tb, ub) = divmod(int(a), 10), divmod(int(b), 10)
    sign = 1 if op == "+" else -1
    units, tens = ua + sign * ub, 10 * (ta + sign * tb)
    if tens + units != int(answer):
        raise ValueError(f"{expr} = {answer}: the digit trace disagrees with the gold")
    shown = tens + slip
    combine = f"{shown}+{units}" if units >= 0 else f"{shown}-{-units}"
    return f"{ua}{op}{ub}={units},{10 * ta}{op}{10 * tb}={shown},{combine}={shown + units}"


def long_trace(expr: str, answer: str | int, slip: int = 0) -> str:
    """The digit trace plus a verification by the inverse operation (R1's "reflection and verification").

    >>> long_trace("13 + 7", 20)
    '3+7=10,10+0=10,10+10=20,check 20-7=13'
    """
    a, op, b = expr.split()
    result = int(answer) + slip
    inverse = f"{result}-{b}" if op == "+" else f"{result}+{b}"
    return f"{digit_trace(expr, answer, slip)},check {inverse}={int(a) + slip}"


def solution(expr: str, answer: str | int, style: str, slip: int = 0, long: bool = False) -> str:
    """One worked solution in ``style`` (prose, direct, R1-Zero tags, or R1's readable format).

    >>> solution("13 + 7", 20, "tagged")
    '<think>3+7=10,10+0=10,10+10=20</think><answer>20</answer>'
    >>> solution("13 + 7", 20, "readable")
    '|special_token|3+7=10,10+0=10,10+10=20|special_token|**Answer** $\\\\boxed{20}$'
    """
    trace = (long_trace if long else digit_trace)(expr, answer, slip)
    result = int(answer) + slip
    if style == "prose":
        return f"{trace}. The answer is {result}."
    if style == "direct":
        return f"The answer is {result}."
    if style == "tagged":
        return f"<think>{trace}</think><answer>{result}</answer>"
    if style == "readable":
        return f"{R1_SPECIAL}{trace}{R1_SPECIAL}**Answer** $\\boxed{{{result}}}$"
    raise ValueError(f"style={style!r}: use one of {STYLES}")


def pick(rng: random.Random, shares: dict[str, float]) -> str:
    """A key of ``shares`` drawn with those weights."""
    keys = [k for k, v in shares.items() if v > 0]
    return rng.choices(keys, weights=[shares[k] for k in keys])[0]


def equations_doc(rng: random.Random, lines: int = 8) -> str:
    """A page of sums and differences, digit facts included (the "textbook" part of the corpus).

    >>> equations_doc(random.Random(0), 2).count("\\n")
    1
    """
    out = []
    for _ in range(lines):
        top = rng.choice((9, 20, 99))
        a, b = rng.randint(0, top), rng.randint(0, top)
        op = rng.choice("+-")
        out.append(f"{a} {op} {b} = {a + b if op == '+' else a - b}")
    return "\n".join(out)
