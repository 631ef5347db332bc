"""The factory's graders behind verl's ``custom_reward_function`` interface, for ``export --format verl``.

verl picks its built-in scorer by ``data_source`` and calls
``compute_score(data_source, solution_str, ground_truth, extra_info)`` per sample. An export can
instead point verl at this function (``custom_reward_function.path=DIR/factory_reward.py``), so the
policy trained there is rewarded by the same math and sandboxed code graders as here.
"""

from __future__ import annotations

import json
from typing import Any

from factory.rewards.base import Verdict


def from_verl_ground_truth(ground_truth: str) -> str | None:
    """verl's code ground truth ``{"inputs", "outputs"[, "fn_name"]}`` as our tests JSON; None if not code.

    >>> from_verl_ground_truth('{"inputs": ["1 2"], "outputs": ["3"]}')
    '{"style": "stdio", "cases": [{"input": "1 2", "output": "3"}]}'
    >>> from_verl_ground_truth("42") is None
    True
    """
    try:
        spec = json.loads(ground_truth)
    except (TypeError, ValueError):
        return None
    if isinstance(spec, dict) and spec.get("style") == "check" and spec.get("check"):
        return json.dumps(spec)  # a test program exported as the factory's own tests JSON
    if not isinstance(spec, dict) or "inputs" not in spec or "outputs" not in spec:
        return None
    pairs = list(zip(spec["inputs"], spec["outputs"]))
    if spec.get("fn_name"):
        return json.dumps({"style": "call", "fn_name": spec["fn_name"],
                           "cases": [{"args": a, "expected": e} for a, e in pairs]})
    return json.dumps({"style": "stdio", "cases": [{"input": i, "output": o} for i, o in pairs]})


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: Any = None, **kwargs: Any) -> float:
    """1.0 when the factory's grader calls ``solution_str`` correct against ``ground_truth``, else 0.0.

    >>> compute_score("r1-factory/math", "so \\\\boxed{\\\\frac{1}{2}}", "0.5")
    1.0
    """
    from factory.rewards.registry import verify_accuracy_batch

    if ground_truth is None:
        return 0.0
    tests = from_verl_ground_truth(str(ground_truth))
    answer = None if tests is not None else str(ground_truth)
    (verdict,) = verify_accuracy_batch([solution_str], answer=[answer], tests=[tests], math_workers=1, code_workers=1)
    return float(verdict is Verdict.CORRECT)
