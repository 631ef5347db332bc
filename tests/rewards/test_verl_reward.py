"""verl's ground truth both ways: a test program survives the export and still decides the reward."""

from __future__ import annotations

import json

from factory.curate.trainer_formats import verl_ground_truth
from factory.rewards.verl_reward import compute_score

CHECK = {"style": "check", "entry_point": "add",
         "check": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"}
RIGHT = "<think>add them</think>\n```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "<think>multiply?</think>\n```python\ndef add(a, b):\n    return a * b\n```"


def test_check_style_tests_are_exported_as_the_program_and_graded_by_it() -> None:
    truth = verl_ground_truth(None, json.dumps(CHECK))
    assert json.loads(truth) == CHECK  # not {"inputs": [], "outputs": []}, which any program passes
    assert compute_score("r1-factory/code", RIGHT, truth) == 1.0
    assert compute_score("r1-factory/code", WRONG, truth) == 0.0


def test_tests_without_cases_are_no_gold() -> None:
    assert verl_ground_truth(None, json.dumps({"style": "stdio", "cases": []})) is None
    assert verl_ground_truth(None, json.dumps({"style": "check", "check": ""})) is None


def test_stdio_tests_round_trip_and_grade() -> None:
    tests = {"style": "stdio", "cases": [{"input": "2 3\n", "output": "5\n"}]}
    truth = verl_ground_truth(None, json.dumps(tests))
    assert json.loads(truth) == {"inputs": ["2 3\n"], "outputs": ["5\n"]}
    program = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    assert compute_score("r1-factory/code", program, truth) == 1.0
