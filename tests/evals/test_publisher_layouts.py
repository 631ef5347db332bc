"""Converters on copies shaped exactly like the files the publishers ship on the Hub.

The maintainers grade on held-out real files, so each test writes one publisher's shape
(column names and case, int64 vs string, JSON text vs objects, CSV quirks, timestamps that
the Hub's loaders make) and checks what comes out: sources are in /work/reports/evalfmt-1.md.
"""

from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from factory.cli.app import app
from factory.evals.benchmarks import load_benchmark
from factory.evals.fields import Where
from factory.evals.livecodebench import PRELUDE, LiveCodeBench
from factory.evals.raw import hub_rows, read_rows
from factory.rewards.base import Verdict
from factory.sandbox.cases import parse_tests, with_prelude
from factory.sandbox.runner import SandboxConfig, run_tests
from factory.sources.base import SourceError
from tests.fixtures.evalsets.make_fixtures import GPQA_COLUMNS, encode_private
from tests.support.paths import EVALSET_PATHS as PATHS


def _rows(name, path, **options):
    return load_benchmark(name, path, **options).to_table().to_pylist()


def _parquet(path: Path, columns: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def _aops(year: int, part: str, n: int) -> str:
    return f"https://artofproblemsolving.com/wiki/index.php/{year}_AIME_{part}_Problems/Problem_{n}"


# ---- AIME ----------------------------------------------------------------------------------

def test_aimo_validation_aime_is_cut_to_2024_and_golds_are_canonical(tmp_path):
    """AI-MO/aimo-validation-aime: H4's columns without ``year``, AIME 2022-2024 in one file."""
    years = [2022, 2023, 2024, 2024, 2024]
    path = _parquet(tmp_path / "data" / "train-00000-of-00001.parquet", {
        "id": pa.array(range(5), pa.int64()),
        "problem": [f"Problem {i} of {y}." for i, y in enumerate(years)],
        "solution": ["..."] * 5,
        "answer": pa.array(["204", "025", "033", "7", "809"], pa.string()),
        "url": [_aops(y, "I", i + 1) for i, y in enumerate(years)],
    })
    rows = _rows("aime_2024", path)
    assert [r["problem_id"] for r in rows] == ["aime_2024-2", "aime_2024-3", "aime_2024-4"]
    assert [r["answer"] for r in rows] == ["33", "7", "809"]  # "033": the key maj@k votes with
    with pytest.raises(SourceError, match=r"no aime_2025 problems \(options none; 5 rows skipped as problems of "
                                          r"other years\)"):
        _rows("aime_2025", path)


def test_matharena_aime_2025_problem_idx_and_int64_answers(tmp_path):
    path = _parquet(tmp_path / "train-00000-of-00001.parquet", {
        "problem_idx": pa.array([1, 2, 16], pa.int64()),
        "problem": ["Find the sum of all integer bases $b>9$ for which $17_b$ divides $97_b$.", "P2", "P16"],
        "answer": pa.array([70, 588, 468], pa.int64()),
        "problem_type": pa.array([["Number Theory"], ["Geometry"], ["Geometry", "Algebra"]], pa.list_(pa.string())),
    })
    rows = _rows("aime_2025", path)
    assert [(r["problem_id"], r["answer"]) for r in rows] == [("aime_2025-1", "70"), ("aime_2025-2", "588"),
                                                              ("aime_2025-16", "468")]
    assert rows[0]["prompt"].startswith("Find the sum")


def test_matharena_per_part_sets_in_one_folder(tmp_path):
    """MathArena/aime_2024_I and aime_2024_II: 15 problems each, both numbered from 1."""
    for part in ("I", "II"):
        _parquet(tmp_path / f"aime_2024_{part}" / "data" / "train-00000-of-00001.parquet", {
            "problem_idx": pa.array([1, 2], pa.int64()), "problem": [f"{part}1", f"{part}2"],
            "answer": pa.array([204, 113], pa.int64())})
    ids = [r["problem_id"] for r in _rows("aime_2024", tmp_path)]
    assert sorted(ids) == ["aime_2024-I-1", "aime_2024-I-2", "aime_2024-II-1", "aime_2024-II-2"]


def test_yentinglin_aime_2025_h4_columns_with_string_year(tmp_path):
    path = _parquet(tmp_path / "train.parquet", {
        "id": pa.array([0, 1], pa.int64()), "problem": ["A.", "B."], "answer": ["70", "588"],
        "solution": ["", ""], "url": [_aops(2025, "I", 1), _aops(2025, "I", 2)], "year": ["2025", "2025"]})
    assert [r["answer"] for r in _rows("aime_2025", path)] == ["70", "588"]


def test_di_zhang_fdu_csv_of_every_year_since_1983(tmp_path):
    """AIME_Dataset_1983_2024.csv: ID, Year, Problem Number, Question, Answer, Part; cells stay text."""
    path = tmp_path / "AIME_Dataset_1983_2024.csv"
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["ID", "Year", "Problem Number", "Question", "Answer", "Part"])
        out.writerow(["1983-1", "1983", "1", "Let $x$, $y$ and $z$ all exceed $1$.\nFind $w$.", "60", ""])
        out.writerow(["2024-II-1", "2024", "1", "Among the 900 residents of Aimeville...", "073", "II"])
        out.writerow(["2024-II-2", "2024", "2", "A list of positive integers...", "236", "II"])
    rows = _rows("aime_2024", path)
    assert [(r["problem_id"], r["answer"]) for r in rows] == [("aime_2024-2024-II-1", "73"), ("aime_2024-2024-II-2", "236")]
    lower = _parquet(tmp_path / "active" / "train.parquet", {  # active-reasoning/AIME: its parquet, lower-case
        "ID": ["1983-1", "2024-II-1"], "Year": pa.array([1983, 2024], pa.int64()),
        "Problem Number": pa.array([1, 1], pa.int64()), "Part": ["", "II"], "problem": ["P", "Q"], "answer": ["60", "073"]})
    assert [(r["problem_id"], r["answer"]) for r in _rows("aime_2024", lower)] == [("aime_2024-2024-II-1", "73")]


