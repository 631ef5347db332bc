"""Code accuracy reward: program extraction, TRL shape, and the three-way verdict."""

from __future__ import annotations

import doctest
import json
import re

import pytest

import factory.rewards.code_reward as code_reward_module
import factory.sandbox.cases as sandbox_cases_module
from factory.rewards.base import Verdict
from factory.rewards.code_reward import (
    CODE_GRADER_VERSION,
    code_accuracy_reward,
    extract_code,
    get_code_accuracy_reward,
    grade_code_batch,
    verify_code_batch,
)
from factory.sandbox.runner import SandboxConfig

CFG = SandboxConfig(timeout_s=2, cpu_s=2, memory_mb=512)
STDIO = json.dumps({"style": "stdio", "cases": [{"input": "2\n", "output": "4\n"},
                                                {"input": "3\n", "output": "9\n"}]})
CALL = json.dumps({"style": "call", "fn_name": "square", "cases": [{"args": [2], "expected": 4},
                                                                   {"args": [3], "expected": 9}]})


def fenced(code: str, tag: str = "python") -> str:
    return f"```{tag}\n{code}\n```"


SQUARE_IO = "<think>square it</think>\n" + fenced("n = int(input())\nprint(n * n)")
SQUARE_FN = "<think>square it</think>\n" + fenced("def square(n):\n    return n * n")


@pytest.mark.parametrize("module", [code_reward_module, sandbox_cases_module])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("text, expected", [
    (fenced("a = 1") + "\nthen\n" + fenced("b = 2"), "b = 2\n"),  # the last block
    (fenced("x = 1", "py") + "\n" + fenced("int main() {}", "cpp"), "x = 1\n"),  # Python only
    (fenced("y = 3", ""), "y = 3\n"),  # untagged
    ("<think>" + fenced("draft") + "</think>" + fenced("final"), "final\n"),  # summary wins
    ("<think>\n" + fenced("draft") + "\n</think> just prose", "draft\n"),  # whole text fallback
    ("say ``` inline\n" + fenced("z = 0"), "z = 0\n"),  # fences open at a line start
    ("```python\nprint(1)", None),  # truncated: no closing fence
    ("no code at all", None),
])
def test_extract_code(text, expected):
    assert extract_code(text) == expected


def test_reward_scores_stdio_and_call_styles():
    reward = get_code_accuracy_reward(CFG, workers=2)
    wrong = "<think>t</think>\n" + fenced("print(int(input()) * 2)")
    assert reward([SQUARE_IO, wrong, SQUARE_FN], tests=[STDIO, STDIO, CALL]) == [1.0, 0.0, 1.0]
    assert reward.__name__ == "code_accuracy_reward"  # TRL logs rewards by function name


def test_reward_shapes_none_and_conversational():
    convo = [{"role": "assistant", "content": SQUARE_IO}]
    rewards = code_accuracy_reward([convo, "no code", SQUARE_IO], tests=[STDIO, STDIO, None])
    assert rewards == [1.0, 0.0, None]
    assert code_accuracy_reward([SQUARE_IO, SQUARE_IO], tests=STDIO) == [1.0, 1.0]  # broadcast
    assert code_accuracy_reward(["x"]) == [None]  # no tests column: not a code problem
    with pytest.raises(ValueError, match="'tests' has 1 values for 2"):
        code_accuracy_reward(["a", "b"], tests=[STDIO])


def test_arrow_and_polars_columns():
    import polars as pl
    import pyarrow as pa

    texts = pa.array([SQUARE_IO, "prose"])
    assert code_accuracy_reward(texts, tests=pl.Series([STDIO, None])) == [1.0, None]


def test_verdicts_distinguish_unverifiable(caplog):
    bad_tests = json.dumps({"style": "stdio", "cases": []})
    verdicts = verify_code_batch([SQUARE_IO, SQUARE_IO, "prose", SQUARE_IO],
                                 [STDIO, bad_tests, STDIO, None], config=CFG)
    assert verdicts == [Verdict.CORRECT, Verdict.UNVERIFIABLE, Verdict.WRONG, None]
    assert "1 unverifiable" in caplog.text
    assert code_accuracy_reward([SQUARE_IO], tests=bad_tests) == [0.0]  # never counted correct


def test_reports_explain_failures():
    reports = grade_code_batch(["prose", "<think>t</think>" + fenced("while True: pass")],
                               STDIO, config=SandboxConfig(timeout_s=1, cpu_s=1))
    assert (reports[0].status, reports[0].total) == ("no_code", 0)
    assert (reports[1].status, reports[1].verdict) == ("timeout", Verdict.WRONG)


def test_bad_settings_and_version():
    with pytest.raises(ValueError, match="workers=0"):
        get_code_accuracy_reward(workers=0)
    assert re.fullmatch(r"\d+\.\d+\.\d+", CODE_GRADER_VERSION)


def test_no_sandbox_means_unverifiable_never_run(caplog):
    cfg = SandboxConfig(timeout_s=2, cpu_s=2, mechanisms=())
    reports = grade_code_batch([SQUARE_IO], [STDIO], config=cfg)
    assert (reports[0].verdict, reports[0].status) == (Verdict.UNVERIFIABLE, "sandbox_unavailable")
    assert get_code_accuracy_reward(cfg)([SQUARE_IO], tests=[STDIO]) == [0.0]


def test_unsafe_opt_in_is_recorded_in_manifest_and_card(store, tmp_path):
    from factory import api
    from pipelines.scored import Config

    rows = tmp_path / "rollouts.jsonl"
    rows.write_text(json.dumps({"problem_id": "p0", "sample_idx": 0, "completion": SQUARE_IO, "answer": None,
                                "tests": STDIO}) + "\n")
    safe = api.score(store, str(rows), Config(rewards=("code",)), output="scored").snapshot
    assert "unsandboxed_code" not in safe.manifest
    unsafe = api.score(store, str(rows), Config(rewards=("code",), unsafe_unsandboxed_code=True),
                       output="scored").snapshot
    assert unsafe.id != safe.id and unsafe.manifest["unsandboxed_code"] is True
    card = (unsafe.path / "README.md").read_text()
    assert "UNSANDBOXED CODE ALLOWED" in card and "unsandboxed-code" in card
