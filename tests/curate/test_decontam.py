"""Decontamination against eval sets loaded as sources: 13-gram and 8-gram passes, short texts, CJK, report."""

from __future__ import annotations

import doctest
import json

import pyarrow as pa
import pytest

from factory.curate import decontam
from factory.curate.decontam import DecontamConfig, Decontaminator
from factory.curate.dedup import DedupConfig, dedup_and_decontaminate
from factory.curate.ngrams import normalize
from factory.evals.benchmarks import load_evalset
from factory.sources import source_from_spec
from tests.support.paths import EVALSET_PATHS as EVAL_PATHS
from tests.support.paths import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "evalsets"
PATHS = {name: str(path) for name, path in EVAL_PATHS.items()}


def _raw(name):
    path = FIXTURES / "math_500" / "test.jsonl" if name == "math_500" else FIXTURES / "rows" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _table(prompts):
    return pa.table({"problem_id": [f"t{i}" for i in range(len(prompts))], "prompt": prompts})


@pytest.fixture(scope="module")
def decontaminator():
    return Decontaminator.from_evalsets(paths=PATHS)


def test_doctests():
    assert doctest.testmod(decontam).failed == 0


# -- eval sets as sources ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["aime_2024", "math_500", "gpqa_diamond", "livecodebench"])
def test_evalset_for_decontamination_is_the_bare_question(name):
    table = load_evalset(name, PATHS[name]).to_table()
    question = {"aime_2024": "problem", "math_500": "problem", "gpqa_diamond": "Question",
                "livecodebench": "question_content"}[name]
    got = [" ".join(p.split()) for p in table.column("prompt").to_pylist()]  # the CSV has a multi-line cell
    assert got == [" ".join(r[question].split()) for r in _raw(name)]  # no options, no instructions
    assert set(table.column("source").to_pylist()) == {name}
    assert table.column("domain").null_count == 0


def test_evalset_registry_points_at_the_hub():
    src = load_evalset("gpqa_diamond")
    assert src.describe()["path"] == "Idavidrein/gpqa" and src.spec.config == "gpqa_diamond"
    assert load_evalset("aime_2024", PATHS["aime_2024"]).path.endswith("evalsets/aime_2024")
    assert load_evalset("livecodebench").convert.files[-1] == "test6.jsonl"
    assert load_evalset("math_500").spec.split == "test"
    with pytest.raises(ValueError, match="'aime_2099' is unknown"):
        load_evalset("aime_2099")


# -- matching ------------------------------------------------------------------------------------


def test_embedded_eval_problem_is_removed_by_13gram(decontaminator):
    problem = _raw("aime_2024")[1]["problem"]
    t = _table([f"Here is a nice exercise for you. {problem} Think step by step.", "What is 2 + 3?"])
    kept, rejects, report = decontaminator.decontaminate(t)
    assert kept.column("problem_id").to_pylist() == ["t1"]
    row = rejects.to_pylist()[0]
    assert row["reason"] == "contaminated:aime_2024:13gram"
    assert row["matched_eval_id"] == "aime_2024-102"
    assert len(row["matched_ngram"].split()) == 13
    assert row["matched_ngram"] in normalize([problem]).to_pylist()[0]
    assert row["duplicate_of"] is None


def test_8gram_only_overlap_needs_the_any_match_pass():
    question = _raw("gpqa_diamond")[1]["Question"]
    words = question.split()
    shared = " ".join(words[3:13])  # 10 words: an 8-gram is shared, no 13-gram is
    t = _table([f"Consider the following. {shared}. Then explain in your own words.", "unrelated text"])
    texts = {"gpqa_diamond": [question]}
    kept, rejects, _ = Decontaminator(texts, DecontamConfig()).decontaminate(t)
    assert rejects.column("reason").to_pylist() == ["contaminated:gpqa_diamond:8gram"]
    kept13, rejects13, _ = Decontaminator(texts, DecontamConfig(also_any_match_n=None)).decontaminate(t)
    assert rejects13.num_rows == 0 and kept13.num_rows == 2


def test_short_eval_text_is_matched_whole(decontaminator):
    t = _table(["Please compute $\\dbinom{17}{14}$ and explain your reasoning.", "Please compute $\\dbinom{17}{13}$.",
                "Compute"])
    kept, rejects, _ = decontaminator.decontaminate(t)
    assert rejects.column("problem_id").to_pylist() == ["t0"]
    assert rejects.column("reason").to_pylist() == ["contaminated:math_500:13gram"]
    assert rejects.column("matched_ngram").to_pylist() == ["compute \\ dbinom { 17 } { 14 }"]


def test_normalization_does_not_hide_contamination(decontaminator):
    problem = _raw("math_500")[3]["problem"]
    shouted = problem.upper().replace(" ", "  ").replace("$", "")
    kept, rejects, _ = decontaminator.decontaminate(_table([shouted]))
    assert rejects.column("matched_eval_id").to_pylist() == ["test/geometry/9004.json"]


