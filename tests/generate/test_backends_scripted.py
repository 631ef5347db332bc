"""The scripted teacher: deterministic, well-formed R1-style traces with controllable defects."""

from __future__ import annotations

import re
import time

import pytest

from factory.generate.backends.base import Request, SamplingParams, make_backend
from factory.generate.backends.scripted_traces import wrong_answer
from factory.rewards.base import split_think

BOXED = re.compile(r"\\boxed\{(.*)\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def math_request(i: int = 0, answer: str = "5", language: str = "en", **meta) -> Request:
    prompt = "解方程：3x + 5 = 20。" if language == "zh" else f"Solve for x: 3x + 5 = 20 (case {i})."
    return Request(id=f"p{i}", messages=[{"role": "user", "content": prompt}],
                   metadata={"answer": answer, "language": language, "domain": "math",
                             "metadata": {"task": "linear_equation"}, **meta})


def code_request(solution: str | None = "print(sum(range(10)))") -> Request:
    meta = {"task": "sum_range", **({"solution": solution} if solution else {})}
    return Request(id="c0", prompt="Print the sum of 0..9.",
                   metadata={"domain": "code", "language": "en", "tests": "[]", "metadata": meta})


def gen(requests, n: int = 1, max_tokens: int = 4096, **options):
    backend = make_backend("scripted", "teacher", **options)
    return backend.generate(requests, SamplingParams(n=n, max_tokens=max_tokens, seed=options.pop("seed", None)))


def test_reruns_and_shards_give_identical_text():
    reqs = [math_request(i) for i in range(6)]
    full = gen(reqs, n=3, wrong_rate=0.3, mixed_language_rate=0.3)
    again = gen(reqs, n=3, wrong_rate=0.3, mixed_language_rate=0.3)
    shard = gen(reqs[4:], n=3, wrong_rate=0.3, mixed_language_rate=0.3)
    assert [s.text for r in full for s in r] == [s.text for r in again for s in r]
    assert [s.text for s in full[4]] == [s.text for s in shard[0]]
    assert len({s.text for s in full[0]}) == 3  # samples of one prompt differ


def test_seed_changes_the_text_and_greedy_repeats_it():
    req = [math_request()]
    backend = make_backend("scripted", "teacher")
    a = backend.generate(req, SamplingParams(n=2, seed=1))[0]
    b = backend.generate(req, SamplingParams(n=2, seed=2))[0]
    assert a[0].text != b[0].text
    greedy = backend.generate(req, SamplingParams(n=3, temperature=0))[0]
    assert len({s.text for s in greedy}) == 1


def test_r1_style_trace_reasons_reflects_and_boxes_the_gold():
    sample = gen([math_request(answer="\\frac{3}{4}")])[0][0]
    assert sample.finish_reason == "stop" and sample.reasoning is None
    assert sample.text.startswith("<think>\n") and "\n</think>\n\n" in sample.text
    reasoning, summary = split_think(sample.text)
    assert "Step 1:" in reasoning and "Step 9:" in reasoning
    assert re.search(r"Wait|Hmm", reasoning)
    assert "linear equation" in reasoning and "3x + 5 = 20" in reasoning
    assert BOXED.search(summary).group(1) == "\\frac{3}{4}"
    assert summary.startswith("**")  # markdown summary, as the readable format asks
    assert 1200 < len(sample.text) < 4000
    assert sample.completion_tokens == len(sample.text) // 4


@pytest.mark.parametrize("style, pattern", [
    ("r1_zero", r"<think>\n[^<]+\n</think>\n<answer>\n[^<]+\n</answer>"),
    ("readable", r"\|special_token\|[^|]+\|special_token\|[^|]+"),
    ("r1", r"<think>\n[^<]+\n</think>\n\n[^<]+"),
])
def test_styles_are_well_formed(style, pattern):
    for sample in gen([math_request(i) for i in range(20)], style=style)[0]:
        assert re.fullmatch(pattern, sample.text, re.S), sample.text[:200]


def test_chinese_problem_gets_a_chinese_trace():
    sample = gen([math_request(language="zh")])[0][0]
    reasoning, summary = split_think(sample.text)
    assert "第1步" in reasoning and "Step" not in reasoning
    assert re.search("等等|嗯|让我", reasoning)
    assert not re.search(r"\b(the|Let|Wait)\b", reasoning)
    assert "最终答案" in summary and "\\boxed{5}" in summary


def test_code_trace_ends_with_the_reference_solution():
    text = gen([code_request()])[0][0].text
    assert text.rstrip().endswith("```python\nprint(sum(range(10)))\n```")
    assert "```" not in split_think(text)[0]  # no code in the CoT by default
    stub = gen([code_request(solution=None)])[0][0].text
    assert "sys.stdin.read()" in stub


def test_wrong_rate_changes_answers_by_about_its_share():
    reqs = [math_request(i, answer="12") for i in range(400)]
    none_wrong = gen(reqs, n=2)
    assert {BOXED.search(s.text).group(1) for r in none_wrong for s in r} == {"12"}
    all_wrong = gen(reqs[:50], n=2, wrong_rate=1.0)
    assert {BOXED.search(s.text).group(1) for r in all_wrong for s in r} == {"11", "13"}
    some = gen(reqs, n=2, wrong_rate=0.25)
    share = sum(BOXED.search(s.text).group(1) != "12" for r in some for s in r) / 800
    assert 0.18 < share < 0.32
    code = gen([code_request()], wrong_rate=1.0)[0][0].text
    assert "print(sum(range(11)))" in code


def test_wrong_answer_variants():
    assert wrong_answer("-3", up=True) == "-4"
    assert wrong_answer("(2, 3)") == "(3, 3)"
    assert wrong_answer("D") == "E"


def test_mixed_language_inserts_the_other_language():
    en = split_think(gen([math_request()], mixed_language_rate=1.0)[0][0].text)[0]
    assert CJK.search(en)
    zh = split_think(gen([math_request(language="zh")], mixed_language_rate=1.0)[0][0].text)[0]
    assert re.search(r"[A-Za-z]{4,}", zh.replace("boxed", ""))
    clean = split_think(gen([math_request()])[0][0].text)[0]
    assert not CJK.search(clean)


def test_overlong_hits_max_tokens_and_is_truncated():
    for sample in gen([math_request(i) for i in range(5)], max_tokens=300, overlong_rate=1.0)[0]:
        assert sample.finish_reason == "length"
        assert len(sample.text) == 1200 and sample.completion_tokens == 300
        assert "</think>" not in sample.text and "boxed" not in sample.text


def test_short_max_tokens_truncates_normal_traces():
    sample = gen([math_request()], max_tokens=50)[0][0]
    assert sample.finish_reason == "length" and len(sample.text) == 200


def test_broken_tags_break_the_format():
    for sample in gen([math_request(i) for i in range(30)], broken_tags_rate=1.0)[0]:
        t = sample.text
        assert not (t.count("<think>") == 1 and t.count("</think>") == 1)
    for sample in gen([math_request(i) for i in range(30)], style="readable", broken_tags_rate=1.0)[0]:
        assert sample.text.count("|special_token|") != 2


def test_code_in_cot_and_long_paragraph_defects():
    reasoning = split_think(gen([math_request()], code_in_cot_rate=1.0)[0][0].text)[0]
    assert "```python" in reasoning
    run_on = split_think(gen([math_request()], long_paragraph_rate=1.0)[0][0].text)[0]
    assert "\n" not in run_on and len(run_on) > 1200


def test_stop_strings_cut_the_text():
    backend = make_backend("scripted", "teacher")
    sample = backend.generate([math_request()], SamplingParams(stop=("</think>",)))[0][0]
    assert sample.finish_reason == "stop" and "</think>" not in sample.text
    assert "Step 1:" in sample.text


def test_separate_reasoning_and_general_prompts():
    sample = gen([math_request()], separate_reasoning=True)[0][0]
    assert "Step 1:" in sample.reasoning and "<think>" not in sample.text
    assert "\\boxed{5}" in sample.text
    general = Request(id="g", prompt="hello", metadata={"domain": "general"})
    text = gen([general])[0][0].text
    assert "boxed" not in text and "hello" in text


def test_metadata_given_as_json_text():
    req = math_request(metadata='{"task": "quadratic_roots"}')
    assert "quadratic roots" in gen([req])[0][0].text


def test_info_marks_synthetic_and_bad_settings_are_rejected():
    info = make_backend("scripted", "teacher", wrong_rate=0.1).info()
    assert info["synthetic"] is True and info["backend"] == "scripted"
    assert info["options"]["wrong_rate"] == 0.1
    with pytest.raises(ValueError, match="wrong_rate=1.5"):
        make_backend("scripted", "teacher", wrong_rate=1.5)
    with pytest.raises(ValueError, match="style='fancy'"):
        make_backend("scripted", "teacher", style="fancy")


def test_throughput_sanity():
    # Loose bound (the real figure, ~100k+ samples/s, is in the report): catches an
    # accidental per-character loop or per-sample RNG construction, not CPU noise.
    reqs = [math_request(i, language="zh" if i % 4 == 0 else "en") for i in range(2500)]
    backend = make_backend("scripted", "teacher", wrong_rate=0.1, mixed_language_rate=0.05)
    start = time.process_time()  # CPU time: a loaded machine (8 helpers on 2 cores) slows the wall clock, not this
    out = backend.generate(reqs, SamplingParams(n=4))
    assert sum(len(r) for r in out) == 10000
    assert time.process_time() - start < 1.0
