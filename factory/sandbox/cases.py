"""Test-case formats for code grading: parse them strictly, compare outputs like a judge would.

A malformed ``tests`` value is a data bug, so it raises ``MalformedTests`` (the grader turns
that into ``Verdict.UNVERIFIABLE``) instead of silently grading every program as wrong.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

STYLES = ("stdio", "call", "check")


class MalformedTests(ValueError):
    """The ``tests`` value of a row cannot be used to judge any program."""


@dataclass(frozen=True)
class TestSpec:
    """Parsed tests: one input and one expected output per case."""

    __test__ = False  # not a pytest class

    style: str  # "stdio" | "call" | "check"
    inputs: list  # stdin strings, or argument lists (check: one case, None)
    expected: list  # stdout strings, or JSON values (check: None)
    fn_name: str | None = None  # call: the function; check: the entry point passed to check()
    check: str | None = None  # check: the test program (HumanEval ``def check(candidate)``, MBPP asserts)
    prelude: str | None = None  # source run before the program, in its scope (a benchmark's implicit imports)


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
        tests: ``{"style": "stdio", "cases": [{"input", "output"}, …]}``,
            ``{"style": "call", "fn_name": …, "cases": [{"args": […], "expected": …}, …]}`` or
            ``{"style": "check", "check": "def check(candidate): …", "entry_point": …}`` (HumanEval;
            without ``entry_point``, top-level asserts as in MBPP). stdio and call tests may carry a
            ``prelude``: source run before the program in its scope, for a benchmark whose own
            runner gives every program implicit imports (LiveCodeBench: ``from typing import *`` …).

    Returns:
        The parsed spec.

    Raises:
        MalformedTests: bad JSON, unknown style, missing or empty cases, bad case fields, a check
            program that does not parse, a prelude that is not text.

    >>> parse_tests('{"style": "stdio", "cases": [{"input": "1 2\\\\n", "output": "3\\\\n"}]}').inputs
    ['1 2\\n']
    """
    tests = _load(tests)
    style = tests.get("style")
    if style not in STYLES:
        raise MalformedTests(f"unknown tests style {style!r}; expected one of {STYLES}")
    prelude = tests.get("prelude")
    if prelude is not None and not isinstance(prelude, str):
        raise MalformedTests(f"'prelude' must be Python source text, got {type(prelude).__name__}")
    if style == "check":
        return _parse_check(tests)
    fn_name = tests.get("fn_name")
    if style == "call" and not (isinstance(fn_name, str) and fn_name.isidentifier()):
        raise MalformedTests(f"call-style tests need an identifier 'fn_name', got {fn_name!r}")
    cases = tests.get("cases")
    if not isinstance(cases, list) or not cases:
        raise MalformedTests("tests have no 'cases' (a non-empty list is required)")
    pairs = [_case(style, i, case) for i, case in enumerate(cases)]
    inputs, expected = [p[0] for p in pairs], [p[1] for p in pairs]
    return TestSpec(style, inputs, expected, fn_name if style == "call" else None, prelude=prelude or None)


def _parse_check(tests: dict) -> TestSpec:
    source, entry = tests.get("check"), tests.get("entry_point")
    if not isinstance(source, str) or not source.strip():
        raise MalformedTests("check-style tests need a non-empty 'check' program")
    if entry is not None and not (isinstance(entry, str) and entry.isidentifier()):
        raise MalformedTests(f"check-style 'entry_point' must be an identifier, got {entry!r}")
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise MalformedTests(f"the check program does not parse ({exc.msg}, line {exc.lineno})") from None
    defines_check = any(isinstance(n, ast.FunctionDef) and n.name == "check" for n in tree.body)
    if entry is not None and not defines_check:
        raise MalformedTests("check-style tests with an 'entry_point' must define check(candidate)")
    if entry is None and not any(isinstance(n, ast.Assert) for n in ast.walk(tree)):
        raise MalformedTests("check-style tests without an 'entry_point' need top-level asserts (MBPP style)")
    return TestSpec("check", [None], [None], entry, source)


def with_prelude(code: str, prelude: str | None) -> str:
    r"""``code`` with ``prelude`` inserted after its docstring and ``__future__`` imports (which must
    come first), so the program runs as it would under a runner that prepends the prelude.

    >>> with_prelude("from __future__ import annotations\nx: List[int] = []\n", "from typing import *")
    'from __future__ import annotations\nfrom typing import *\nx: List[int] = []\n'
    """
    if not prelude:
        return code
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return code  # it fails as itself
    after = 0
    for i, node in enumerate(body):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            after = node.end_lineno or node.lineno
        elif not (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                  and isinstance(node.value.value, str)):
            break
    lines = code.splitlines(keepends=True)
    head = "".join(lines[:after])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + prelude.rstrip("\n") + "\n" + "".join(lines[after:])


def humaneval_tests(record: dict) -> dict:
    """A HumanEval record (``test``, ``entry_point``) as a check-style ``tests`` value.

    >>> humaneval_tests({"test": "def check(candidate): ...", "entry_point": "inc"})["style"]
    'check'
    """
    return {"style": "check", "check": record["test"], "entry_point": record["entry_point"]}


def mbpp_tests(record: dict) -> dict:
    """An MBPP record (``test_list`` of asserts, optional ``test_setup_code``) as check-style tests."""
    setup = record.get("test_setup_code") or ""
    return {"style": "check", "check": "\n".join([setup, *record["test_list"]]).strip() + "\n"}


def check_passed(result: bytes | None) -> tuple[bool, str]:
    """Judge the line the checker wrote (the program cannot write it); (passed, why-not)."""
    if not result:
        return False, "no result (the check did not finish)"
    try:
        line = json.loads(result.splitlines()[0])
    except (ValueError, IndexError):
        return False, "unreadable result"
    if isinstance(line, dict) and line.get("ok") is True:
        return True, ""
    return False, str(line.get("error") if isinstance(line, dict) else "bad result")[:200]


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
    """Whether captured stdout equals the expected output as LiveCodeBench's judge decides.

    Equal after normalization, or line by line with each line stripped (the whole text
    stripped first), where a line that differs as text still matches when both are
    whitespace-separated numbers with equal ``Decimal`` values ("0.50" = "0.5", "1e2" =
    "100"; exact, no tolerance: "0.333" is not "0.3333").

    >>> stdio_matches(b"  1.50 2\\n\\n", "1.5   2.0"), stdio_matches(b"0.333", "0.3333")
    (True, False)
    """
    got = stdout.decode("utf-8", errors="replace")
    if normalize_output(got) == normalize_output(expected):
        return True
    mine, theirs = _stripped_lines(got), _stripped_lines(expected)
    return len(mine) == len(theirs) and all(a == b or _same_numbers(a, b) for a, b in zip(mine, theirs))


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().replace("\r\n", "\n").split("\n")]


def _same_numbers(a: str, b: str) -> bool:
    from decimal import Decimal, InvalidOperation

    try:
        left, right = [Decimal(t) for t in a.split()], [Decimal(t) for t in b.split()]
    except InvalidOperation:
        return False
    return len(left) == len(right) and all(x == y for x, y in zip(left, right))  # NaN never equals


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
