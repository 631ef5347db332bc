r"""GPQA-Diamond: lettered options shuffled per question, the gold is the letter, graded by letter.

The card (``Idavidrein/gpqa``, config ``gpqa_diamond``, file ``gpqa_diamond.csv``, split
``train``; the same CSV as simple-evals' ``gpqa_diamond.csv``) ships ``Question``, ``Correct Answer``,
``Incorrect Answer 1..3``, ``Record ID``, ``Subdomain``, ``High-level domain`` among some 40
columns; cells carry stray spaces and newlines, which are stripped. The correct answer is always
the first of the four, so the options are put in a per-question order: sorted by
``xxh3_64(record id, option index)``, which depends on nothing but the record (no RNG state,
no Python version), so every run and every machine shows the same prompt. Copies without
``Record ID`` (``MaxLSB/gpqa-fr`` keeps only the question and answer columns) use a hash of
the question as the id.

Re-packagings with a list of options (``extraordinarylab/gpqa-diamond``: ``question``,
``choices``, ``answer``, ``answer_index``; ``options`` elsewhere) give the correct option by
``answer_index`` or ``answer`` (a letter, or the option's text); their list goes through the
same per-question order, so a copy that left the correct option in one place is shuffled too.

Grading is by letter, never by the math grader (which would compare ``\boxed{B}`` symbolically
or read a boxed formula as the answer). :func:`extract_choice` takes, in order of trust:

1. an explicit final letter: ``Answer: D``, ``the answer is (D)``, ``**Final answer:** D``,
   ``\boxed{D}`` / ``\boxed{\text{(D)}}``, ``答案：D``; the last one wins, a hedge
   (``Answer: B or C``) is no answer;
2. a parenthesized letter ``(D)``, the last one;
3. a last line that is only a letter (``D``, ``**D.**``);
4. a boxed value that is exactly one option's text.

A boxed formula is never a letter, so it can never outrank an explicit final letter.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

import xxhash

from factory.evals.fields import Where, text
from factory.rewards.base import completion_texts, split_think

LETTERS = "ABCD"
_OPTION_COLUMNS = ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
INSTRUCTION = ("Think it through, then finish with a line of the form 'Answer: X', "
               "where X is the letter (A, B, C or D) of the correct option.")

_L = r"\(?\s*(?:\\text(?:bf)?\s*\{\s*)?\(?([A-D])\)?\s*\}?\s*\)?"  # a letter, maybe (D), \text{D}
_AFTER = r"(?![A-Za-z0-9])"
_ANCHOR = (r"(?i:(?:final\s+answer|correct\s+(?:answer|option|choice)|answer|option|choice)"
           r"(?:\s+is|\s*[:=：])?)")
_EXPLICIT = re.compile(
    rf"{_ANCHOR}[\s*_:]*{_L}[\s*_]*{_AFTER}(\s*(?:or|/|and)\s*\(?[A-D]\)?{_AFTER})?"
    rf"|\\boxed\s*\{{\s*{_L}\s*\}}"
    rf"|答案\s*(?:是|为|[:：])\s*{_L}{_AFTER}"
)
_PAREN = re.compile(r"\(([A-D])\)")
_LAST_LINE = re.compile(r"^[\s*_#>]*\(?([A-D])\)?[\s*_.]*$")
_BOXED = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")


def shuffled_options(record_id: str, options: Sequence[str]) -> list[int]:
    """The order (indices into ``options``, the correct one first) in which options are shown.

    >>> shuffled_options("recABC", ["right", "w1", "w2", "w3"]) == shuffled_options("recABC", ["x"] * 4)
    True
    """
    return sorted(range(len(options)), key=lambda i: xxhash.xxh3_64_intdigest(f"{record_id}\0{i}".encode()))


_LIST_COLUMNS = ("choices", "options")


def _record_id(row: dict[str, Any], question: str, where: Where) -> str:
    for column in ("Record ID", "id"):
        if row.get(column) is not None and str(row[column]).strip():
            return text(row, column, where, ints=True).strip()
    return "gpqa-" + xxhash.xxh3_64_hexdigest(" ".join(question.split()).encode())


def _listed(row: dict[str, Any], where: Where) -> list[str]:
    """A re-packaging's options, the correct one first (as in the original CSV)."""
    column = next(c for c in _LIST_COLUMNS if c in row)
    options = row[column]
    if isinstance(options, str):
        try:
            options = json.loads(options)
        except json.JSONDecodeError:
            raise where.error(f"column {column!r} is neither a list nor a JSON list of options") from None
    if not isinstance(options, list) or len(options) != 4 or not all(isinstance(o, str) and o.strip() for o in options):
        raise where.error(f"column {column!r} must hold 4 non-empty option strings, got {str(options)[:120]}")
    options = [o.strip() for o in options]
    index = row.get("answer_index")
    if isinstance(index, str) and index.strip().isdigit():  # a CSV copy
        index = int(index)
    if index is None:
        gold = text(row, "answer", where, ints=True).strip()
        letter = gold.strip("() .").upper()
        if len(letter) == 1 and letter in LETTERS:
            index = LETTERS.index(letter)
        elif gold in options:
            index = options.index(gold)
        else:
            raise where.error(f"column 'answer' is {gold[:60]!r}: not a letter A-D nor one of the options")
    if type(index) is not int or not 0 <= index < 4:
        raise where.error(f"column 'answer_index' is {index!r}, expected 0-3")
    return [options[index]] + [o for i, o in enumerate(options) if i != index]


