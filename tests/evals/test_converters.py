"""Benchmark converters on fixtures in the publishers' own file formats (see fixtures/evalsets/make_fixtures.py)."""

from __future__ import annotations

import base64
import doctest
import json
import pickle
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.evals import benchmarks, fields, gpqa, livecodebench, math_sets
from factory.evals.benchmarks import BENCHMARKS, load_benchmark, problems_config
from factory.sandbox.cases import parse_tests
from factory.sources.base import PROBLEMS, SourceError
from tests.support.paths import EVALSET_PATHS as PATHS
from tests.support.paths import EVALSETS


def _rows(name):
    return [json.loads(line) for line in (EVALSETS / "rows" / f"{name}.jsonl").read_text().splitlines()]


def _table(name, path=None, **options):
    return load_benchmark(name, path or PATHS[name], **options).to_table()


@pytest.mark.parametrize("module", [benchmarks, fields, gpqa, livecodebench, math_sets])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_benchmark_converts_to_the_problems_schema(name):
    table = _table(name)
    assert table.schema == PROBLEMS.schema and table.num_rows >= 5
    assert set(table.column("source").to_pylist()) == {name}
    assert len(set(table.column("problem_id").to_pylist())) == table.num_rows
    gold = "tests" if name == "livecodebench" else "answer"
    assert table.column(gold).null_count == 0
    assert set(PATHS) == set(BENCHMARKS)


def test_aime_2024_both_publisher_layouts():
    h4 = _table("aime_2024")  # parquet, id int64, answer string
    assert h4.column("problem_id").to_pylist()[:2] == ["aime_2024-101", "aime_2024-102"]
    assert h4.column("answer").to_pylist() == [r["answer"] for r in _rows("aime_2024")]
    assert pq.read_schema(PATHS["aime_2024"] / "train-00000-of-00001.parquet").field("id").type == pa.int64()
    maxwell = _table("aime_2024", EVALSETS / "aime_2024_maxwell")  # ID/Problem/Answer int64
    assert maxwell.column("answer").to_pylist() == ["117", "481"]
    assert maxwell.column("prompt").to_pylist() == h4.column("prompt").to_pylist()[:2]


def test_aime_2025_reads_both_parts_with_stable_ids():
    t = _table("aime_2025")
    assert t.column("answer").to_pylist() == ["70", "117", "37", "468", "49"]
    assert t.column("problem_id").to_pylist() == _table("aime_2025").column("problem_id").to_pylist()


def test_math_500_level_is_difficulty_and_subject_metadata():
    t = _table("math_500").to_pylist()
    assert t[0]["problem_id"] == "test/algebra/9001.json" and t[0]["difficulty"] == 3
    assert json.loads(t[0]["metadata"]) == {"subject": "Algebra"} and t[3]["answer"] == "\\frac{13}{2}"


def test_gpqa_prompt_shows_four_lettered_options_and_gold_is_the_letter():
    rows, raw = _table("gpqa_diamond").to_pylist(), _rows("gpqa_diamond")
    golds = []
    for row, src in zip(rows, raw):
        choices = json.loads(row["metadata"])["choices"]
        assert list(choices) == ["A", "B", "C", "D"]
        assert choices[row["answer"]] == src["Correct Answer"].strip()  # the CSV's stray space is gone
        assert {src[f"Incorrect Answer {i}"] for i in (1, 2, 3)} == {v for k, v in choices.items() if k != row["answer"]}
        for letter, text in choices.items():
            assert f"\n{letter}) {text}\n" in row["prompt"] + "\n"
        assert row["prompt"].startswith(src["Question"].split(".")[0]) and "Answer: X" in row["prompt"]
        golds.append(row["answer"])
    assert len(set(golds)) > 1  # the correct answer is not always in the same place
    assert "\nWhich functional group" in rows[1]["prompt"]  # a multi-line CSV cell survives


def test_gpqa_shuffle_is_a_function_of_the_record_id_only():
    order = gpqa.shuffled_options("recX1", ["a", "b", "c", "d"])
    assert sorted(order) == [0, 1, 2, 3]
    assert order == gpqa.shuffled_options("recX1", ["other"] * 4)  # the texts do not matter, the id does
    assert len({tuple(gpqa.shuffled_options(f"rec{i}", ["a"] * 4)) for i in range(40)}) > 5
    assert _table("gpqa_diamond").column("answer").to_pylist() == _table("gpqa_diamond").column("answer").to_pylist()


def test_livecodebench_public_and_private_tests_in_the_project_format():
    rows = {r["problem_id"]: r for r in _table("livecodebench").to_pylist()}
    stdin = parse_tests(rows["fixt_a001"]["tests"])
    assert stdin.style == "stdio" and stdin.inputs == ["4\n(())\n", "3\n)((\n", "2\n()\n", "6\n())(()\n"]
    call = parse_tests(rows["fixt_l002"]["tests"])
    assert call.style == "call" and call.fn_name == "longestCalm"
    assert call.inputs == [[[8, 2, 4, 7], 4], [[10, 1, 2, 4, 7, 2], 5], [[4, 2, 2, 2, 4, 4, 2, 2], 0]]
    assert call.expected == [2, 4, 3]
    assert len(parse_tests(rows["fixt_a003"]["tests"]).inputs) == 4  # private tests stored as plain JSON text
    assert len(parse_tests(rows["fixt_c004"]["tests"]).inputs) == 1  # an empty private list
    meta = json.loads(rows["fixt_l002"]["metadata"])
    assert meta["private_tests"] == 2 and meta["difficulty"] == "medium" and rows["fixt_l002"]["difficulty"] == 3
    assert "class Solution:" in rows["fixt_l002"]["prompt"] and "standard input" in rows["fixt_a001"]["prompt"]


