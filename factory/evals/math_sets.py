"""AIME 2024, AIME 2025 and MATH-500 rows, in their publishers' layouts, as problems rows.

Layouts (dataset cards):
- ``HuggingFaceH4/aime_2024`` (parquet, split ``train``): ``id`` int64, ``problem``, ``solution``,
  ``answer`` (string), ``url``, ``year``.
- ``Maxwell-Jia/AIME_2024`` (parquet): ``ID`` (``2024-I-1``), ``Problem``, ``Solution``, ``Answer`` int64.
- ``opencompass/AIME2025`` (JSONL, configs ``AIME2025-I`` / ``AIME2025-II``, split ``test``):
  ``question``, ``answer``; no id, so the id is a hash of the question.
- ``yentinglin/aime_2025`` (parquet, split ``train``): ``id``, ``problem``, ``answer``, ``solution``, ``url``, ``year``.
- ``HuggingFaceH4/MATH-500`` (JSONL, split ``test``): ``problem``, ``solution``, ``answer``,
  ``subject``, ``level`` int64 (1-5), ``unique_id`` (``test/precalculus/807.json``).
"""

from __future__ import annotations

import json
from typing import Any

import xxhash

from factory.evals.fields import Where, layout, text

_AIME = {  # layout -> (id column or None, prompt column, answer column)
    "HuggingFaceH4/aime_2024 (also yentinglin/aime_2025)": ("id", "problem", "answer"),
    "Maxwell-Jia/AIME_2024": ("ID", "Problem", "Answer"),
    "opencompass/AIME2025": (None, "question", "answer"),
}
_AIME_REQUIRED = {name: tuple(c for c in cols if c) for name, cols in _AIME.items()}


def _aime(source: str):
    def convert(row: dict[str, Any], where: Where) -> dict[str, Any]:
        id_col, prompt_col, answer_col = _AIME[layout(row, _AIME_REQUIRED, where)]
        prompt = text(row, prompt_col, where)
        answer = text(row, answer_col, where, ints=True)
        pid = text(row, id_col, where, ints=True) if id_col else xxhash.xxh3_64_hexdigest(prompt.encode())
        meta = {k: row[k] for k in ("url", "year") if row.get(k) is not None}
        return {"problem_id": f"{source}-{pid}", "prompt": prompt, "answer": answer.strip(), "domain": "math",
                "language": "en", "source": source, "metadata": json.dumps(meta) if meta else None}

    return convert


aime_2024 = _aime("aime_2024")
aime_2025 = _aime("aime_2025")


def math_500(row: dict[str, Any], where: Where) -> dict[str, Any]:
    """MATH-500: ``level`` is the problems ``difficulty`` (1-5); ``subject`` goes to metadata."""
    prompt = text(row, "problem", where)
    answer = text(row, "answer", where)
    uid = text(row, "unique_id", where)
    level = row.get("level")
    if level is not None and (type(level) is not int or not 1 <= level <= 5):
        raise where.error(f"column 'level' has the value {level!r}, expected an integer 1-5")
    meta = {"subject": row["subject"]} if row.get("subject") else None
    return {"problem_id": uid, "prompt": prompt, "answer": answer, "domain": "math", "language": "en",
            "source": "math_500", "difficulty": level, "metadata": json.dumps(meta) if meta else None}
