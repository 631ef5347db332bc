"""Find the final answer in a completion with linear-time scans: a 100k-char rollout never stalls a batch."""

from __future__ import annotations

import re

from factory.rewards.base import split_think

MAX_ANSWER_CHARS = 1000
"""Longer extracted answers (or golds) are treated as no answer: nobody boxes a novel."""

SHORT_SUMMARY_CHARS = 80
"""A summary after ``</think>`` this short, on one line, is itself the answer (``</think> 42``)."""

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_MAX_BOX_TRIES = 16
_ANCHORS = ("final answer is", "final answer:", "the answer is", "answer is", "answer:")
_DOLLAR_SPAN = re.compile(r"\${1,2}([^$]{1,%d})\${1,2}" % MAX_ANSWER_CHARS)
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n|;\s|,\s+(?:and|so|which)\b|\s+(?:I hope|since|because)\b")
_WRAPPERS = re.compile(r"^(?:\$\$|\$|\\\(|\\\[)(.*?)(?:\$\$|\$|\\\)|\\\])$", re.DOTALL)


def extract_answer(text: str) -> str | None:
    """The final answer of a completion, as written (not normalized), or ``None``.

    Looks, in order, for the last ``<answer>…</answer>`` (a ``\\boxed{}`` inside it wins),
    the last ``\\boxed{…}``/``\\fbox{…}`` (nested braces), the last "final answer is …"
    phrase, and a short one-line summary after ``</think>``. When the completion closes a
    think block (``</think>`` or R1's ``|special_token|``), only the summary after it is
    searched: the reasoning holds tentative answers, the summary the committed one.

    Args:
        text: The completion text.

    Returns:
        The answer string, or ``None`` when there is none, it is empty, or it is longer
        than ``MAX_ANSWER_CHARS``.

    >>> extract_answer(r"<think>maybe \\boxed{3}</think> So the result is $\\boxed{\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    >>> extract_answer("<think>x</think><answer> 42 </answer>")
    '42'
    >>> extract_answer("The final answer is $28\\\\%$. I hope it is correct.")
    '28\\\\%'
    >>> extract_answer("no answer here") is None
    True
    """
    if not text:
        return None
    reasoning, summary = split_think(text)
    closed = bool(summary) or reasoning != text.strip()
    region = summary if closed else text
    answer = _from_region(region)
    if answer is None and closed and _is_short(summary):
        answer = summary
    return _clean(answer)


def last_boxed(text: str) -> str | None:
    """Content of the last well-formed ``\\boxed{…}`` or ``\\fbox{…}`` (or ``\\boxed 5``).

    >>> last_boxed(r"\\boxed{1} then \\boxed{\\frac{a}{b}}")
    '\\\\frac{a}{b}'
    >>> last_boxed(r"\\boxed{unclosed") is None
    True
    """
    end = len(text)
    for _ in range(_MAX_BOX_TRIES):
        start, cmd = max((text.rfind(c, 0, end), c) for c in _BOX_COMMANDS)
        if start < 0:
            return None
        content = _box_content(text, start + len(cmd))
        if content is not None:
            return content
        end = start
    return None


def _box_content(text: str, i: int) -> str | None:
    """The argument of a box command whose name ends at ``i``; None if malformed or too long."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] != "{":
        token = re.match(r"[^\s${}]+", text[i : i + MAX_ANSWER_CHARS + 1])
        return token.group(0) if token and text[i - 1] == " " else None
    return _balanced(text, i)


def _balanced(text: str, i: int) -> str | None:
    """Content of the brace group opening at ``text[i] == '{'``, ignoring ``\\{``/``\\}``."""
    depth, j, limit = 0, i, min(len(text), i + MAX_ANSWER_CHARS + 2)
    while j < limit:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
        j += 1
    return None


def _from_region(region: str) -> str | None:
    """Tags, then boxes, then an answer phrase, in the searched part of a completion."""
    tagged = _last_tag(region)
    if tagged is not None:
        return last_boxed(tagged) or tagged
    boxed = last_boxed(region)
    if boxed is not None:
        return boxed
    return _after_anchor(region)


def _last_tag(region: str) -> str | None:
    """Content of the last closed ``<answer>…</answer>`` (rfind, so linear on any input)."""
    low = region.lower()
    close = low.rfind("</answer>")
    if close < 0:
        return None
    open_ = low.rfind("<answer>", 0, close)
    return region[open_ + len("<answer>") : close] if open_ >= 0 else None


def _after_anchor(region: str) -> str | None:
    """The answer after the last "final answer is"-style phrase, up to the sentence end."""
    low = region.lower()
    best = max((low.rfind(a), a) for a in _ANCHORS)
    if best[0] < 0:
        return None
    rest = region[best[0] + len(best[1]) : best[0] + len(best[1]) + 4 * MAX_ANSWER_CHARS].lstrip(" :*")
    boxed = last_boxed(rest)
    if boxed is not None:
        return boxed
    if rest.startswith("$"):
        span = _DOLLAR_SPAN.match(rest)
        if span:
            return span.group(1)
    cut = _SENTENCE_END.search(rest)
    return rest[: cut.start()] if cut else rest


def _is_short(summary: str) -> bool:
    return 0 < len(summary) <= SHORT_SUMMARY_CHARS and "\n" not in summary


def _clean(answer: str | None) -> str | None:
    """Strip math delimiters, markdown bold and a final period; drop empty or oversized answers."""
    if answer is None:
        return None
    answer = answer.strip()
    if len(answer) > MAX_ANSWER_CHARS:
        return None
    answer = answer.strip("*").strip()
    wrapped = _WRAPPERS.match(answer)
    if wrapped:
        answer = wrapped.group(1).strip()
    answer = answer.rstrip(".").strip()
    return answer or None
