"""stdio outputs are judged as LiveCodeBench's grader judges them (its stdio path, in our words)."""

from __future__ import annotations

import pytest

from factory.sandbox.cases import stdio_matches


@pytest.mark.parametrize("got, expected, same", [
    (b"3\n4\n", "3\n4", True),                     # trailing newline
    (b"3  \r\n4\n\n", "3\n4\n", True),             # trailing spaces, CRLF, blank tail
    (b"\n  3\n4", "3\n4", True),                   # leading blank line and indentation (LCB strips both)
    (b"1.50 2\n", "1.5 2.0", True),                # numbers compare as exact decimals
    (b"1e2\n", "100", True),
    (b"-0.0\n", "0", True),
    (b"1  2\n", "1 2", True),                      # numeric tokens: spacing inside the line is free
    (b"0.333\n", "0.3333", False),                 # exact: no float tolerance
    (b"0.1 0.2\n", "0.1", False),                  # a token more
    (b"3\n4\n", "4\n3", False),
    (b"YES\n", "yes", False),                      # words stay case-sensitive
    (b"a  b\n", "a b", False),                     # non-numeric lines compare as text
    (b"1\n2\n", "1 2", False),                     # lines are lines
    (b"inf\n", "Infinity", True),                  # Decimal's own spellings, as LCB accepts them
    (b"nan 1\n", "NaN 1", False),                  # NaN equals nothing
    (b"", "0", False),
])
def test_stdio_judging(got, expected, same) -> None:
    assert stdio_matches(got, expected) is same
