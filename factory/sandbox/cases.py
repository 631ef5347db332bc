"""Test-case formats for code grading: parse them strictly, compare outputs like a judge would.

A malformed ``tests`` value is a data bug, so it raises ``MalformedTests`` (the grader turns
that into ``Verdict.UNVERIFIABLE``) instead of silently grading every program as wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STYLES = ("stdio", "call")


class MalformedTests(ValueError):
    """The ``tests`` value of a row cannot be used to judge any program."""


@dataclass(frozen=True)
class TestSpec:
    """Parsed tests: one input and one expected output per case."""

    __test__ = False  # not a pytest class

    style: str  # "stdio" | "call"
    inputs: list  # stdin strings, or argument lists
    expected: list  # stdout strings, or JSON values
    fn_name: str | None = None


def _load(tests: Any) -> dict:
    if isinstance(tests, bytes):
        tests = tests.decode("utf-8", errors="replace")
    if isinstance(tests, str):
        try:
            tests = json.loads(tests)
        except ValueError as exc:
            raise MalformedTests(f"tests are not valid JSON ({exc})") from None
    if not isinstance(tests, dict):
        raise MalformedTests(f"tests must be a JSON object, got {type(tests).__name__}")
    return tests


def _case(style: str, i: int, case: Any) -> tuple[Any, Any]:
    if not isinstance(case, dict):
        raise MalformedTests(f"case {i} is not an object")
    if style == "stdio":
        if not isinstance(case.get("input"), str) or not isinstance(case.get("output"), str):
            raise MalformedTests(f"case {i} needs string 'input' and 'output'")
        return case["input"], case["output"]
    if not isinstance(case.get("args"), list) or "expected" not in case:
        raise MalformedTests(f"case {i} needs a list 'args' and an 'expected' value")
    try:  # JSON round-trip: tuples become lists, as they will in the program's answer
        return json.loads(json.dumps(case["args"])), json.loads(json.dumps(case["expected"]))
    except (TypeError, ValueError) as exc:
        raise MalformedTests(f"case {i} is not JSON-serializable ({exc})") from None


def parse_tests(tests: Any) -> TestSpec:
    """Validate a ``tests`` cell (JSON string or dict) into a ``TestSpec``.

    Args:
        tests: ``{"style": "stdio", "cases": [{"input", "output"}, …]}`` or
            ``{"style": "call", "fn_name": …, "cases": [{"args": […], "expected": …}, …]}``.

    Returns:
        The parsed spec.

    Raises:
        MalformedTests: bad JSON, unknown style, missing or empty cases, bad case fields.

    >>> parse_tests('{"style": "stdio", "cases": [{"input": "1 2\\\\n", "output": "3\\\\n"}]}').inputs
    ['1 2\\n']
    """
    tests = _load(tests)
    style = tests.get("style")
    if style not in STYLES:
        raise MalformedTests(f"unknown tests style {style!r}; expected one of {STYLES}")
    fn_name = tests.get("fn_name")
    if style == "call" and not (isinstance(fn_name, str) and fn_name.isidentifier()):
        raise MalformedTests(f"call-style tests need an identifier 'fn_name', got {fn_name!r}")
    cases = tests.get("cases")
    if not isinstance(cases, list) or not cases:
        raise MalformedTests("tests have no 'cases' (a non-empty list is required)")
    pairs = [_case(style, i, case) for i, case in enumerate(cases)]
    inputs, expected = [p[0] for p in pairs], [p[1] for p in pairs]
    return TestSpec(style, inputs, expected, fn_name if style == "call" else None)


def normalize_output(text: str) -> str:
    """Judge-style normalization: drop trailing spaces per line and trailing blank lines.

    >>> normalize_output("3  \\r\\n4\\n\\n")
    '3\\n4'
    """
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def stdio_matches(stdout: bytes, expected: str) -> bool:
    """Whether captured stdout equals the expected output after normalization."""
    return normalize_output(stdout.decode("utf-8", errors="replace")) == normalize_output(expected)


def call_matches(result: bytes | None, expected: Any) -> tuple[bool, str]:
    """Judge the JSON line a call-style case wrote; return (passed, why-not)."""
    if not result:
        return False, "no result (the program exited before returning)"
    try:
        line = json.loads(result.splitlines()[0])
    except (ValueError, IndexError):
        return False, "unreadable result"
    if not isinstance(line, dict) or not line.get("ok"):
        return False, str(line.get("error") if isinstance(line, dict) else "bad result")[:200]
    if line.get("value") != expected:
        return False, f"expected {expected!r:.80}, got {line.get('value')!r:.80}"
    return True, ""
