"""AIME 2024, AIME 2025 and MATH-500 rows, in their publishers' layouts, as problems rows.

AIME layouts (dataset cards; the first whose columns a row has is used):
- ``HuggingFaceH4/aime_2024`` (parquet, split ``train``): ``id`` int64, ``problem``, ``solution``,
  ``answer`` (string), ``url``, ``year`` (string). ``AI-MO/aimo-validation-aime`` (its source) has the
  same columns but no ``year`` and holds AIME 2022-2024 (90 rows); ``yentinglin/aime_2025`` too.
- ``Maxwell-Jia/AIME_2024`` (parquet): ``ID`` (``2024-I-1``), ``Problem``, ``Solution``, ``Answer`` int64.
- ``MathArena/aime_2025`` (parquet, split ``train``): ``problem_idx`` int64, ``problem``, ``answer``
  (int64 in some MathArena sets, string in others), ``problem_type``. MathArena's per-part sets
  (``aime_2024_I``, ``aime_2024_II``) both number from 1, so a part named in the file's path
  goes into the id (``aime_2024-II-1``).
- ``di-zhang-fdu/AIME_1983_2024`` (CSV): ``ID`` (``1983-1``), ``Year``, ``Problem Number``, ``Question``,
  ``Answer``, ``Part``: every year since 1983 (``active-reasoning/AIME`` re-serves it as parquet with
  ``problem``, ``answer``).
- ``opencompass/AIME2025`` (JSONL, configs ``AIME2025-I`` / ``AIME2025-II``, split ``test``):
  ``question``, ``answer``; no id, so the id is a hash of the question.

Copies that hold several years (the two above) are cut to the benchmark's year, read from a
``year``/``Year`` column, an ``ID`` like ``2024-I-1`` or an AoPS ``url`` (``2024_AIME_I_Problems``);
a row whose year cannot be read is kept. AIME answers are integers 0-999, so a gold ``"033"``
or ``33.0`` becomes ``"33"`` (the same key for majority voting whatever the copy) and any other
gold is an error naming the row (a wrong file, not a problem to grade).

- ``HuggingFaceH4/MATH-500`` (JSONL, split ``test``): ``problem``, ``solution``, ``answer``,
  ``subject``, ``level`` int64 (1-5), ``unique_id`` (``test/precalculus/807.json``). The answer is
  LaTeX (``\\frac{14}{3}``, ``\\text{(C)}``, ``[-2,7]``) and goes to the math grader as is.
"""

from __future__ import annotations

import json
import re
from typing import Any

import xxhash

from factory.evals.fields import Where, layout, text

_AIME = {  # layout -> (id column or None, prompt column, answer column)
    "HuggingFaceH4/aime_2024 (also AI-MO/aimo-validation-aime, yentinglin/aime_2025)": ("id", "problem", "answer"),
    "Maxwell-Jia/AIME_2024": ("ID", "Problem", "Answer"),
    "MathArena/aime_2025": ("problem_idx", "problem", "answer"),
    "di-zhang-fdu/AIME_1983_2024": ("ID", "Question", "Answer"),
    "active-reasoning/AIME (its parquet re-serving)": ("ID", "problem", "answer"),
    "opencompass/AIME2025": (None, "question", "answer"),
}
_AIME_REQUIRED = {name: tuple(c for c in cols if c) for name, cols in _AIME.items()}
_PART_IN_PATH = re.compile(r"aime_?\d{4}[_-](I{1,2})(?![A-Za-z])", re.I)  # MathArena/aime_2024_II/...
_URL_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)_AIME")
_ID_YEAR = re.compile(r"^((?:19|20)\d\d)[-_ ]")


def _row_year(row: dict[str, Any]) -> int | None:
    """The contest year a row states (column, ID prefix or AoPS url), or None."""
    for column in ("year", "Year"):
        value = row.get(column)
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            return int(value)
    for column, pattern in (("ID", _ID_YEAR), ("id", _ID_YEAR), ("url", _URL_YEAR)):
        value = row.get(column)
        if isinstance(value, str) and (m := pattern.search(value.strip())):
            return int(m.group(1))
    return None


def aime_answer(row: dict[str, Any], column: str, where: Where) -> str:
    """The gold as a canonical integer string where it is one (``"033"``, ``33``, ``33.0`` -> ``"33"``).

    >>> aime_answer({"answer": " 033"}, "answer", Where("f.jsonl", 1)), aime_answer({"Answer": 33.0}, "Answer", Where("f", 1))
    ('33', '33')
    """
    value = row.get(column)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    answer = str(value).strip() if type(value) is int else text(row, column, where, ints=True).strip()
    if not (answer.isdigit() and int(answer) <= 999):
        raise where.error(f"column {column!r} is {answer[:40]!r}; an AIME answer is an integer 0-999")
    return str(int(answer))


def _aime(source: str, year: int):
    def convert(row: dict[str, Any], where: Where) -> dict[str, Any] | None:
        name = layout(row, _AIME_REQUIRED, where)
        id_col, prompt_col, answer_col = _AIME[name]
        stated = _row_year(row)
        if stated is not None and stated != year:
            return None  # another year's problem in a many-year copy
        prompt = text(row, prompt_col, where)
        answer = aime_answer(row, answer_col, where)
        pid = text(row, id_col, where, ints=True).strip() if id_col else xxhash.xxh3_64_hexdigest(prompt.encode())
        if name == "MathArena/aime_2025" and (part := _PART_IN_PATH.search(where.file)):
            pid = f"{part.group(1).upper()}-{pid}"  # MathArena's per-part sets both count from 1
        meta = {k: row[k] for k in ("url", "year") if row.get(k) is not None}
        return {"problem_id": f"{source}-{pid}", "prompt": prompt, "answer": answer, "domain": "math",
                "language": "en", "source": source, "metadata": json.dumps(meta) if meta else None}

    return convert


aime_2024 = _aime("aime_2024", 2024)
aime_2025 = _aime("aime_2025", 2025)


def _level(row: dict[str, Any], where: Where) -> int | None:
    """MATH's difficulty: ``3`` (MATH-500) or ``"Level 3"`` (the original MATH files); 1-5."""
    level = row.get("level")
    if level is None:
        return None
    if isinstance(level, str) and (m := re.fullmatch(r"\s*(?:Level\s+)?([1-5])\s*", level)):
        return int(m.group(1))
    if type(level) is not int or not 1 <= level <= 5:
        raise where.error(f"column 'level' has the value {level!r}, expected an integer 1-5")
    return level


def math_500(row: dict[str, Any], where: Where) -> dict[str, Any]:
    """MATH-500: ``level`` is the problems ``difficulty`` (1-5); ``subject`` goes to metadata."""
    prompt = text(row, "problem", where)
    answer = text(row, "answer", where, ints=True)  # a JSON re-export may hold 60, not "60"
    uid = text(row, "unique_id", where)
    level = _level(row, where)
    meta = {"subject": row["subject"]} if row.get("subject") else None
    return {"problem_id": uid, "prompt": prompt, "answer": answer, "domain": "math", "language": "en",
            "source": "math_500", "difficulty": level, "metadata": json.dumps(meta) if meta else None}