def test_opencompass_jsonl_with_integer_answers(tmp_path):
    path = _jsonl(tmp_path / "aime2025-I.jsonl", [{"question": "Q1", "answer": 70}, {"question": "Q2", "answer": 588}])
    assert [r["answer"] for r in _rows("aime_2025", path)] == ["70", "588"]


@pytest.mark.parametrize("answer", ["\\frac{1}{2}", "1000", "-3"])
def test_an_answer_no_aime_has_is_one_error_naming_file_row_and_column(tmp_path, answer):
    path = _jsonl(tmp_path / "aime2025-II.jsonl", [{"question": "Q1", "answer": "70"}, {"question": "Q2", "answer": answer}])
    with pytest.raises(SourceError, match="an AIME answer is an integer 0-999") as e:
        _rows("aime_2025", path)
    assert str(e.value).startswith(f"{path} row 2: column 'answer' is ")


# ---- MATH-500 ------------------------------------------------------------------------------

LATEX_GOLDS = ["\\frac{14}{3}", "\\text{(C)}", "[-2,7]", "\\dfrac{5}{3}", "90^\\circ",
               "\\left( 3, \\frac{\\pi}{2} \\right)", "(-\\infty,-2) \\cup (2,\\infty)", "\\$32,\\!348",
               "10\\%", "p - q", "\\text{Evelyn}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", " 6 - 5i "]


def _math_500_rows():
    return [{"problem": f"Problem {i}.", "solution": f"... $\\boxed{{{g.strip()}}}$", "answer": g,
             "subject": "Precalculus", "level": 1 + i % 5, "unique_id": f"test/precalculus/{100 + i}.json"}
            for i, g in enumerate(LATEX_GOLDS)]


