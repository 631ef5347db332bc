"""Reading one column of one raw benchmark row, with the one-line error the file's owner can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factory.sources.base import SourceError


@dataclass(frozen=True)
class Where:
    """Which record is being converted: named in every error."""

    file: str
    row: int

    def error(self, message: str) -> SourceError:
        return SourceError(f"{self.file} row {self.row}: {message}")


def text(row: dict[str, Any], column: str, where: Where, *, required: bool = True, ints: bool = False) -> str | None:
    """``row[column]`` as a string; integers too where ``ints`` (AIME answers ship as int64).

    Raises:
        SourceError: the column is missing or empty (when required), or holds another type.

    >>> text({"answer": 7}, "answer", Where("f.parquet", 1), ints=True)
    '7'
    """
    if column not in row:
        if not required:
            return None
        raise where.error(f"column {column!r} is missing; columns are {sorted(row)}")
    value = row[column]
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise where.error(f"column {column!r} is empty")
        return None
    if isinstance(value, str):
        return value
    if ints and type(value) is int:
        return str(value)
    expected = "a string or an integer" if ints else "a string"
    raise where.error(f"column {column!r} has a {type(value).__name__} value, expected {expected}")


def layout(row: dict[str, Any], layouts: dict[str, tuple[str, ...]], where: Where) -> str:
    """The first layout (publisher) whose required columns the row has, e.g. H4's vs Maxwell-Jia's AIME.

    Raises:
        SourceError: no layout fits; the error names the first missing column of the closest one.
    """
    for name, columns in layouts.items():
        if all(c in row for c in columns):
            return name
    name, columns = max(layouts.items(), key=lambda kv: sum(c in row for c in kv[1]))
    missing = next(c for c in columns if c not in row)
    raise where.error(f"column {missing!r} is missing (expected the {name} layout: {list(columns)}); "
                      f"columns are {sorted(row)}")
