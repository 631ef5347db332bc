"""Check-style tests (HumanEval/MBPP): a check program judges the solution's entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.rewards.base import Verdict
from factory.rewards.code_reward import get_code_accuracy_reward
from factory.sandbox.cases import humaneval_tests, mbpp_tests, parse_tests
from factory.sandbox.runner import SandboxConfig, run_tests, run_tests_batch

CFG = SandboxConfig(timeout_s=5, cpu_s=5, memory_mb=512)
FIXTURE = Path(__file__).parents[1] / "fixtures" / "humaneval" / "sample.jsonl"
HUMANEVAL = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
PAIR = {"style": "check", "entry_point": "pair",
        "check": "def check(candidate):\n    assert candidate(1, 2) == (1, 2)\n"
                 "    assert candidate(float('inf'), {3}) == (float('inf'), {3})\n"}


def test_humaneval_canonical_solutions_pass_and_broken_ones_fail():
    good = [r["prompt"] + r["canonical_solution"] for r in HUMANEVAL]
    broken = [r["prompt"] + "    return None\n" for r in HUMANEVAL]
    tests = [humaneval_tests(r) for r in HUMANEVAL] * 2
    reports = run_tests_batch(good + broken, tests, workers=2, config=CFG)
    assert [r.verdict for r in reports[:5]] == [Verdict.CORRECT] * 5, [r.detail for r in reports[:5]]
    assert [r.verdict for r in reports[5:]] == [Verdict.WRONG] * 5
    assert "AssertionError" in reports[5].detail
    assert "poly raised" in reports[7].detail  # HumanEval/32's check calls the prompt's helper


def test_through_the_code_reward():
    record = HUMANEVAL[1]  # truncate_number
    done = "<think>the fractional part</think>\n```python\n" + record["prompt"] + record["canonical_solution"] + "```"
    wrong = "<think>guess</think>\n```python\ndef truncate_number(number):\n    return number\n```"
    reward = get_code_accuracy_reward(CFG, workers=2)
    assert reward([done, wrong], tests=[json.dumps(humaneval_tests(record))] * 2) == [1.0, 0.0]


def test_values_cross_as_literals_and_solution_classes_work():
    assert run_tests("def pair(a, b):\n    return (a, b)", PAIR, CFG).verdict is Verdict.CORRECT
    assert run_tests("def pair(a, b):\n    return [a, b]", PAIR, CFG).verdict is Verdict.WRONG
    cls = "class Solution:\n    def pair(self, a, b):\n        return a, b"
    assert run_tests(cls, PAIR, CFG).verdict is Verdict.CORRECT
    odd = run_tests("def pair(a, b):\n    return object()", PAIR, CFG)
    assert odd.verdict is Verdict.WRONG and "not a literal" in odd.detail


def test_mbpp_style_top_level_asserts():
    tests = mbpp_tests({"test_list": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"], "test_setup_code": ""})
    assert run_tests("def add(a, b):\n    return a + b", tests, CFG).verdict is Verdict.CORRECT
    assert run_tests("def add(a, b):\n    return a - b", tests, CFG).verdict is Verdict.WRONG


@pytest.mark.parametrize("code", [
    "import os\nos.write(3, b'{\"ok\": true}\\n')\nos._exit(0)",  # the result fd is not the program's
    "import os\nfor pid in (os.getppid(), 1):\n    try:\n        open(f'/proc/{pid}/fd/3', 'w').write('{\"ok\": true}\\n')\n"
    "    except OSError:\n        pass",  # nor reachable through /proc: the checker is not dumpable
    "import sys\nsys.exit(0)",  # ending early is a failure, not a pass
    "def check(candidate):\n    pass\ndef pair(a, b):\n    return None",  # its own check() is never used
    # killing the checker (possible only as its own uid in mode root) ends in no verdict, not a pass
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef pair(a, b):\n    return None",
])
def test_a_program_cannot_forge_a_pass(code):
    report = run_tests(code, PAIR, CFG)
    assert report.verdict is Verdict.WRONG, report


@pytest.mark.parametrize("tests", [
    {"style": "check"}, {"style": "check", "check": "def check(candidate):\n    assert (", "entry_point": "f"},
    {"style": "check", "check": "assert f() == 1", "entry_point": "f"},  # entry point but no check()
    {"style": "check", "check": "x = 1"}, {"style": "check", "check": "def check(c): pass", "entry_point": "1f"},
])
def test_malformed_check_tests_are_unverifiable(tests):
    report = run_tests("def f(): return 1", tests, CFG)
    assert (report.verdict, report.status) == (Verdict.UNVERIFIABLE, "invalid_tests"), report


def test_parse_keeps_entry_point_and_source():
    spec = parse_tests(json.dumps(humaneval_tests(HUMANEVAL[0])))
    assert (spec.style, spec.fn_name, len(spec.inputs)) == ("check", "has_close_elements", 1)
    assert spec.check.lstrip().startswith("METADATA")
