"""Procedural problems: exact golds (recomputed independently here), determinism, shards, languages, config."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import pyarrow as pa
import pytest

import schemas
from factory.sources.procedural import (
    BLOCK,
    DEFAULT_TASKS,
    PROCEDURAL_VERSION,
    TASKS,
    ProceduralConfig,
    ProceduralSource,
)
from factory.sources.procedural_math import tree_shapes

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def sample() -> pa.Table:
    return ProceduralSource(ProceduralConfig(n=20_000, seed=7)).to_table()


def rows_of(table: pa.Table, task: str) -> list[dict]:
    return [r for r in table.to_pylist() if json.loads(r["metadata"])["task"] == task]


def as_fraction(text: str) -> Fraction:
    match = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", text)
    if match:
        assert math.gcd(int(match[2]), int(match[3])) == 1 and int(match[3]) > 1, text  # reduced, not whole
        return Fraction(int(match[2]), int(match[3])) * (-1 if match[1] else 1)
    return Fraction(int(text))


def test_schema_ids_and_columns(sample):
    schemas.conform(sample, schemas.get("problems"))
    assert sample.num_rows == 20_000
    assert sample["problem_id"].to_pylist()[:3] == ["proc-7-0", "proc-7-1", "proc-7-2"]
    assert len(sample["problem_id"].unique()) == sample.num_rows
    assert set(sample["source"].to_pylist()) == {"procedural"}
    assert set(sample["difficulty"].to_pylist()) == {1, 2, 3, 4, 5}
    for row in sample.slice(0, 2000).to_pylist():
        meta = json.loads(row["metadata"])
        assert meta["task"] in TASKS
        assert row["domain"] == TASKS[meta["task"]][0]
        assert (row["answer"] is None) == (row["domain"] == "code") == (row["tests"] is not None)


def test_every_task_kind_and_both_languages_present(sample):
    tasks = Counter(json.loads(m)["task"] for m in sample["metadata"].to_pylist())
    assert set(tasks) == set(DEFAULT_TASKS)
    langs = Counter(sample["language"].to_pylist())
    assert 0.6 < langs["en"] / sample.num_rows < 0.8  # default mix 70/30
    assert 0.15 < Counter(sample["domain"].to_pylist())["code"] / sample.num_rows < 0.25
    for prompt, lang in zip(sample["prompt"].to_pylist()[:3000], sample["language"].to_pylist()):
        assert bool(CJK.search(prompt)) == (lang == "zh"), prompt


def test_arithmetic_golds(sample):
    rows = rows_of(sample, "arithmetic")
    assert len(rows) > 1000
    for row in rows:
        expr = json.loads(row["metadata"])["expression"]
        assert set(expr) <= set("0123456789+-*() ")
        assert eval(expr) == int(row["answer"])  # noqa: S307 - digits and operators only, checked above
        assert expr.replace("*", "\\times") in row["prompt"]


def test_fraction_golds(sample):
    ops = {"+": Fraction.__add__, "-": Fraction.__sub__, "*": Fraction.__mul__, "/": Fraction.__truediv__}
    for row in rows_of(sample, "fraction"):
        meta = json.loads(row["metadata"])
        value = Fraction(*meta["terms"][0])
        for term, op in zip(meta["terms"][1:], meta["ops"]):
            value = ops[op](value, Fraction(*term))
        assert as_fraction(row["answer"]) == value, row


def test_linear_equation_golds_satisfy_the_equation(sample):
    for row in rows_of(sample, "linear_equation"):
        m = json.loads(row["metadata"])
        x = as_fraction(row["answer"])
        assert m["a"] * x + m["b"] == m["d"] * x + m["c"], row


def test_combinatorics_and_sequence_golds(sample):
    for row in rows_of(sample, "combinatorics"):
        m = json.loads(row["metadata"])
        if m["kind"] == "arrangements":
            expected = math.factorial(len(m["word"]))
            for count in Counter(m["word"]).values():
                expected //= math.factorial(count)
            assert m["word"] in row["prompt"]
        else:
            expected = (math.comb if m["kind"] == "ncr" else math.perm)(m["n"], m["r"])
        assert int(row["answer"]) == expected, row
    for row in rows_of(sample, "sequence"):
        m = json.loads(row["metadata"])
        term = (lambda k: m["first"] * m["ratio"] ** (k - 1)) if m["kind"] == "geometric" else (
            lambda k: m["first"] + (k - 1) * m["step"])
        assert int(row["answer"]) == term(m["n"])
        assert ", ".join(str(term(k)) for k in range(1, 5)) in row["prompt"]


def test_code_reference_solutions_pass_their_own_tests(sample, tmp_path):
    picked: dict[str, dict] = {}
    for row in sample.filter(pa.compute.equal(sample["domain"], "code")).to_pylist():
        picked.setdefault(json.loads(row["metadata"])["kind"], row)
    stdio = {"sum", "max", "sort", "reverse_string", "count_vowels"}
    assert set(picked) == stdio | {"gcd", "is_prime", "fib", "reverse_words"}
    for kind, row in picked.items():
        meta, tests = json.loads(row["metadata"]), json.loads(row["tests"])
        assert len(tests["cases"]) >= 3
        assert f"```\n{tests['cases'][0].get('input', '')}" in row["prompt"] or tests["style"] == "call"
        if tests["style"] == "stdio":
            for case in tests["cases"]:
                run = subprocess.run([sys.executable, "-c", meta["solution"]], input=case["input"],
                                     capture_output=True, text=True, timeout=30)
                assert run.stdout == case["output"], (kind, case, run.stderr)
        else:
            script = tmp_path / f"{kind}.py"
            script.write_text(meta["solution"] + "\nimport json, sys\ncases = json.loads(sys.stdin.read())\n"
                              f"print(json.dumps([{tests['fn_name']}(*c['args']) == c['expected'] for c in cases]))\n")
            run = subprocess.run([sys.executable, str(script)], input=json.dumps(tests["cases"]),
                                 capture_output=True, text=True, timeout=30)
            assert json.loads(run.stdout) == [True] * len(tests["cases"]), (kind, run.stderr)


def test_deterministic_by_seed_and_independent_of_batch_size():
    config = ProceduralConfig(n=BLOCK + 1500, seed=11)
    full = ProceduralSource(config).to_table()
    assert ProceduralSource(config).to_table(batch_size=777).equals(full)
    assert not ProceduralSource(ProceduralConfig(n=BLOCK + 1500, seed=12)).to_table()["prompt"].equals(full["prompt"])
    smaller = ProceduralSource(ProceduralConfig(n=300, seed=11)).to_table()
    assert smaller.equals(full.slice(0, 300))  # problem i depends on (seed, i), not on n


def test_shards_and_ranges_reassemble_the_full_set():
    source = ProceduralSource(ProceduralConfig(n=2 * BLOCK + 123, seed=5))
    full = source.to_table()
    shards = [source.shard(rank, 3) for rank in range(3)]
    assert sum(len(s) for s in shards) == len(source)
    assert pa.concat_tables(s.to_table(batch_size=1000) for s in shards).equals(full)
    middle = pa.Table.from_batches(list(source.range_batches(BLOCK - 10, BLOCK + 10, batch_size=7)))
    assert middle.equals(full.slice(BLOCK - 10, 20))
    assert len({s.fingerprint() for s in shards} | {source.fingerprint()}) == 4


def test_fingerprint_and_describe():
    a = ProceduralSource(ProceduralConfig(n=10, seed=1))
    assert a.fingerprint() == ProceduralSource(ProceduralConfig(n=10, seed=1)).fingerprint()
    assert a.fingerprint() != ProceduralSource(ProceduralConfig(n=10, seed=2)).fingerprint()
    described = a.describe()
    assert described["version"] == PROCEDURAL_VERSION and described["config"]["seed"] == 1
    json.dumps(described)


@pytest.mark.parametrize(
    ("options", "check"),
    [
        ({"languages": {"zh": 1}}, lambda t: set(t["language"].to_pylist()) == {"zh"}),
        ({"languages": "en:1|zh:1"}, lambda t: set(t["language"].to_pylist()) == {"en", "zh"}),
        ({"code_share": 0}, lambda t: set(t["domain"].to_pylist()) == {"math"}),
        ({"code_share": 1}, lambda t: set(t["domain"].to_pylist()) == {"code"}),
        ({"tasks": {"linear_equation": 1}, "code_share": 0},
         lambda t: {json.loads(m)["task"] for m in t["metadata"].to_pylist()} == {"linear_equation"}),
    ],
)
def test_config_mixes(options, check):
    assert check(ProceduralSource(ProceduralConfig(n=500, **options)).to_table())


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"tasks": {"calculus": 1}}, "unknown names"),
        ({"languages": {"fr": 1}}, "unknown names"),
        ({"languages": {"en": -1, "zh": 2}}, "non-negative"),
        ({"code_share": 1.5}, "code_share"),
        ({"tasks": {"arithmetic": 1}}, "code_share=0"),
        ({"n": -1}, "n=-1"),
    ],
)
def test_bad_config_raises_value_error(options, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        ProceduralConfig(**options)


def test_bad_ranges_raise_value_error():
    source = ProceduralSource(ProceduralConfig(n=10))
    with pytest.raises(ValueError, match="start"):
        list(source.range_batches(5, 11))
    with pytest.raises(ValueError, match="rank"):
        source.shard(3, 3)


def test_tree_shapes_are_catalan():
    assert [len(tree_shapes(k)) for k in range(1, 6)] == [1, 1, 2, 5, 14]


def test_large_generation_runs():
    rows = sum(b.num_rows for b in ProceduralSource(ProceduralConfig(n=200_000, seed=1)).batches())
    assert rows == 200_000


def test_add_sub_golds_and_off_by_default():
    """The recipe's task: two numbers up to 99, + or -; exact golds; not in the default mix."""
    assert "add_sub" in TASKS and "add_sub" not in DEFAULT_TASKS
    table = ProceduralSource(ProceduralConfig(n=3000, seed=1, tasks="add_sub", languages="en", code_share=0)).to_table()
    exprs = [json.loads(m)["expression"] for m in table["metadata"].to_pylist()]
    assert all(eval(e) == int(a) for e, a in zip(exprs, table["answer"].to_pylist()))  # noqa: S307 - digits, + and -
    assert max(int(n) for e in exprs for n in e.split()[::2]) == 50
    assert {e.split()[1] for e in exprs} == {"+", "-"}
    assert set(table["difficulty"].to_pylist()) == {1, 2, 3, 4, 5}
