"""One registry of rewards, two uses: batch scoring of stored rollouts and TRL GRPO reward functions.

``for_trl(["accuracy", "format", "language"])`` returns the very functions `factory score`
runs; TRL passes the dataset's extra columns (``answer``, ``tests``, ``language``) as keyword
arguments and treats ``None`` as "not applicable".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from factory.rewards.base import Verdict, broadcast
from factory.rewards.code_reward import CODE_GRADER_VERSION, get_code_accuracy_reward, verify_code_batch
from factory.rewards.format_reward import FORMAT_GRADER_VERSION, get_format_reward, get_tag_count_reward
from factory.rewards.language import LANGUAGE_GRADER_VERSION, get_language_consistency_reward
from factory.rewards.math_reward import MATH_GRADER_VERSION, get_math_accuracy_reward, verify_math_batch
from factory.rewards.reasoning_gym_reward import REASONING_GYM_GRADER_VERSION, get_reasoning_gym_reward

RewardFn = Callable[..., list]


def verify_accuracy_batch(completions: Sequence[Any], *, answer: Any = None, tests: Any = None,
                          math_workers: int | None = None, timeout_s: float = 5.0,
                          sandbox: Any = None, code_workers: int | None = None) -> list[Verdict | None]:
    """Per-row dispatch: math when ``answer`` is set, code when ``tests`` is set, else None."""
    n = len(completions)
    answers, testss = broadcast(answer, n, "answer"), broadcast(tests, n, "tests")
    out: list[Verdict | None] = [None] * n
    math_rows = [i for i in range(n) if answers[i] is not None]
    code_rows = [i for i in range(n) if answers[i] is None and testss[i] is not None]
    if math_rows:
        verdicts = verify_math_batch([completions[i] for i in math_rows], [answers[i] for i in math_rows],
                                     workers=math_workers, timeout_s=timeout_s)
        for i, v in zip(math_rows, verdicts):
            out[i] = v
    if code_rows:
        verdicts = verify_code_batch([completions[i] for i in code_rows], [testss[i] for i in code_rows],
                                     config=sandbox, workers=code_workers)
        for i, v in zip(code_rows, verdicts):
            out[i] = v
    return out


def get_accuracy_reward(math_workers: int | None = None, timeout_s: float = 5.0, sandbox: Any = None,
                        code_workers: int | None = None) -> RewardFn:
    """Accuracy (R1's rule reward): 1.0 correct, 0.0 wrong or unverifiable, None without gold.

    >>> get_accuracy_reward()([r"\\boxed{4}", r"\\boxed{5}", "hi"], answer=["4", "4", None])
    [1.0, 0.0, None]
    """

    def accuracy_reward(completions: Sequence[Any], *, answer: Any = None, tests: Any = None, **kwargs: Any):
        verdicts = verify_accuracy_batch(completions, answer=answer, tests=tests, math_workers=math_workers,
                                         timeout_s=timeout_s, sandbox=sandbox, code_workers=code_workers)
        return [None if v is None else float(v is Verdict.CORRECT) for v in verdicts]

    return accuracy_reward


@dataclass(frozen=True)
class RewardDef:
    """A named reward: its factory, its grader version (enters scored snapshot ids) and a help line."""

    name: str
    make: Callable[..., RewardFn]
    version: str
    help: str


REWARDS: dict[str, RewardDef] = {
    d.name: d
    for d in (
        RewardDef("accuracy", get_accuracy_reward, f"math-{MATH_GRADER_VERSION}+code-{CODE_GRADER_VERSION}",
                  "rule accuracy: math answer (answer column) or code tests (tests column)"),
        RewardDef("math", get_math_accuracy_reward, MATH_GRADER_VERSION, "math final answer equals gold"),
        RewardDef("code", get_code_accuracy_reward, CODE_GRADER_VERSION, "program passes all tests in the sandbox"),
        RewardDef("format", get_format_reward, FORMAT_GRADER_VERSION,
                  "R1-Zero template <think>…</think><answer>…</answer> (template=readable for R1's format)"),
        RewardDef("tag_count", get_tag_count_reward, FORMAT_GRADER_VERSION, "0.25 per well-counted tag"),
        RewardDef("language", get_language_consistency_reward, LANGUAGE_GRADER_VERSION,
                  "share of target-language words in the CoT (R1 §2.3.4)"),
        RewardDef("reasoning_gym", get_reasoning_gym_reward, REASONING_GYM_GRADER_VERSION,
                  "reasoning-gym's score_answer for its tasks (metadata column); only 1.0 counts as correct"),
    )
}


def get_reward(name: str, **params: Any) -> RewardFn:
    """A reward function by registry name, named ``name`` (TRL logs rewards by ``__name__``)."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; choose from {', '.join(REWARDS)}")
    fn = REWARDS[name].make(**params)

    def named(completions: Sequence[Any], **kwargs: Any) -> list:
        return fn(completions, **kwargs)

    named.__name__ = named.__qualname__ = f"{name}_reward"
    named.__doc__ = fn.__doc__
    return named


def parse_names(names: str | Sequence[str]) -> list[str]:
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n and n.strip()]
    for n in items:
        if n not in REWARDS:
            raise ValueError(f"unknown reward {n!r}; choose from {', '.join(REWARDS)}")
    return items


def for_trl(names: str | Sequence[str], params: dict[str, dict[str, Any]] | None = None) -> list[RewardFn]:
    """TRL ``reward_funcs`` for ``GRPOTrainer``: ``for_trl("accuracy,format,language")``."""
    params = params or {}
    return [get_reward(n, **params.get(n, {})) for n in parse_names(names)]


def grader_versions(names: str | Sequence[str]) -> dict[str, str]:
    return {n: REWARDS[n].version for n in parse_names(names)}