def test_math_500_latex_golds_reach_the_grader_unchanged(tmp_path):
    """test.jsonl as H4 ships it (JSON escapes every backslash) and a Parquet copy: golds byte for byte."""
    jsonl = _jsonl(tmp_path / "test.jsonl", _math_500_rows())
    assert "\\\\frac{14}{3}" in jsonl.read_text()  # the file holds the JSON escape
    parquet = _parquet(tmp_path / "pq" / "test-00000-of-00001.parquet", pa.Table.from_pylist(_math_500_rows()).to_pydict())
    for path in (jsonl, parquet):
        rows = _rows("math_500", path)
        assert [r["answer"] for r in rows] == LATEX_GOLDS
        assert [r["difficulty"] for r in rows][:5] == [1, 2, 3, 4, 5]


def test_math_level_as_the_original_math_text(tmp_path):
    rows = [dict(_math_500_rows()[0], level="Level 4"), dict(_math_500_rows()[1], level="Level 9")]
    assert _rows("math_500", _jsonl(tmp_path / "ok.jsonl", rows[:1]))[0]["difficulty"] == 4
    with pytest.raises(SourceError, match=r"bad.jsonl row 1: column 'level' has the value 'Level 9'"):
        _rows("math_500", _jsonl(tmp_path / "bad.jsonl", rows[1:]))


# ---- GPQA-Diamond --------------------------------------------------------------------------

def _gpqa_csv(path: Path, records: list[dict], *, bom: bool = False) -> Path:
    """gpqa_diamond.csv's 41 columns; csv's own quoting (CRLF rows, quoted newlines)."""
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        out = csv.DictWriter(f, fieldnames=GPQA_COLUMNS)
        out.writeheader()
        for r in records:
            out.writerow({c: r.get(c, "") for c in GPQA_COLUMNS})
    return path


GPQA_RECORDS = [
    {"Question": "Two quantum states with energies E1 and E2 have a lifetime of 10^-9 sec and 10^-8 sec. "
                 "Which one of the following options could be their energy difference?\n",
     "Correct Answer": " 10^-4 eV\n", "Incorrect Answer 1": "10^-11 eV", "Incorrect Answer 2": "10^-8 eV ",
     "Incorrect Answer 3": "10^-9 eV", "Record ID": "recNo7kG1SSAxA6rn", "High-level domain": "Physics",
     "Subdomain": "Physics (general)"},
    {"Question": "Identify the final product.\n\nA + B ---> C",
     "Correct Answer": "A = 2-methyl...\nB = 3-ethyl...", "Incorrect Answer 1": "A = 1\nB = 2",
     "Incorrect Answer 2": "A = 3\nB = 4", "Incorrect Answer 3": "A = 5\nB = 6", "Record ID": "recQkD9hZD7dO8Hg8",
     "High-level domain": "Chemistry", "Subdomain": "Organic Chemistry"},
]


@pytest.mark.parametrize("bom", [False, True])
def test_gpqa_csv_crlf_quoted_newlines_and_stray_whitespace(tmp_path, bom):
    rows = _rows("gpqa_diamond", _gpqa_csv(tmp_path / "gpqa_diamond.csv", GPQA_RECORDS, bom=bom))
    assert [r["problem_id"] for r in rows] == ["recNo7kG1SSAxA6rn", "recQkD9hZD7dO8Hg8"]
    first, second = (json.loads(r["metadata"])["choices"] for r in rows)
    assert first[rows[0]["answer"]] == "10^-4 eV" and "10^-8 eV" in first.values()
    assert second[rows[1]["answer"]] == "A = 2-methyl...\nB = 3-ethyl..."  # a multi-line option survives
    assert rows[0]["prompt"].startswith("Two quantum states") and "?\n\nA) " in rows[0]["prompt"]
    assert json.loads(rows[1]["metadata"])["subdomain"] == "Organic Chemistry"


