"""File and Hugging Face sources: round trips into problems batches, mapping, fingerprints, clear errors."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import schemas
from factory.sources.base import Source, SourceError, problem_ids, rebatch
from factory.sources.files import FileSource
from factory.sources.hf import HFSource
from factory.sources.procedural import ProceduralSource
from factory.sources.registry import source_from_spec

PROBLEMS = schemas.get("problems")
ROWS = [
    {"question": "What is 2 + 3?", "solution": "5", "level": 1},
    {"question": "What is 7 * 6?", "solution": "42", "level": 2},
    {"question": "Solve x + 1 = 3.", "solution": "2", "level": 3},
]
MAPPING = {"question": "prompt", "solution": "answer", "level": "difficulty"}
DEFAULTS = {"domain": "math", "source": "toy"}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write(tmp_path, fmt, rows=ROWS, name="toy"):
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "jsonl":
        write_jsonl(path, rows)
    elif fmt == "json":
        path.write_text(json.dumps(rows))
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        pacsv.write_csv(pa.Table.from_pylist(rows), path)
    return path


def assert_problems(table: pa.Table) -> None:
    assert table.schema.names[: len(PROBLEMS.schema)] == PROBLEMS.schema.names
    schemas.conform(table, PROBLEMS)  # raises when a type is off


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet", "csv"])
def test_file_formats_round_trip_with_mapping_and_defaults(tmp_path, fmt):
    src = FileSource(write(tmp_path, fmt), mapping=MAPPING, defaults=DEFAULTS)
    table = src.to_table()
    assert_problems(table)
    assert table["prompt"].to_pylist() == [r["question"] for r in ROWS]
    assert table["answer"].to_pylist() == ["5", "42", "2"]
    assert table["difficulty"].to_pylist() == [1, 2, 3]
    assert set(table["domain"].to_pylist()) == {"math"} and set(table["source"].to_pylist()) == {"toy"}
    expected_ids = problem_ids(table["source"].combine_chunks(), table["prompt"].combine_chunks())
    assert table["problem_id"].to_pylist() == expected_ids.to_pylist()
    assert table["problem_id"][0].as_py().startswith("toy-")


def test_problem_id_is_stable_and_kept_when_present(tmp_path):
    a = FileSource(write(tmp_path, "jsonl"), mapping=MAPPING, defaults=DEFAULTS).to_table()
    b = FileSource(write(tmp_path, "parquet", rows=ROWS[::-1]), mapping=MAPPING, defaults=DEFAULTS).to_table()
    assert a["problem_id"].to_pylist() == b["problem_id"].to_pylist()[::-1]  # order and format do not matter
    given = [{**r, "problem_id": f"p{i}"} for i, r in enumerate(ROWS)]
    c = FileSource(write(tmp_path, "jsonl", given, name="given"), mapping=MAPPING).to_table()
    assert c["problem_id"].to_pylist() == ["p0", "p1", "p2"]
    assert c["source"].to_pylist() == ["given"] * 3  # default source name: the file stem


def test_csv_keeps_text_answers_verbatim(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("prompt,answer\nWhich code?,007\n")
    assert FileSource(path).to_table()["answer"].to_pylist() == ["007"]


def test_folder_and_glob_read_every_file_in_order(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder, "jsonl", ROWS[:2], name="a")
    write(folder, "parquet", ROWS[2:], name="b")
    (folder / "README.md").write_text("not data")
    by_folder = FileSource(folder, mapping=MAPPING).to_table()
    assert by_folder["prompt"].to_pylist() == [r["question"] for r in ROWS]
    assert by_folder["source"][0].as_py() == "data"
    by_glob = FileSource(str(folder / "*.jsonl"), mapping=MAPPING).to_table()
    assert by_glob.num_rows == 2


def test_jsonl_streams_in_small_chunks_with_mixed_types_and_nested_tests(tmp_path):
    rows = [{"prompt": f"p{i}", "answer": i if i % 2 else str(i)} for i in range(50)]
    rows[7]["tests"] = {"style": "call", "fn_name": "f", "cases": [{"args": [1, "a"], "expected": True}]}
    rows[9]["tests"] = {"style": "stdio", "cases": []}
    src = FileSource(write_jsonl(tmp_path / "mixed.jsonl", rows), chunk_bytes=64)
    batches = list(src.batches(batch_size=8))
    assert [b.num_rows for b in batches] == [8] * 6 + [2]
    table = pa.Table.from_batches(batches)
    assert table["answer"].to_pylist() == [str(i) for i in range(50)]
    assert json.loads(table["tests"][7].as_py()) == rows[7]["tests"]  # nested JSON kept exactly, no added keys
    assert json.loads(table["tests"][9].as_py()) == rows[9]["tests"]
    assert table.equals(FileSource(tmp_path / "mixed.jsonl").to_table())  # batch/chunk sizes do not change data


def test_file_fingerprint_follows_content_and_mapping(tmp_path):
    first = write(tmp_path, "jsonl")
    other = tmp_path / "copy"
    other.mkdir()
    copy = shutil.copy(first, other / "toy.jsonl")
    fp = FileSource(first, mapping=MAPPING).fingerprint()
    assert FileSource(copy, mapping=MAPPING).fingerprint() == fp  # same bytes elsewhere: same fingerprint
    assert FileSource(first, mapping={**MAPPING, "level": "metadata"}).fingerprint() != fp
    write_jsonl(first, ROWS[:2])
    assert FileSource(first, mapping=MAPPING).fingerprint() != fp
    assert FileSource(first, mapping=MAPPING).describe()["mapping"] == MAPPING


def text_file(name, text):
    def make(tmp_path):
        (tmp_path / name).write_text(text)
        return tmp_path / name

    return make


def _garbage_parquet(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all" * 10)
    return path


ABSENT = {"problem": "prompt"}
BAD_INPUTS = {  # name -> (make the input under tmp_path, FileSource kwargs, substrings of the error)
    "missing prompt": (lambda p: write(p, "jsonl"), {}, ["toy.jsonl", "'prompt'", "mapping"]),
    "mapped column absent": (lambda p: write(p, "jsonl"), {"mapping": ABSENT}, ["toy.jsonl", "'problem'"]),
    "mapped column absent (parquet)": (lambda p: write(p, "parquet"), {"mapping": ABSENT}, ["'problem'"]),
    "wrong type": (lambda p: write_jsonl(p / "t.jsonl", [{"prompt": 5}]), {}, ["t.jsonl", "'prompt'", "string"]),
    "wrong type parquet": (lambda p: write(p, "parquet", [{"prompt": 1.5}]), {}, ["toy.parquet", "'prompt'", "string"]),
    "corrupt parquet": (_garbage_parquet, {}, ["broken.parquet", "Parquet"]),
    "empty file": (text_file("e.jsonl", ""), {}, ["e.jsonl", "empty"]),
    "blank jsonl": (text_file("w.jsonl", "\n \n"), {}, ["w.jsonl", "no records"]),
    "unknown extension": (text_file("x.txt", "hi"), {}, ["x.txt", ".txt"]),
    "invalid json": (text_file("bad.jsonl", '{"prompt": "ok"}\n{"prompt": oops}\n'), {}, ["line 2", "invalid JSON"]),
    "bad csv": (text_file("bad.csv", "prompt,answer\na,1\nb,2,3\n"), {}, ["bad.csv", "CSV"]),
    "null prompt": (lambda p: write_jsonl(p / "n.jsonl", [{"prompt": "a"}, {"prompt": None}]), {}, ["row 2", "null"]),
    "missing file": (lambda p: p / "nope.jsonl", {}, ["nope.jsonl", "no such file"]),
    "empty glob": (lambda p: str(p / "*.parquet"), {}, ["*.parquet", "no files"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_clear_line(tmp_path, case):
    make, kwargs, needles = BAD_INPUTS[case]
    target = make(tmp_path)
    with pytest.raises(SourceError) as info:
        FileSource(target, **kwargs).to_table()
    message = str(info.value)
    assert "\n" not in message
    assert str(target) in message  # every error names the file (or pattern)
    for needle in needles:
        assert needle in message, (needle, message)


def test_bad_settings_raise_value_error(tmp_path):
    path = write(tmp_path, "jsonl")
    with pytest.raises(ValueError, match="not a problems column"):
        FileSource(path, mapping={"question": "promt"})
    with pytest.raises(ValueError, match="format"):
        FileSource(path, format="xml")
    with pytest.raises(ValueError, match="batch_size"):
        next(FileSource(path, mapping=MAPPING).batches(0))


def test_rebatch_exact_sizes():
    batches = [pa.record_batch({"x": list(range(k))}) for k in (3, 0, 5, 1)]
    out = list(rebatch(batches, 4))
    assert [b.num_rows for b in out] == [4, 4, 1]
    assert sum((b["x"].to_pylist() for b in out), []) == [0, 1, 2, 0, 1, 2, 3, 4, 0]


# -- Hugging Face ---------------------------------------------------------------------------------


def test_hf_json_builder_with_data_files(tmp_path):
    path = write(tmp_path, "jsonl")
    src = HFSource("json", data_files=str(path), split="train", mapping=MAPPING, defaults=DEFAULTS,
                   cache_dir=str(tmp_path / "cache"))
    table = src.to_table(batch_size=2)
    assert_problems(table)
    assert table["answer"].to_pylist() == ["5", "42", "2"]
    assert table.equals(FileSource(path, mapping=MAPPING, defaults=DEFAULTS).to_table())


def test_hf_local_folder_and_streaming(tmp_path):
    folder = tmp_path / "toy_dataset"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "data" / "train-00000-of-00001.parquet")
    kwargs = dict(split="train", mapping=MAPPING, defaults={"domain": "math"}, cache_dir=str(tmp_path / "cache"))
    table = HFSource(str(folder), **kwargs).to_table()
    assert_problems(table)
    assert table["prompt"].to_pylist() == [r["question"] for r in ROWS]
    assert table["source"].to_pylist() == ["toy_dataset"] * 3
    streamed = HFSource(str(folder), streaming=True, **kwargs).to_table()
    assert streamed.equals(table)
    copy = shutil.copytree(folder, tmp_path / "elsewhere" / "toy_dataset")
    fp = HFSource(str(folder), **kwargs).fingerprint()
    assert HFSource(str(copy), **kwargs).fingerprint() == fp  # content-derived, not path- or mtime-derived
    assert HFSource(str(folder), **{**kwargs, "mapping": {"question": "prompt"}}).fingerprint() != fp


def test_hf_errors_are_one_line(tmp_path):
    with pytest.raises(SourceError, match="cannot load dataset") as info:
        HFSource(str(tmp_path / "missing"), cache_dir=str(tmp_path / "cache")).to_table()
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="split"):
        HFSource("org/name", split="")


# -- specs ----------------------------------------------------------------------------------------


def test_source_from_spec_strings_and_dicts(tmp_path):
    path = write(tmp_path, "jsonl")
    assert isinstance(source_from_spec(str(path)), FileSource)
    assert source_from_spec(f"files:{path}").files == FileSource(path).files
    proc = source_from_spec("procedural:n=100,seed=2,languages=zh,code_share=0")
    assert isinstance(proc, ProceduralSource) and len(proc) == 100 and proc.config.seed == 2
    assert dict(proc.config.languages) == {"zh": 1.0}
    hf = source_from_spec("hf:openai/gsm8k?name=main&split=test")  # nothing is loaded until used
    assert (hf.path, hf.name, hf.split) == ("openai/gsm8k", "main", "test")
    spec = {"kind": "hf", "path": "json", "data_files": str(path), "split": "train", "mapping": MAPPING,
            "cache_dir": str(tmp_path / "cache")}
    assert source_from_spec(spec).to_table().num_rows == 3
    assert source_from_spec({"kind": "procedural", "n": 5}).to_table().num_rows == 5
    assert isinstance(source_from_spec(proc), Source)


@pytest.mark.parametrize("spec", ["", {"kind": "ftp"}, "procedural:n", {"kind": "files", "path": "x", "bogus": 1}])
def test_bad_specs_raise_value_error(spec):
    with pytest.raises(ValueError):
        source_from_spec(spec)


def test_in_background_yields_in_order_reraises_and_stops_its_thread():
    import threading

    from factory.sources.base import in_background

    assert list(in_background(iter(range(50)), "t-order")) == list(range(50))

    def failing():
        yield 1
        raise ValueError("row 7: bad")

    got = []
    with pytest.raises(ValueError, match="row 7"):
        for item in in_background(failing(), "t-fail"):
            got.append(item)
    assert got == [1]

    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    stream = in_background(endless(), "t-stop", depth=2)
    assert next(stream) == 0
    stream.close()  # the consumer gives up: the producer must not run on
    assert not any(t.name == "t-stop" for t in threading.enumerate())
    assert len(produced) <= 5
