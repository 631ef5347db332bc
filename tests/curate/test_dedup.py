"""Exact and near-duplicate removal: normalization, first-wins across sources, MinHash accuracy, no false positives."""

from __future__ import annotations

import doctest

import numpy as np
import pyarrow as pa
import pytest
import xxhash

from factory.curate import dedup, minhash
from factory.curate import ngrams as dedup_utils
from factory.curate.dedup import DedupConfig, dedup_exact, deduplicate, exact_dedup_keys, minhash_signatures, near_dedup
from factory.curate.ngrams import normalize

WORDS = [f"w{i}" for i in range(3000)]


def _table(prompts, sources=None):
    n = len(prompts)
    return pa.table({
        "problem_id": [f"p{i}" for i in range(n)],
        "prompt": prompts,
        "source": sources or ["s"] * n,
    })


def _random_prompts(n, seed, lo=15, hi=60):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(lo, hi))) for _ in range(n)]


def test_doctests():
    for module in (dedup, dedup_utils, minhash):
        assert doctest.testmod(module).failed == 0


# -- normalization ---------------------------------------------------------------------------------


def test_normalize_drops_case_spacing_soft_punctuation_and_latex_delimiters():
    got = normalize(["  What is $2x+1$?", "what is 2x + 1", "WHAT\tIS \\(2x+1\\)", "ｗｈａｔ　ｉｓ　２x＋１"]).to_pylist()
    assert got == ["what is 2x + 1"] * 4


def test_normalize_keeps_math_meaning():
    a, b, c, d, e, f = normalize(["2x+1", "2x-1", "3.5", "35", "f'(x)", "f(x)"]).to_pylist()
    assert a != b and c != d and e != f


def test_normalize_spaces_out_cjk():
    assert normalize(["求x的值。", "求 x 的 值"]).to_pylist() == ["求 x 的 值", "求 x 的 值"]


def test_normalize_reads_sliced_arrays_and_wide_characters():
    texts = ["skip me", "x\u0301 + \\(y\\) 😀𠀁", "", None, "Ａ＋Ｂ"]
    arr = pa.array(texts)
    assert normalize(arr.slice(1)).to_pylist() == normalize(texts[1:]).to_pylist()
    assert normalize(arr.slice(1)).to_pylist() == ["x\u0301 + y 😀 𠀁", "", "", "a + b"]
    assert dedup_utils.hash_strings(arr.slice(4)).tolist() == [xxhash.xxh3_64_intdigest("Ａ＋Ｂ".encode())]


def test_exact_keys_are_xxh3_of_normalized_text_and_chunking_does_not_matter():
    keys = exact_dedup_keys(["What is 2 + 2?", None]).to_pylist()
    assert keys[0] == xxhash.xxh3_64_intdigest(b"what is 2 + 2")  # stable across versions: a stored key stays valid
    assert keys[1] == xxhash.xxh3_64_intdigest(b"")
    texts = _random_prompts(50, 1)
    chunked = pa.chunked_array([texts[:20], texts[20:]])
    assert exact_dedup_keys(chunked).equals(exact_dedup_keys(texts))
    assert exact_dedup_keys(pa.array([], pa.string())).to_pylist() == []


# -- exact dedup ------------------------------------------------------------------------------------


def test_dedup_exact_keeps_first_across_sources():
    t = _table(["What is 2+2?", "Solve x.", "what is  2 + 2", "WHAT IS 2+2 ?", "Solve y."],
               sources=["a", "a", "b", "c", "b"])
    kept, rejects = dedup_exact(t)
    assert kept.column("problem_id").to_pylist() == ["p0", "p1", "p4"]
    assert rejects.column("problem_id").to_pylist() == ["p2", "p3"]
    assert rejects.column("duplicate_of").to_pylist() == ["p0", "p0"]
    assert set(rejects.column("reason").to_pylist()) == {"duplicate_exact"}
    assert rejects.column("source").to_pylist() == ["b", "c"]
    assert kept.num_rows + rejects.num_rows == t.num_rows


def test_dedup_exact_keep_last_and_errors():
    t = _table(["a b", "A  B", "c"])
    kept, rejects = dedup_exact(t, keep="last")
    assert kept.column("problem_id").to_pylist() == ["p1", "p2"]
    assert rejects.column("duplicate_of").to_pylist() == ["p1"]
    with pytest.raises(ValueError, match="keep='middle'"):
        dedup_exact(t, keep="middle")
    with pytest.raises(ValueError, match="column='question'"):
        dedup_exact(t, column="question")
    with pytest.raises(ValueError, match="id_column='id'"):
        dedup_exact(t, id_column="id")


# -- near dedup -------------------------------------------------------------------------------------