def convert(row: dict[str, Any], where: Where) -> dict[str, Any]:
    """One GPQA row as a problems row: the prompt lists A-D, ``answer`` is the correct letter."""
    if "Question" not in row and "question" in row and any(c in row for c in _LIST_COLUMNS):
        question = text(row, "question", where)
        options = _listed(row, where)
    else:
        question = text(row, "Question", where)
        options = [text(row, c, where).strip() for c in _OPTION_COLUMNS]
    record_id = _record_id(row, question, where)
    order = shuffled_options(record_id, options)
    shown = {LETTERS[pos]: options[i] for pos, i in enumerate(order)}
    gold = LETTERS[order.index(0)]
    lines = [question.strip(), ""] + [f"{letter}) {option}" for letter, option in shown.items()] + ["", INSTRUCTION]
    meta = {"choices": shown, "record_id": record_id, "grader": "choice"}
    for column, key in (("Subdomain", "subdomain"), ("High-level domain", "high_level_domain")):
        if row.get(column):
            meta[key] = row[column]
    return {"problem_id": record_id, "prompt": "\n".join(lines), "answer": gold, "domain": "science",
            "language": "en", "source": "gpqa_diamond", "metadata": json.dumps(meta, ensure_ascii=False)}


def _answer_region(completion: str) -> str | None:
    """Text after the reasoning; None when the reasoning never closed (a truncated sample)."""
    reasoning, summary = split_think(completion)
    if summary:
        return summary
    if re.search(r"<think>", completion, re.I) and not re.search(r"</think>", completion, re.I):
        return None
    return completion


def extract_choice(completion: str, choices: dict[str, str] | None = None) -> str | None:
    r"""The letter a completion answers with, or None (see the module docstring for the order).

    >>> extract_choice(r"So \boxed{\frac{1}{2}}, which is option B. Answer: B")
    'B'
    >>> extract_choice("Answer: B\n\nActually, re-checking... the answer is (D).")
    'D'
    >>> extract_choice("Answer: B or C") is None
    True
    """
    region = _answer_region(completion or "")
    if not region:
        return None
    explicit = list(_EXPLICIT.finditer(region))
    if explicit:
        m = explicit[-1]
        if m.group(2):  # a hedge between two letters
            return None
        return next(g for g in (m.group(1), m.group(3), m.group(4)) if g)
    parens = _PAREN.findall(region)
    if parens:
        return parens[-1]
    lines = [ln for ln in region.strip().splitlines() if ln.strip()]
    if lines and (m := _LAST_LINE.match(lines[-1])):
        return m.group(1)
    if choices:
        boxed = [b.strip() for b in _BOXED.findall(region)]
        by_text = {_norm(v): k for k, v in choices.items()}
        if boxed and _norm(boxed[-1]) in by_text:
            return by_text[_norm(boxed[-1])]
    return None


def _norm(s: str) -> str:
    return re.sub(r"[\s$]+", "", s).lower()


def grade_choices(completions: Sequence[Any], answers: Sequence[str | None],
                  metadata: Sequence[str | None] | None = None) -> list[tuple[str | None, bool | None]]:
    """``(extracted letter, correct)`` per completion; correct is None where there is no gold letter."""
    texts = completion_texts(completions)
    metas = metadata if metadata is not None else [None] * len(texts)
    out = []
    for completion, gold, meta in zip(texts, answers, metas):
        choices = json.loads(meta).get("choices") if meta else None
        letter = extract_choice(completion, choices)
        gold = (gold or "").strip().upper()
        out.append((letter, (letter == gold) if gold in LETTERS and gold else None))
    return out