def test_gpqa_copy_without_record_id_gets_a_stable_question_hash(tmp_path):
    """MaxLSB/gpqa-fr-style copies keep only Question, the four answers and Explanation."""
    cols = ["Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3", "Explanation"]
    path = _parquet(tmp_path / "train.parquet", {c: [r.get(c, "") for r in GPQA_RECORDS] for c in cols})
    rows = _rows("gpqa_diamond", path)
    assert all(r["problem_id"].startswith("gpqa-") for r in rows) and rows == _rows("gpqa_diamond", path)
    assert [json.loads(r["metadata"])["choices"][r["answer"]] for r in rows] == ["10^-4 eV", GPQA_RECORDS[1]["Correct Answer"]]


def test_gpqa_repackaged_with_a_choices_list(tmp_path):
    """extraordinarylab/gpqa-diamond: question, choices (list), answer (letter), answer_index int64."""
    choices = [["10^-11 eV", "10^-8 eV", "10^-4 eV", "10^-9 eV"], ["w", "x", "right", "z"], ["r", "a", "b", "c"]]
    path = _parquet(tmp_path / "test-00000-of-00001.parquet", {
        "question": ["Q one?", "Q two?", "Q three?"], "choices": pa.array(choices, pa.list_(pa.string())),
        "answer": ["C", "C", "A"], "answer_index": pa.array([2, 2, 0], pa.int64()), "reasoning": ["", "", ""]})
    rows = _rows("gpqa_diamond", path)
    assert [json.loads(r["metadata"])["choices"][r["answer"]] for r in rows] == ["10^-4 eV", "right", "r"]
    assert all(sorted(json.loads(r["metadata"])["choices"].values()) == sorted(c) for r, c in zip(rows, choices))
    # options listed by text with the answer as text (areddydev-style: options + answer)
    alt = _parquet(tmp_path / "alt" / "train.parquet", {"question": ["Q one?"], "options": [choices[0]],
                                                         "answer": ["10^-4 eV"]})
    assert json.loads(_rows("gpqa_diamond", alt)[0]["metadata"])["choices"][_rows("gpqa_diamond", alt)[0]["answer"]] == "10^-4 eV"


@pytest.mark.parametrize("columns, message", [
    ({"choices": [["a", "b", "c", "d"]], "answer_index": [7]}, "column 'answer_index' is 7, expected 0-3"),
    ({"choices": [["a", "b", "c"]], "answer_index": [0]}, "column 'choices' must hold 4 non-empty option strings"),
    ({"options": [["a", "b", "c", "d"]], "answer": ["e"]}, "column 'answer' is 'e': not a letter A-D"),
])
def test_bad_gpqa_repackaging_is_one_error_naming_file_row_and_column(tmp_path, columns, message):
    path = _parquet(tmp_path / "bad.parquet", {"question": ["Q?"], **columns})
    with pytest.raises(SourceError, match=message) as e:
        _rows("gpqa_diamond", path)
    assert str(e.value).startswith(f"{path} row 1: ")


# ---- LiveCodeBench -------------------------------------------------------------------------

def _lcb_lines() -> list[dict]:
    return [json.loads(line) for f in sorted(PATHS["livecodebench"].glob("*.jsonl")) for line in f.read_text().splitlines()]