def test_minhash_estimates_jaccard():
    rng = np.random.default_rng(7)
    base = list(rng.choice(WORDS, 200, replace=False))
    other = base[:150] + list(rng.choice(WORDS[2000:], 50, replace=False))
    texts = pa.array([" ".join(base), " ".join(other)])
    sig = minhash_signatures(texts, num_perm=256, ngram=1)
    true = 150 / 250
    assert abs((sig[:, 0] == sig[:, 1]).mean() - true) < 0.1


def test_near_dedup_removes_small_edits_and_keeps_distinct():
    # At 0.8 with 5-gram shingles one edit needs ~50 tokens, two edits ~100 (J = (m - 5k) / (m + 5k)).
    base = _random_prompts(40, 2, lo=120, hi=121)
    edited = []
    for i, p in enumerate(base[:10]):
        words = p.split()
        words[10 + i] = "changed"  # one word changed
        if i % 2:
            words[12 + i] = "again"  # two words changed
        edited.append(" ".join(words))
    t = _table(base + edited)
    kept, rejects = near_dedup(t)
    assert rejects.column("problem_id").to_pylist() == [f"p{40 + i}" for i in range(10)]
    assert rejects.column("duplicate_of").to_pylist() == [f"p{i}" for i in range(10)]
    assert set(rejects.column("reason").to_pylist()) == {"duplicate_near"}
    assert kept.num_rows == 40


def test_near_dedup_no_false_positives_on_distinct_prompts():
    rng = np.random.default_rng(3)
    templates = ["Compute {} plus {} times {} and report {} digits of {}", "A {} has {} sides; find {} when {} is {}",
                 "Write a function {} that returns {} for {} given {} and {}"]
    prompts = [rng.choice(templates).format(*rng.choice(WORDS, 5)) + " " + " ".join(rng.choice(WORDS, 25))
               for _ in range(500)]
    kept, rejects = near_dedup(_table(prompts))
    assert rejects.num_rows == 0 and kept.num_rows == 500


def test_near_dedup_chinese():
    a = ("甲乙两人从相距一百二十千米的两地同时出发相向而行，甲每小时行十五千米，乙每小时比甲多行三千米，"
         "途中甲因修车停留了半小时，之后按原速继续前进。问出发后经过几小时两人相遇？相遇时甲一共行了多少千米？")
    b = a.replace("修车", "修理")  # one character changed: 5 of ~90 character 5-grams differ
    c = "一个长方形的长是十二厘米宽是八厘米把它剪成两个完全相同的正方形后剩下部分的面积是多少平方厘米请写出过程"
    kept, rejects = near_dedup(_table([a, c, b]))
    assert rejects.column("problem_id").to_pylist() == ["p2"]
    assert rejects.column("duplicate_of").to_pylist() == ["p0"]


def test_near_dedup_is_deterministic_and_validates():
    prompts = _random_prompts(200, 4)
    prompts += [p + " extra" for p in prompts[:30]]
    t = _table(prompts)
    first = near_dedup(t, seed=5)
    second = near_dedup(t, seed=5)
    assert first[0].equals(second[0]) and first[1].equals(second[1])
    assert first[1].num_rows == 30
    with pytest.raises(ValueError, match="threshold=1.5"):
        near_dedup(t, threshold=1.5)


def test_components_chain_keeps_smallest():
    label = minhash.components(6, np.array([5, 3, 2]), np.array([3, 1, 1]))
    assert label.tolist() == [0, 1, 1, 1, 4, 1]


def test_short_texts_are_one_shingle():
    t = _table(["hi there", "Hi, there.", "hi you"])
    kept, rejects = near_dedup(t)
    assert rejects.column("duplicate_of").to_pylist() == ["p0"]  # equal after normalization only
    assert kept.column("problem_id").to_pylist() == ["p0", "p2"]


# -- combined -----------------------------------------------------------------------------------------


def test_deduplicate_report_and_rejects():
    prompts = _random_prompts(100, 5, lo=30, hi=31)
    prompts += [prompts[0].upper(), prompts[1] + " w1"]
    kept, rejects, report = deduplicate(_table(prompts))
    assert report["exact"]["removed"] == 1 and report["near"]["removed"] == 1
    assert report["near"]["threshold"] == 0.8 and report["near"]["num_perm"] == 128
    assert (report["near"]["bands"], report["near"]["rows"]) == (14, 9)
    assert report["rows_in"] == 102 and report["rows_out"] == kept.num_rows == 100
    assert rejects.column("reason").to_pylist() == ["duplicate_exact", "duplicate_near"]
    assert rejects.schema.names[-4:] == list(dedup_utils.REJECT_COLUMNS)


def test_dedup_config_validates():
    with pytest.raises(ValueError, match="num_perm=0"):
        DedupConfig(num_perm=0)
    with pytest.raises(ValueError, match="ngram=0"):
        DedupConfig(ngram=0)
