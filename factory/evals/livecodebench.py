r"""LiveCodeBench ``code_generation_lite`` rows as problems rows with the project's test format.

The card's columns: ``question_title``, ``question_content``, ``platform`` (leetcode | atcoder |
codeforces), ``question_id``, ``contest_id``, ``contest_date`` (ISO datetime), ``starter_code``,
``difficulty`` (easy | medium | hard), ``public_test_cases`` (a JSON string of
``[{input, output, testtype: stdin | functional}]``), ``private_test_cases`` (the same list,
either as JSON text or as base64 of zlib of a pickle of that JSON text) and ``metadata`` (a
JSON string; ``func_name`` for functional problems). Releases are cumulative files:
``release_vN`` = ``test.jsonl`` .. ``testN.jsonl`` (N = 1 is ``test.jsonl`` alone).

Tests become ``{"style": "stdio", "cases": [{input, output}]}`` or, for functional problems,
``{"style": "call", "fn_name": …, "cases": [{args, expected}]}``, where ``args`` are the
newline-separated JSON values of ``input`` (blank lines, such as a trailing newline, skipped)
and ``expected`` is the JSON of ``output`` — as LiveCodeBench's own runner reads them — and
both carry :data:`PRELUDE`, the imports that runner gives every program. ``contest_date`` is
ISO text in the files but a timestamp once the Hub's JSON loader or a Parquet copy has read it;
both are accepted.

The pickle is hostile input like any downloaded file: :func:`decode_private_tests` unpickles
with a :class:`PlainUnpickler` that resolves no global at all, so ``__reduce__`` tricks
(``os.system``) cannot run, and only plain str/list/dict/int/float/bool/None come out.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
import json
import pickle
import re
import zlib
from dataclasses import dataclass
from typing import Any

from factory.evals.fields import Where, text

# release -> (files, first and last contest month, as the card states them)
RELEASES: dict[str, tuple[tuple[str, ...], str, str]] = {
    f"release_v{n}": (tuple("test.jsonl" if i == 1 else f"test{i}.jsonl" for i in range(1, n + 1)), "2023-05", end)
    for n, end in ((1, "2024-03"), (2, "2024-05"), (3, "2024-07"), (4, "2024-09"), (5, "2025-01"), (6, "2025-04"))
}
RELEASES["release_latest"] = RELEASES["release_v6"]  # LiveCodeBench's alias for its newest release
_RELEASE_FILE = re.compile(r"test\d*\.jsonl")
DIFFICULTY = {"easy": 1, "medium": 3, "hard": 5}
# LiveCodeBench's runner (lcb_runner/evaluation/testing_util.py) runs every program, stdin and
# functional alike, after star- and plain imports of these modules and a raised recursion limit,
# so a LeetCode answer that uses ``List``, ``heapq`` or ``defaultdict`` without importing them
# passes there; the tests carry the same prelude so it passes here too.
_IMPLICIT = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
             "statistics", "itertools", "functools", "operator", "io", "sys", "json")
PRELUDE = ("".join(f"from {m} import *\n" for m in (*_IMPLICIT, "builtins", "typing"))
           + "".join(f"import {m}\n" for m in _IMPLICIT) + "sys.setrecursionlimit(50000)\n")
MAX_DECODED_BYTES = 1 << 30  # a zlib bomb stops here
_PLAIN = (str, int, float, bool, type(None))


class UnsafePickle(ValueError):
    """The private tests pickle holds something other than plain data (or would import code)."""


class PlainUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global: no class, function or module can be named.

    Plain str/int/float/bool/None/list/dict need no global, so they load; anything else
    (``os.system`` via ``__reduce__``, a class instance, a set) is refused before it is built.
    """

    def find_class(self, module: str, name: str):  # noqa: D401  (pickle's hook)
        raise UnsafePickle(f"refused to load {module}.{name}: only plain str/list/dict/number data is allowed")

    def persistent_load(self, pid: Any):
        raise UnsafePickle("refused a persistent id: only plain data is allowed")