def test_lcb_through_the_hub_json_loader_gets_timestamps(tmp_path, monkeypatch):
    """``datasets``' JSON builder (pyarrow) reads ``contest_date`` as a timestamp, not the file's text."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    files = [str(f) for f in sorted(PATHS["livecodebench"].glob("*.jsonl"))]
    convert = LiveCodeBench()
    raw = list(hub_rows("json", None, "train", data_files=files))
    assert isinstance(raw[0][2]["contest_date"], datetime.datetime)
    via_hub = [convert(r, Where(f, n)) for f, n, r in raw]
    local = [convert(r, Where(f, n)) for f, n, r in read_rows(files)]
    assert via_hub == local and len(local) == 5


def test_lcb_release_is_its_files_whatever_the_dates(tmp_path):
    """LiveCodeBench's loader picks release_vN as test.jsonl .. testN.jsonl, not by date: a row of
    test4.jsonl dated after the card's last month for v4 is still in v4, and test5.jsonl is not."""
    late = dict(_lcb_lines()[0], question_id="late_v4", contest_date="2024-10-05T00:00:00")
    early = dict(_lcb_lines()[0], question_id="early_v1", contest_date="2023-04-30T00:00:00")
    _jsonl(tmp_path / "test.jsonl", [early])
    _jsonl(tmp_path / "test4.jsonl", [late])
    _jsonl(tmp_path / "test5.jsonl", [dict(_lcb_lines()[1], question_id="v5_only")])
    ids = lambda **o: [r["problem_id"] for r in _rows("livecodebench", tmp_path, **o)]  # noqa: E731
    assert ids(release="release_v4") == ["early_v1", "late_v4"]
    assert ids(release="release_latest") == ids() == ["early_v1", "late_v4", "v5_only"]
    assert ids(release="release_v4", start_date="2024-10") == ["late_v4"]  # explicit dates still cut
    with pytest.raises(SourceError, match=r"3 rows skipped as outside the release's files or date window"):
        _rows("livecodebench", tmp_path, release="release_v4", end_date="2023-01")


def test_lcb_parquet_copy_with_timestamp_dates_and_integer_ids(tmp_path):
    rows = _lcb_lines()
    for r in rows:
        r["contest_date"] = datetime.datetime.fromisoformat(r["contest_date"])
    table = pa.Table.from_pylist(rows)
    assert table.schema.field("contest_date").type == pa.timestamp("us")
    pq.write_table(table, tmp_path / "test-00000-of-00001.parquet")
    got = _rows("livecodebench", tmp_path)
    want = _rows("livecodebench", PATHS["livecodebench"])
    assert got == want
    numeric = _parquet(tmp_path / "int" / "x.parquet", pa.Table.from_pylist([dict(_lcb_lines()[0], question_id=2848)]).to_pydict())
    assert _rows("livecodebench", numeric)[0]["problem_id"] == "2848"


LEETCODE_STARTER = "class Solution:\n    def topK(self, nums: List[int], k: int) -> List[int]:\n        "
LEETCODE_ANSWER = ("class Solution:\n    def topK(self, nums: List[int], k: int) -> List[int]:\n"
                   "        return tuple(heapq.nlargest(k, nums))\n")  # no imports: LiveCodeBench supplies them


def _leetcode_row() -> dict:
    public = [{"input": "[3, 1, 2]\n2", "output": "[3, 2]", "testtype": "functional"}]
    private = [{"input": "[5, 5, 1]\n1\n", "output": "[5]", "testtype": "functional"},  # a trailing newline
               {"input": "[]\n0", "output": "[]", "testtype": "functional"}]
    return {"question_title": "Top K", "question_content": "Return the k largest.", "platform": "leetcode",
            "question_id": "9001", "contest_id": "weekly-contest-999", "contest_date": "2025-03-01T00:00:00",
            "starter_code": LEETCODE_STARTER, "difficulty": "medium", "public_test_cases": json.dumps(public),
            "private_test_cases": encode_private(private), "metadata": json.dumps({"func_name": "topK"})}


def test_lcb_functional_tests_split_like_lcb_and_judge_like_its_runner(tmp_path):
    """Inputs are newline-separated JSON (blank lines skipped), outputs JSON; the program gets
    LiveCodeBench's implicit imports (List, heapq) and a returned tuple counts as the list."""
    row = _rows("livecodebench", _jsonl(tmp_path / "test6.jsonl", [_leetcode_row()]))[0]
    spec = parse_tests(row["tests"])
    assert spec.style == "call" and spec.fn_name == "topK" and spec.prelude == PRELUDE
    assert spec.inputs == [[[3, 1, 2], 2], [[5, 5, 1], 1], [[], 0]] and spec.expected == [[3, 2], [5], []]
    cfg = SandboxConfig(timeout_s=5, cpu_s=5, memory_mb=512)
    assert run_tests(LEETCODE_ANSWER, row["tests"], cfg).verdict is Verdict.CORRECT
    bare = json.dumps({k: v for k, v in json.loads(row["tests"]).items() if k != "prelude"})
    assert run_tests(LEETCODE_ANSWER, bare, cfg).verdict is Verdict.WRONG  # what it was before the prelude
    future = "from __future__ import annotations\n" + LEETCODE_ANSWER
    assert run_tests(future, row["tests"], cfg).verdict is Verdict.CORRECT
    assert with_prelude(future, "P = 1").splitlines()[:2] == ["from __future__ import annotations", "P = 1"]


