"""reasoning-gym's own ``score_answer`` as a reward for its tasks (rows made by the reasoning-gym source).

Its default scorers give partial credit: ``gsm_symbolic`` scores ``"20 extra"`` 1.0 against ``20``,
``basic_arithmetic`` a superstring of the answer 0.33, ``word_sorting`` 0.83, and
``fraction_simplification`` gives 0.01 for any answer. The factory counts only a score of 1.0 as
correct: accuracy is binary everywhere else (math, code, the pass rates of the difficulty table),
and crediting substrings rewards answers that list several candidates, a reward hack under RL.
``partial_credit=True`` passes the raw score through for those who want it. Some of its scorers
raise on malformed answers (``prime_factorization`` on ``"433 or 139"``); that scores 0.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Callable, Sequence

from factory.rewards.base import completion_texts
from factory.rewards.math_extract import extract_answer

REASONING_GYM_GRADER_VERSION = "1.0.0"


@lru_cache(maxsize=None)
def _scorer(task: str) -> Callable[[str | None, dict], float]:
    import reasoning_gym

    return reasoning_gym.get_score_answer_fn(task)


def score_entry(answer: str | None, metadata: str | None) -> float | None:
    """reasoning-gym's raw score of ``answer`` for the entry in a row's ``metadata``; None if not one of its rows."""
    if not metadata:
        return None
    meta = json.loads(metadata)
    if not isinstance(meta, dict) or "task" not in meta or "entry" not in meta:
        return None
    try:
        return float(_scorer(meta["task"])(answer, meta["entry"]))
    except Exception:  # noqa: BLE001 - some of its scorers raise on malformed answers (int("433 or 139")): wrong
        return 0.0


def get_reasoning_gym_reward(partial_credit: bool = False) -> Callable[..., list]:
    """Reward by reasoning-gym's ``score_answer`` on the completion's final answer; None for other rows.

    >>> import json
    >>> meta = json.dumps({"task": "basic_arithmetic", "entry": {"question": "2+3", "answer": "5",
    ...                    "metadata": {"source_dataset": "basic_arithmetic"}}})
    >>> get_reasoning_gym_reward()(["<answer>5</answer>", "<answer>5 or 6</answer>", "x"], metadata=[meta, meta, None])
    [1.0, 0.0, None]
    """

    def reasoning_gym_reward(completions: Sequence[Any], *, metadata: Any = None, **kwargs: Any) -> list:
        texts = completion_texts(completions)
        metas = metadata if isinstance(metadata, (list, tuple)) else [metadata] * len(texts)
        out: list[float | None] = []
        for text, meta in zip(texts, metas):
            score = score_entry(extract_answer(text or ""), meta)
            out.append(None if score is None else (score if partial_credit else float(score >= 1.0)))
        return out

    return reasoning_gym_reward