def test_livecodebench_release_and_date_window():
    assert _table("livecodebench", release="release_v4").column("problem_id").to_pylist() == ["fixt_a001"]
    window = _table("livecodebench", start_date="2024-11", end_date="2024-12-31")
    assert window.column("problem_id").to_pylist() == ["fixt_a003", "fixt_c004"]
    assert livecodebench.RELEASES["release_v6"][0][-1] == "test6.jsonl" and livecodebench.RELEASES["release_v1"][0] == ("test.jsonl",)
    with pytest.raises(SourceError, match="no livecodebench problems"):
        _table("livecodebench", release="release_v1")
    with pytest.raises(ValueError, match="release='v9' is unknown"):
        load_benchmark("livecodebench", PATHS["livecodebench"], release="v9")
    with pytest.raises(ValueError, match="unknown options"):
        load_benchmark("math_500", PATHS["math_500"], release="release_v6")


def test_livecodebench_parquet_copy_reads_the_same(tmp_path):
    rows = [json.loads(line) for f in sorted(PATHS["livecodebench"].glob("*.jsonl")) for line in f.read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "test-00000-of-00001.parquet")
    assert _table("livecodebench", tmp_path).to_pylist() == _table("livecodebench").to_pylist()


def _lcb_row(**changes):
    row = json.loads((PATHS["livecodebench"] / "test4.jsonl").read_text().splitlines()[0])
    row.update(changes)
    return row


@pytest.mark.parametrize("changes, message", [
    ({"public_test_cases": "[{oops"}, "column 'public_test_cases' is not valid JSON"),
    ({"private_test_cases": "@@not-base64@@"}, "column 'private_test_cases' cannot be decoded"),
    ({"public_test_cases": json.dumps([{"input": "1", "output": "1", "testtype": "magic"}])}, "testtype stdin|functional"),
    ({"metadata": "{}", "public_test_cases": json.dumps([{"input": "1", "output": "1", "testtype": "functional"}]),
      "private_test_cases": "[]"}, "no func_name"),
    ({"question_content": None}, "column 'question_content' is empty"),
    ({"public_test_cases": "[]", "private_test_cases": "[]"}, "hold no tests"),
])
def test_malformed_livecodebench_row_names_file_row_and_column(tmp_path, changes, message):
    bad = tmp_path / "test.jsonl"
    bad.write_text(json.dumps(_lcb_row()) + "\n" + json.dumps(_lcb_row(question_id="x2", **changes)) + "\n")
    with pytest.raises(SourceError, match=message) as e:
        _table("livecodebench", bad)
    assert str(e.value).startswith(f"{bad} row 2: ")


def test_wrong_file_for_a_benchmark_names_the_missing_column():
    with pytest.raises(SourceError, match=r"math_500/test.jsonl row 1: column 'Question' is missing"):
        _table("gpqa_diamond", PATHS["math_500"])
    with pytest.raises(SourceError, match=r"column 'ID' is missing|column 'id' is missing"):
        _table("aime_2024", PATHS["math_500"])
    with pytest.raises(SourceError, match="no such file or folder"):
        load_benchmark("math_500", "/no/such/file.jsonl")
    with pytest.raises(ValueError, match="'aime_2099' is unknown"):
        load_benchmark("aime_2099")


def test_problems_config_goes_through_the_problems_builder(store):
    from factory.api.build import run_build

    res = run_build(store, "problems", problems_config("gpqa_diamond", PATHS["gpqa_diamond"]), name="eval-gpqa")
    assert res.snapshot.num_rows == 5
    assert res.snapshot.to_arrow().column("answer").to_pylist() == _table("gpqa_diamond").column("answer").to_pylist()


def test_hub_specs_match_the_cards():
    assert (BENCHMARKS["gpqa_diamond"].hub, BENCHMARKS["gpqa_diamond"].config) == ("Idavidrein/gpqa", "gpqa_diamond")
    assert BENCHMARKS["math_500"].split == "test" and BENCHMARKS["aime_2024"].split == "train"
    assert BENCHMARKS["aime_2025"].configs == ("AIME2025-I", "AIME2025-II")
    assert {b.grader for b in BENCHMARKS.values()} == {"math", "choice", "code"}


def test_private_tests_decode_like_livecodebench_ships_them():
    tests = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    cell = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()
    assert livecodebench.decode_private_tests(cell) == tests
    assert livecodebench.decode_private_tests(json.dumps(tests)) == tests
    assert livecodebench.decode_private_tests("") == []
