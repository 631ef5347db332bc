"""The three outcomes of every verifier: the accepted values of each ``verdict`` column.

It lives with the schemas because the sandbox, the rewards and the judge all write it."""

from enum import Enum


class Verdict(str, Enum):
    """The three outcomes of a verifier. ``UNVERIFIABLE`` (gold unparseable, tests malformed)
    is never counted as correct; it is reported so the data can be fixed."""

    CORRECT = "correct"
    WRONG = "wrong"
    UNVERIFIABLE = "unverifiable"
