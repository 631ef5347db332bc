"""Prompt templates: rendering, language awareness, versions pinned by fingerprint."""

from __future__ import annotations

import pytest

from factory.generate.templates import get_template, list_templates

MATH = {"problem_id": "p1", "prompt": "What is 2 + 3?", "domain": "math", "language": "en", "answer": "5",
        "metadata": '{"task": "add"}'}

# If a test below fails, a template's wording changed: bump its version, then update this table.
PINNED = {
    "chat@1.0.0": "47a63aad9f3d92a8",
    "cold_start_few_shot@1.0.0": "f2288074c8a3167f",
    "r1_zero@1.0.0": "9a18bbdd2f872d19",
    "r1_zero_chat@1.0.0": "269cec7f13cd1689",
    "cold_start_few_shot_tiny@1.0.0": "b5012871f104da3e",
}


def test_every_template_version_is_pinned_to_its_wording():
    current = {get_template(name).ref: get_template(name).fingerprint for name in list_templates()}
    assert current == PINNED


def test_r1_zero_is_the_paper_template_as_a_raw_prompt():
    t = get_template("r1_zero")
    text = t.render_text(MATH)
    assert text.startswith("A conversation between User and Assistant. The user asks a question")
    assert "<think> reasoning process here </think> <answer> answer here </answer>" in text
    assert text.endswith("User: What is 2 + 3?. Assistant:")
    assert t.render(MATH) == [{"role": "user", "content": text}]
    req = t.to_request(MATH)
    assert req.prompt == text and req.messages is None
    assert req.metadata == {"answer": "5", "language": "en", "domain": "math", "metadata": '{"task": "add"}',
                            "prompt": "What is 2 + 3?"}


def test_chat_adds_boxed_guidance_to_math_only():
    t = get_template("chat")
    assert t.render(MATH) == [{"role": "user", "content": "What is 2 + 3?\nPlease reason step by step, "
                                                          "and put your final answer within \\boxed{}."}]
    assert t.render({"prompt": "Write a haiku.", "domain": "writing"}) == [
        {"role": "user", "content": "Write a haiku."}]
    zh = t.render({"question": "2 加 3 等于几？", "domain": "math", "language": "zh-CN"})
    assert zh[0]["content"].endswith("\\boxed{} 中。")
    req = t.to_request(MATH)
    assert req.id == "p1" and req.messages == t.render(MATH) and req.prompt is None


def test_cold_start_few_shot_is_language_aware_and_readable_format():
    t = get_template("cold_start_few_shot")
    en = t.render(MATH)
    assert [m["role"] for m in en] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert "reflect" in en[0]["content"] and "verify" in en[0]["content"]
    for shot in (en[2]["content"], en[4]["content"]):
        assert shot.count("|special_token|") == 2 and "\\boxed{" in shot
        assert "wait" in shot.lower() and "verify" in shot.lower()
    zh = t.render({**MATH, "language": "zh"})
    assert "中文" in zh[0]["content"] and zh[2]["content"].count("|special_token|") == 2
    assert en[-1]["content"].startswith("What is 2 + 3?") and zh[-1]["content"].startswith("What is 2 + 3?")


def test_render_text_with_a_tokenizer_applies_its_chat_template():
    from tests.support.tiny_models import make_tiny_tokenizer

    text = get_template("chat").render_text(MATH, tokenizer=make_tiny_tokenizer())
    assert text.startswith("<|im_start|>user\nWhat is 2 + 3?") and text.endswith("<|im_start|>assistant\n")


def test_registry_errors_name_the_known_templates_and_versions():
    assert get_template("chat@1.0.0") is get_template("chat")
    with pytest.raises(ValueError, match=r"unknown prompt template 'fancy'.*chat.*cold_start_few_shot.*r1_zero"):
        get_template("fancy")
    with pytest.raises(ValueError, match=r"this code has r1_zero@1.0.0"):
        get_template("r1_zero@0.9.0")
    with pytest.raises(ValueError, match="prompt columns"):
        get_template("chat").render({"text": "no prompt"})
    with pytest.raises(ValueError, match="problem_id"):
        get_template("chat").to_request({"prompt": "x"})