def _check_plain(value: Any, depth: int = 0) -> None:
    if depth > 64:
        raise UnsafePickle("nesting deeper than 64 levels")
    if isinstance(value, list):
        for v in value:
            _check_plain(v, depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise UnsafePickle(f"a dict key of type {type(k).__name__}; only str keys are allowed")
            _check_plain(v, depth + 1)
    elif type(value) not in _PLAIN:
        raise UnsafePickle(f"a {type(value).__name__} value; only plain str/list/dict/number data is allowed")


def safe_unpickle(data: bytes) -> Any:
    """``pickle.loads`` for plain data only (see :class:`PlainUnpickler`)."""
    value = PlainUnpickler(io.BytesIO(data)).load()
    _check_plain(value)
    return value


def decode_private_tests(cell: str) -> list:
    """The private test list from its JSON text or from base64(zlib(pickle(JSON text))).

    Raises:
        UnsafePickle: the pickle names a global or holds non-plain data.
        ValueError: the cell is neither form.
    """
    cell = cell.strip()
    if not cell:
        return []
    if cell[0] in "[{":
        return json.loads(cell)
    try:  # a re-export may wrap the base64 text; LiveCodeBench's own reader ignores that too
        packed = base64.b64decode("".join(cell.split()).encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_DECODED_BYTES)
        if inflater.unconsumed_tail:
            raise ValueError(f"decompresses to more than {MAX_DECODED_BYTES} bytes")
    except (binascii.Error, UnicodeEncodeError, zlib.error) as e:
        raise ValueError(f"neither JSON nor base64+zlib ({e})") from None
    value = safe_unpickle(raw)
    return json.loads(value) if isinstance(value, str) else value


def _cases(tests: Any, column: str, where: Where) -> list[dict]:
    if not isinstance(tests, list) or any(not isinstance(t, dict) for t in tests):
        raise where.error(f"column {column!r} is not a list of test objects")
    for t in tests:
        if not isinstance(t.get("input"), str) or not isinstance(t.get("output"), str) \
                or t.get("testtype") not in ("stdin", "functional"):
            raise where.error(f"column {column!r} has a test without string input/output and "
                              f"testtype stdin|functional: {json.dumps(t)[:120]}")
    return tests


def to_tests(cases: list[dict], func_name: str | None, where: Where) -> dict:
    """LiveCodeBench cases as the project's tests value (see the module docstring)."""
    kinds = {c["testtype"] for c in cases}
    if not kinds:
        raise where.error("columns 'public_test_cases' and 'private_test_cases' hold no tests")
    if len(kinds) != 1:
        raise where.error(f"mixes test types {sorted(kinds)}; a problem is either stdin or functional")
    if kinds == {"stdin"}:
        return {"style": "stdio", "cases": [{"input": c["input"], "output": c["output"]} for c in cases],
                "prelude": PRELUDE}
    if not (isinstance(func_name, str) and func_name.isidentifier()):
        raise where.error(f"column 'metadata' has no func_name for functional tests (got {func_name!r})")
    try:
        calls = [{"args": [json.loads(line) for line in c["input"].split("\n") if line.strip()],
                  "expected": json.loads(c["output"])} for c in cases]
    except json.JSONDecodeError as e:
        raise where.error(f"a functional test is not newline-separated JSON ({e.msg})") from None
    return {"style": "call", "fn_name": func_name, "cases": calls, "prelude": PRELUDE}


def prompt_for(question: str, starter_code: str | None) -> str:
    """The problem statement plus how to answer: complete the starter code, or read stdin."""
    if starter_code and starter_code.strip():
        how = ("Complete the starter code below into a correct solution. Reply with the whole solution in one "
               "```python code block.\n\n```python\n" + starter_code.rstrip() + "\n```")
    else:
        how = ("Write a Python program that reads the input from standard input and prints the answer to "
               "standard output. Reply with the program in one ```python code block.")
    return f"{question.strip()}\n\n{how}"


@dataclass(frozen=True)
class LiveCodeBench:
    """The converter for one release and date window (``YYYY-MM`` or ``YYYY-MM-DD``, inclusive).

    A release is a set of files, as LiveCodeBench's own loader picks them: rows of a release
    file (``test.jsonl`` .. ``test6.jsonl``) outside the release are skipped (``convert``
    returns None), whatever their dates, so a local copy of all release files gives exactly
    the chosen release. Copies under other names (a Parquet conversion, the Hub rows, already
    picked by file) fall back to the months the card states for the release. ``start_date`` /
    ``end_date`` always apply.
    """

    release: str = "release_v6"
    start_date: str | None = None
    end_date: str | None = None

    def __post_init__(self) -> None:
        if self.release not in RELEASES:
            raise ValueError(f"release={self.release!r} is unknown; use one of {sorted(RELEASES)}")

    @property
    def files(self) -> tuple[str, ...]:
        return RELEASES[self.release][0]

    @property
    def window(self) -> tuple[str, str]:
        _, first, last = RELEASES[self.release]
        return self.start_date or first, self.end_date or last

    def in_window(self, date: str) -> bool:
        return _within(date, *self.window)

    def selects(self, file: str, date: str) -> bool:
        """Whether a row of ``file`` dated ``date`` belongs to this release and window."""
        name = file.replace("\\", "/").rsplit("/", 1)[-1]
        if _RELEASE_FILE.fullmatch(name):  # a release file: the file decides, explicit dates still cut
            return name in self.files and _within(date, self.start_date or "", self.end_date or "9999")
        return self.in_window(date)

    def __call__(self, row: dict[str, Any], where: Where) -> dict[str, Any] | None:
        qid = text(row, "question_id", where, ints=True)
        date = _date(row, where)
        if not self.selects(where.file, date):
            return None
        question = text(row, "question_content", where)
        public = _cases(_json_cell(row, "public_test_cases", where), "public_test_cases", where)
        if isinstance(row.get("private_test_cases"), list):  # a copy that stored the decoded list
            private = row["private_test_cases"]
        else:
            try:
                private = decode_private_tests(text(row, "private_test_cases", where, required=False) or "")
            except (ValueError, UnsafePickle) as e:
                raise where.error(f"column 'private_test_cases' cannot be decoded: {e}") from None
        private = _cases(private, "private_test_cases", where)
        meta = _json_cell(row, "metadata", where) if row.get("metadata") else {}
        if not isinstance(meta, dict):
            raise where.error("column 'metadata' is not a JSON object")
        tests = to_tests(public + private, meta.get("func_name"), where)
        label = text(row, "difficulty", where, required=False)
        info = {"title": row.get("question_title"), "platform": row.get("platform"), "contest_id": row.get("contest_id"),
                "contest_date": date, "difficulty": label, "func_name": meta.get("func_name"),
                "public_tests": len(public), "private_tests": len(private), "release": self.release}
        return {"problem_id": qid, "prompt": prompt_for(question, row.get("starter_code")),
                "tests": json.dumps(tests, ensure_ascii=False), "domain": "code", "language": "en",
                "source": "livecodebench", "difficulty": DIFFICULTY.get(label or ""),
                "metadata": json.dumps(info, ensure_ascii=False)}


def _within(date: str, first: str, last: str) -> bool:
    """``first <= date <= last``, each bound compared at its own precision (``2024-03`` holds ``2024-03-31``).

    >>> _within("2024-03-31T12:00:00", "2023-05", "2024-03"), _within("2024-04-01", "", "2024-03")
    (True, False)
    """
    return date[: len(first)] >= first and date[: len(last)] <= last


def _date(row: dict[str, Any], where: Where) -> str:
    """``contest_date`` as ISO text: the files hold a string, but the Hub's JSON loader (pyarrow)
    and Parquet copies turn it into a timestamp."""
    value = row.get("contest_date")
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return text(row, "contest_date", where).strip()


def _json_cell(row: dict[str, Any], column: str, where: Where) -> Any:
    value = row.get(column)
    if isinstance(value, (list, dict)):
        return value
    try:
        return json.loads(text(row, column, where))
    except json.JSONDecodeError as e:
        raise where.error(f"column {column!r} is not valid JSON ({e.msg})") from None