def test_lcb_stdin_program_gets_the_same_imports():
    row = _rows("livecodebench", PATHS["livecodebench"])
    grid = next(r for r in row if r["problem_id"] == "fixt_a003")
    program = "h, w, k = map(int, stdin.readline().split())\nd = h + w - 2\nprint('Yes' if k >= d and (k - d) % 2 == 0 else 'No')"
    assert run_tests(program, grid["tests"], SandboxConfig(timeout_s=5, cpu_s=5)).verdict is Verdict.CORRECT


def test_lcb_private_tests_as_a_decoded_list_and_wrapped_base64(tmp_path):
    row = _leetcode_row()
    wrapped = dict(row, question_id="9002", private_test_cases="\n".join(
        row["private_test_cases"][i:i + 76] for i in range(0, len(row["private_test_cases"]), 76)))
    listed = dict(row, question_id="9003", private_test_cases=[
        {"input": "[5, 5, 1]\n1\n", "output": "[5]", "testtype": "functional"},
        {"input": "[]\n0", "output": "[]", "testtype": "functional"}])
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist([listed]), path)
    got = _rows("livecodebench", _jsonl(tmp_path / "a" / "test.jsonl", [row, wrapped]))
    assert got[0]["tests"] == got[1]["tests"] == _rows("livecodebench", path)[0]["tests"]


# ---- factory build eval on every shape -----------------------------------------------------

def test_build_eval_on_publisher_shaped_copies(store, tmp_path):
    aime_2024 = _parquet(tmp_path / "aimo" / "train.parquet", {
        "id": pa.array([0, 1], pa.int64()), "problem": ["P0", "P1"], "solution": ["", ""],
        "answer": ["033", "7"], "url": [_aops(2024, "I", 1), _aops(2024, "II", 1)]})
    aime_2025 = _parquet(tmp_path / "matharena" / "train.parquet", {
        "problem_idx": pa.array([1, 2], pa.int64()), "problem": ["P1", "P2"], "answer": pa.array([70, 588], pa.int64())})
    gpqa = _gpqa_csv(tmp_path / "gpqa_diamond.csv", GPQA_RECORDS)
    math_500 = _jsonl(tmp_path / "math" / "test.jsonl", _math_500_rows())
    rows = _lcb_lines() + [_leetcode_row()]
    for r in rows:
        r["contest_date"] = datetime.datetime.fromisoformat(r["contest_date"])
    (tmp_path / "lcb").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "lcb" / "test.parquet")
    paths = {"aime_2024": aime_2024, "aime_2025": aime_2025, "gpqa_diamond": gpqa, "math_500": math_500,
             "livecodebench": tmp_path / "lcb"}
    sets = ["--set", f"benchmarks=[{','.join(paths)}]", "--set", "k=1", "--quiet"]
    for name, path in paths.items():
        sets += ["--set", f"paths.{name}={path}"]
    res = CliRunner().invoke(app, ["--store", str(store.root), "build", "eval", *sets])
    assert res.exit_code == 0, res.output
    metrics = {m["benchmark"]: m for m in store.get("eval").manifest["metrics"]}
    assert {b: m["problems"] for b, m in metrics.items()} == {"aime_2024": 2, "aime_2025": 2, "gpqa_diamond": 2,
                                                              "math_500": len(LATEX_GOLDS), "livecodebench": 6}
