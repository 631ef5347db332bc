"""The restricted unpickler of LiveCodeBench's private tests: plain data loads, nothing else, and no code runs."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zlib

import pytest

from factory.evals.benchmarks import load_benchmark
from factory.evals.livecodebench import UnsafePickle, decode_private_tests, safe_unpickle
from factory.sources.base import SourceError


class _RunsCode:
    """Unpickling this with plain ``pickle.loads`` would run ``os.system``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Instance:
    pass


def _cell(obj) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(obj))).decode()


def test_the_exploit_really_runs_code_under_plain_pickle(tmp_path):
    marker = tmp_path / "plain"
    pickle.loads(pickle.dumps(_RunsCode(marker)))  # the baseline: this is what we must never do
    assert marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    data = pickle.dumps(_RunsCode(marker), protocol=protocol)
    with pytest.raises(UnsafePickle, match=r"refused to load (posix|os|nt)\.system"):
        safe_unpickle(data)
    with pytest.raises(UnsafePickle, match="refused to load"):
        decode_private_tests(base64.b64encode(zlib.compress(data)).decode())
    assert not marker.exists()


def test_hidden_inside_plain_data_is_refused_too(tmp_path):
    marker = tmp_path / "nested"
    with pytest.raises(UnsafePickle):
        safe_unpickle(pickle.dumps([{"input": "1", "output": _RunsCode(marker)}]))
    assert not marker.exists()


@pytest.mark.parametrize("obj", [_Instance(), {1, 2}, (1, 2), b"bytes", {1: "int key"}, complex(1, 2)])
def test_anything_but_plain_str_list_dict_numbers_is_refused(obj):
    with pytest.raises(UnsafePickle):
        safe_unpickle(pickle.dumps(obj))


def test_plain_data_loads():
    obj = [{"input": "1\n", "output": "2", "n": 3, "x": 1.5, "ok": True, "none": None}]
    assert safe_unpickle(pickle.dumps(obj)) == obj
    assert safe_unpickle(pickle.dumps(json.dumps(obj))) == json.dumps(obj)


def test_a_malicious_row_fails_the_import_with_file_row_and_column(tmp_path):
    marker = tmp_path / "from-row"
    row = {"question_title": "t", "question_content": "q", "platform": "atcoder", "question_id": "q1",
           "contest_id": "c", "contest_date": "2024-06-01T00:00:00", "starter_code": "", "difficulty": "easy",
           "public_test_cases": json.dumps([{"input": "1", "output": "1", "testtype": "stdin"}]),
           "private_test_cases": _cell(_RunsCode(marker)), "metadata": "{}"}
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(SourceError, match=r"row 1: column 'private_test_cases' cannot be decoded: refused to load"):
        load_benchmark("livecodebench", path).to_table()
    assert not marker.exists()
