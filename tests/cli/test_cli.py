"""CLI end to end on local files: build, ls, show, sql, export, gc; bad input gives one clear line."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from factory.cli.app import app


@pytest.fixture
def cli(store):
    runner = CliRunner()

    def run(*args, ok=True):
        res = runner.invoke(app, ["--store", str(store.root), *args])
        if ok:
            assert res.exit_code == 0, (res.output, res.stderr if hasattr(res, "stderr") else "")
        return res

    return run


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "gsm.jsonl"
    rows = [{"question": f"What is {i} + {i}?", "solution": str(2 * i), "id": f"g{i}"} for i in range(20)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def build_args(path):
    return ["build", "problems", "--quiet", "--set", f"source={path}", "--set", "mapping.question=prompt",
            "--set", "mapping.solution=answer", "--set", "mapping.id=problem_id", "--set", "defaults.domain=math"]


def test_build_ls_show_sql_export(cli, jsonl, tmp_path, store):
    res = cli(*build_args(jsonl))
    assert "built: problems@" in res.output
    again = cli(*build_args(jsonl))
    assert "cache hit" in again.output
    assert "problems" in cli("ls").output
    shown = cli("show", "problems").output
    assert "splits" in shown and "source problems" in shown
    out = cli("sql", "select count(*) as n, min(answer) as lo from problems").output
    assert "20" in out
    cli("sql", "select * from problems", "--format", "parquet", "--output", str(tmp_path / "q.parquet"))
    assert duckdb.connect().execute(f"select count(*) from '{tmp_path / 'q.parquet'}'").fetchone() == (20,)
    cli("export", "problems", "--to", str(tmp_path / "exported"))
    import datasets

    ds = datasets.load_dataset(str(tmp_path / "exported"))
    assert ds["train"].num_rows == 20 and ds["train"][0]["domain"] == "math"
    polars_rows = store.get("problems").scan().collect().height
    assert polars_rows == 20
    cli("catalog", "rebuild")
    assert "would remove 0" in cli("gc").output


def test_gc_removes_unreferenced_old_versions(cli, jsonl, tmp_path, store):
    cli(*build_args(jsonl))
    other = tmp_path / "other.jsonl"
    other.write_text(jsonl.read_text().replace("What", "Compute"))
    cli(*build_args(other))
    assert len(store.list("problems")) == 2
    assert "would remove 1" in cli("gc").output
    cli("gc", "--yes")
    (left,) = store.list("problems")
    assert left.id == store.get("problems").id


@pytest.mark.parametrize(
    "content, suffix, needle",
    [
        ('{"question": "q"}\n', ".jsonl", "solution"),
        ('{"question": "q", "solution": "1", "id": "a", "difficulty": "hard"}\n', ".jsonl", "difficulty"),
        ("PAR1garbagegarbage", ".parquet", "bad.parquet"),
    ],
    ids=["missing-column", "wrong-type", "corrupt-parquet"],
)
def test_bad_input_one_line_and_nothing_lost(cli, jsonl, tmp_path, store, content, suffix, needle):
    cli(*build_args(jsonl))
    before = [s.ref for s in store.list()]
    bad = tmp_path / f"bad{suffix}"
    bad.write_text(content)
    args = build_args(bad) + (["--set", "defaults.difficulty=x"] if False else [])
    res = cli(*args, ok=False)
    assert res.exit_code == 1
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert [s.ref for s in store.list()] == before


def test_unknown_snapshot(cli, store):
    res = cli("show", "nope", ok=False)
    assert res.exit_code == 1
    assert res.stderr.strip() == f"error: unknown snapshot 'nope' in store {store.root} (the store is empty)"
    res = cli("sql", "select * from nope", ok=False)
    assert res.exit_code == 1 and res.stderr.startswith("error: SQL error")