def test_fraction_mode_tolerates_a_quoted_phrase():
    problem = _raw("livecodebench")[1]["question_content"]
    phrase = " ".join(problem.split()[:14])
    t = _table([f"Background: {phrase} ... and now something else entirely.", f"Solve this: {problem}"])
    cfg = DecontamConfig(mode="fraction", threshold=0.5, also_any_match_n=None)
    kept, rejects, report = Decontaminator({"livecodebench": [problem]}, cfg).decontaminate(t)
    assert kept.column("problem_id").to_pylist() == ["t0"]
    assert rejects.column("problem_id").to_pylist() == ["t1"]
    assert report["mode"] == "fraction" and report["threshold"] == 0.5
    any13 = Decontaminator({"livecodebench": [problem]}, DecontamConfig(also_any_match_n=None))
    _, rejects_any, _ = any13.decontaminate(t)
    assert rejects_any.num_rows == 2


def test_chinese_uses_character_ngrams():
    eval_text = "已知等差数列的首项为三，公差为四，求该数列前二十项的和与第二十项的值。"
    d = Decontaminator({"zh_bench": [eval_text]}, DecontamConfig(also_any_match_n=None))
    t = _table(["请回答：已知等差数列的首项为三，公差为四，求该数列前二十项的和。", "已知等比数列的首项为二，求和。"])
    kept, rejects, _ = d.decontaminate(t)
    assert rejects.column("problem_id").to_pylist() == ["t0"]
    assert len(rejects.column("matched_ngram")[0].as_py().split()) == 13


def test_first_benchmark_in_order_is_charged():
    text = "a shared sentence that appears in two different benchmarks word for word today"
    d = Decontaminator({"first": ["x " + text], "second": [text + " y"]}, DecontamConfig(also_any_match_n=None))
    _, rejects, report = d.decontaminate(_table([text]))
    assert rejects.column("reason").to_pylist() == ["contaminated:first:13gram"]
    assert report["benchmarks"]["second"]["removed"] == 0


def test_procedural_prompts_are_clean(decontaminator):
    table = source_from_spec("procedural:n=3000,seed=1").to_table()
    kept, rejects, report = decontaminator.decontaminate(table)
    assert rejects.num_rows == 0 and kept.num_rows == 3000 and report["checked"] == 3000


# -- report, determinism, settings -------------------------------------------------------------------


def test_report_counts_per_benchmark_and_ngram(decontaminator):
    aime = [r["problem"] for r in _raw("aime_2024")]
    gpqa = _raw("gpqa_diamond")[1]["Question"].split()  # plain words: 9 words = 9 tokens
    prompts = [f"Problem {i}: {p}" for i, p in enumerate(aime * 2)]  # 10 contaminated by AIME
    prompts += ["Quiz: " + " ".join(gpqa[:9]) + " -- answer briefly.", "clean prompt about nothing"]
    kept, rejects, report = decontaminator.decontaminate(_table(prompts))
    assert report["removed"] == rejects.num_rows == 11 and report["checked"] == 12
    aime_report = report["benchmarks"]["aime_2024"]
    assert aime_report == {"eval_texts": 5, "removed": 10, "by_ngram": {"13gram": 10, "8gram": 0},
                           "examples": ["t0", "t1", "t2", "t3", "t4"]}
    assert report["benchmarks"]["gpqa_diamond"]["by_ngram"] == {"13gram": 0, "8gram": 1}
    assert report["n"] == 13 and report["also_any_match_n"] == 8 and report["mode"] == "any"
    json.dumps(report)  # goes into the manifest as is


def test_deterministic_and_fingerprinted():
    a = Decontaminator.from_evalsets(paths=PATHS)
    b = Decontaminator.from_evalsets(paths=PATHS)
    texts = [r["problem"] for r in _raw("math_500")] + ["x y z"]
    assert a.scan(texts) == b.scan(texts)
    assert a.fingerprint() == b.fingerprint()
    assert Decontaminator.from_evalsets(paths=PATHS, config=DecontamConfig(n=10)).fingerprint() != a.fingerprint()
    assert a.describe()["benchmarks"] == {"aime_2024": 5, "aime_2025": 5, "math_500": 6, "gpqa_diamond": 5,
                                          "livecodebench": 5}


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="mode='all'"):
        DecontamConfig(mode="all")
    with pytest.raises(ValueError, match="threshold=0"):
        DecontamConfig(mode="fraction", threshold=0)
    with pytest.raises(ValueError, match="also_any_match_n=0"):
        DecontamConfig(also_any_match_n=0)
    with pytest.raises(ValueError, match="eval_texts is empty"):
        Decontaminator({})
    with pytest.raises(ValueError, match="1 ids for 2 texts"):
        Decontaminator({"b": ["x", "y"]}, eval_ids={"b": ["only"]})


def test_dedup_and_decontaminate_builds_the_card_report(decontaminator):
    problem = _raw("aime_2024")[0]["problem"]
    t = _table(["What is 7 * 6?", "what is 7*6", f"Try this: {problem}", "Name a prime above 100."])
    kept, rejects, report = dedup_and_decontaminate(t, DedupConfig(), decontaminator)
    assert kept.column("problem_id").to_pylist() == ["t0", "t3"]
    assert rejects.column("reason").to_pylist() == ["duplicate_exact", "contaminated:aime_2024:13gram"]
    assert report["exact"]["removed"] == 1 and report["near"]["removed"] == 0
    assert report["decontamination"]["benchmarks"]["aime_2024"]["removed"] == 1
    assert report["rows_in"] == 4 and report["rows_out"] == 2
