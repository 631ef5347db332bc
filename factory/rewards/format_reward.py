"""Format rewards (R1 §2.2.2, §2.3.1): R1-Zero's think/answer tags and R1's readable cold-start format.

R1-Zero is rewarded for ``<think>reasoning</think><answer>answer</answer>``; R1's cold-start
data uses ``|special_token|<reasoning>|special_token|<summary>``, which R1's released models
write as ``<think>reasoning</think> summary``. Both are checked strictly: each tag exactly
once, in order, nothing outside the frame but whitespace. Chat templates that prefill
``<think>`` into the prompt (DeepSeek-R1's updated template; TRL issue #6966: such completions
always scored 0) are supported with ``think_prefilled=True``: the completion then starts
inside the think block and must not contain ``<think>`` itself.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from factory.rewards.base import completion_texts, has_text, use_kernel

FORMAT_GRADER_VERSION = "1.1.0"  # 1.1.0: auto reads R1-Zero outputs by their prompt template

TEMPLATES = ("r1_zero", "readable")
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
_SPECIAL = "|special_token|"
_OPEN, _CLOSE, _A_OPEN, _A_CLOSE = _TAGS


def _count_ok(text: str, tag: str, think_prefilled: bool) -> bool:
    """A tag occurs exactly once; a prefilled ``<think>`` must not occur at all."""
    return text.count(tag) == (0 if think_prefilled and tag == "<think>" else 1)


def _tag_counts_are(text: str, think_prefilled: bool, tags: Sequence[str]) -> bool:
    return all(_count_ok(text, tag, think_prefilled) for tag in tags)


def r1_zero_format_ok(text: str, *, think_prefilled: bool = False) -> bool:
    """Whether ``text`` is ``<think>reasoning</think><answer>answer</answer>``, strictly.

    Each tag exactly once and in order, non-empty reasoning and answer, only whitespace
    before ``<think>``, between ``</think>`` and ``<answer>``, and after ``</answer>``.

    >>> r1_zero_format_ok("<think>\\n2+2=4\\n</think>\\n<answer>\\n4\\n</answer>")
    True
    >>> r1_zero_format_ok("<think>2+2=4</think><answer>4</answer> Anything else?")
    False
    >>> r1_zero_format_ok("2+2=4</think><answer>4</answer>", think_prefilled=True)
    True
    """
    if not _tag_counts_are(text, think_prefilled, _TAGS):
        return False
    frame = _think_frame(text, think_prefilled)
    if frame is None:
        return False
    start, end = frame
    rest = end + len(_CLOSE)
    a, b = text.find(_A_OPEN, rest), text.find(_A_CLOSE, rest)
    if a < 0 or b < a or has_text(text, rest, a) or has_text(text, b + len(_A_CLOSE)):
        return False
    return has_text(text, start, end) and has_text(text, a + len(_A_OPEN), b)


def readable_format_ok(text: str, *, think_prefilled: bool = False) -> bool:
    """Whether ``text`` is R1's readable format with a non-empty reasoning and summary.

    Accepts ``|special_token|<reasoning>|special_token|<summary>`` (R1 §2.3.1) and
    ``<think>reasoning</think> summary`` as R1's released models write it.

    >>> readable_format_ok("|special_token|Let me see: 2+2=4.|special_token|The answer is **4**.")
    True
    >>> readable_format_ok("<think>Let me see: 2+2=4.</think>\\n\\nThe answer is **4**.")
    True
    >>> readable_format_ok("<think>Let me see: 2+2=4.</think>")
    False
    """
    if _SPECIAL in text:
        head, _, rest = text.partition(_SPECIAL)
        reasoning, _, summary = rest.partition(_SPECIAL)
        return (text.count(_SPECIAL) == 2 and not head.strip() and "<think>" not in text
                and "</think>" not in text and bool(reasoning.strip()) and bool(summary.strip()))
    if not _tag_counts_are(text, think_prefilled, _TAGS[:2]):
        return False
    frame = _think_frame(text, think_prefilled)
    return frame is not None and has_text(text, *frame) and has_text(text, frame[1] + len(_CLOSE))


def _think_frame(text: str, think_prefilled: bool) -> tuple[int, int] | None:
    """(reasoning start, ``</think>`` index) when only whitespace precedes ``<think>`` (or it is
    prefilled) and ``</think>`` follows.

    Called once each tag is known to occur exactly once, so plain ``str.find`` decides what a
    lazy ``\s*<think>(.*?)</think>`` fullmatch would, at memchr speed instead of ~30 ns a char.
    """
    start = 0
    if not think_prefilled:
        k = text.find(_OPEN)
        if k < 0 or has_text(text, 0, k):
            return None
        start = k + len(_OPEN)
    end = text.find(_CLOSE, start)
    if end < 0:
        return None
    return start, end


def auto_template(text: str, prompt_template: str | None = None) -> str:
    """The format a completion is held to under ``auto``: its prompt's, else what its tags say.

    A completion of the R1-Zero prompt (``template`` column ``r1_zero@…``) owes R1-Zero's format
    even when it left out ``<answer>`` (graded as "readable" it would pass as ``<think>…</think> 4``);
    without a template, any answer tag means R1-Zero's format.

    >>> auto_template("<think>2+2=4</think> 4", "r1_zero@1.0.0"), auto_template("<think>2+2=4</think> 4")
    ('r1_zero', 'readable')
    """
    if prompt_template:
        return "r1_zero" if prompt_template.split("@")[0] == "r1_zero" else "readable"
    return "r1_zero" if "<answer>" in text or "</answer>" in text else "readable"


def format_ok(texts: Sequence[Any], template: str = "auto", prompt_templates: Sequence[str | None] | None = None,
              *, think_prefilled: bool = False) -> list[bool]:
    """Whether each completion follows its format: ``r1_zero``, ``readable`` or ``auto`` (see :func:`auto_template`).

    >>> format_ok(["<think>a</think> 4", "<think>a</think> <answer>4</answer>"], "auto", ["r1_zero@1.0.0"] * 2)
    [False, True]
    """
    if template not in (*TEMPLATES, "auto"):
        raise ValueError(f"template={template!r}: choose auto, r1_zero or readable")
    texts = completion_texts(texts)
    prompts = prompt_templates if prompt_templates is not None else [None] * len(texts)
    if use_kernel(len(texts)):
        return _compiled_format_ok(texts, template, prompts, think_prefilled)
    return [_format_one(text, prompt, template, think_prefilled) for text, prompt in zip(texts, prompts)]


def _format_one(text: str, prompt: str | None, template: str, think_prefilled: bool) -> bool:
    use = auto_template(text, prompt) if template == "auto" else template
    check = r1_zero_format_ok if use == "r1_zero" else readable_format_ok
    return check(text, think_prefilled=think_prefilled)


def _compiled_format_ok(texts: list[str], template: str, prompts: Sequence[str | None],
                        think_prefilled: bool) -> list[bool]:
    """``format_ok`` from one kernel pass per text (tag counts and first positions, blank checks);
    texts with ``|special_token|`` take the Python checks."""
    from factory.rewards.text_kernel import format_facts

    return format_from_facts(format_facts(texts, think_prefilled), texts.__getitem__, template, prompts, think_prefilled)


def format_from_facts(facts: Any, text_of: Callable[[int], str], template: str, prompts: Sequence[str | None],
                      think_prefilled: bool = False) -> list[bool]:
    """``format_ok`` from the kernel's format facts (``text_kernel`` columns READABLE_OK..SPECIAL);
    a ``|special_token|`` row is read with ``text_of(i)`` and takes the Python checks."""
    from factory.rewards.text_kernel import ANSWER_TAG, R1_ZERO_OK, READABLE_OK, SPECIAL

    out = []
    for i, (f, prompt) in enumerate(zip(facts[:, :SPECIAL + 1].tolist(), prompts)):
        if f[SPECIAL]:
            out.append(_format_one(text_of(i), prompt, template, think_prefilled))
            continue
        # auto_template reads the text only for an answer tag, which the kernel counted
        use = auto_template("<answer>" if f[ANSWER_TAG] else "", prompt) if template == "auto" else template
        out.append(bool(f[R1_ZERO_OK] if use == "r1_zero" else f[READABLE_OK]))
    return out


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """TRL reward: 1.0 when a completion follows R1-Zero's think/answer template, else 0.0.

    >>> format_reward(["<think>2+2=4</think> <answer>4</answer>", "<answer>4</answer>"])
    [1.0, 0.0]
    """
    return [float(r1_zero_format_ok(t)) for t in completion_texts(completions)]


def tag_count_reward(completions: Sequence[Any], *, think_prefilled: bool = False, **kwargs: Any) -> list[float]:
    """TRL reward: 0.25 for each of the four R1-Zero tags that occurs exactly once.

    Partial credit shapes early training (open-r1's ``tag_count_reward``). Unlike open-r1,
    tags count with or without surrounding newlines (``"<think>x</think>"`` is not worth
    less than ``"<think>\\nx\\n</think>"``), and with ``think_prefilled`` the prefilled
    ``<think>`` earns its 0.25 by being absent.

    >>> tag_count_reward(["<think>a</think><answer>b</answer>", "<think>a</think><think>b</think><answer>c"])
    [1.0, 0.25]
    """
    return [0.25 * sum(_count_ok(t, tag, think_prefilled) for tag in _TAGS) for t in completion_texts(completions)]


def get_format_reward(template: str = "r1_zero", think_prefilled: bool = False) -> Callable[..., list[float]]:
    """A format reward for R1-Zero's template or R1's readable format.

    Args:
        template: "r1_zero" (``<think>…</think><answer>…</answer>``) or "readable"
            (reasoning then a non-empty summary).
        think_prefilled: the chat template already put ``<think>`` in the prompt.

    >>> get_format_reward("readable")(["<think>2+2=4</think> It is **4**."])
    [1.0]
    """
    if template not in TEMPLATES:
        raise ValueError(f"template={template!r} is not one of {TEMPLATES}; pick one of them")
    check = r1_zero_format_ok if template == "r1_zero" else readable_format_ok

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        return [float(check(t, think_prefilled=think_prefilled)) for t in completion_texts(completions)]

    reward.__name__ = f"{template}_format{'_prefilled' if think_prefilled else ''}_reward"
    return reward


def get_tag_count_reward(think_prefilled: bool = False) -> Callable[..., list[float]]:
    """``tag_count_reward`` bound to a chat template that does or does not prefill ``<think>``."""
    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        return tag_count_reward(completions, think_prefilled=think_prefilled)

    reward.__name__ = f"tag_count{'_prefilled' if think_prefilled else ''}_reward"
    return reward
