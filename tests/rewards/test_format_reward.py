"""R1-Zero and readable format rewards: strict tags, prefilled <think>, tag counts."""

from __future__ import annotations

import doctest

import pytest

from factory.rewards import format_reward as fr
from factory.rewards.format_reward import (
    format_reward,
    get_format_reward,
    get_tag_count_reward,
    r1_zero_format_ok,
    readable_format_ok,
    tag_count_reward,
)

GOOD = "<think>\nLet me add: 2 + 2 = 4.\n</think>\n<answer>\n4\n</answer>"


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        "<think>2+2=4</think><answer>4</answer>",
        "  \n<think>2+2=4</think>\n\n<answer>4</answer>\n  ",
        "<think>多行\n推理</think> <answer>$\\frac{1}{2}$</answer>",
    ],
)
def test_r1_zero_accepts(text):
    assert r1_zero_format_ok(text)


@pytest.mark.parametrize(
    "text, why",
    [
        ("<answer>4</answer>", "missing think"),
        ("<think>2+2=4</think>", "missing answer"),
        ("<think>2+2=4</think><answer>4", "unclosed answer"),
        ("2+2=4</think><answer>4</answer>", "missing opening think (not prefilled)"),
        ("<think>a</think><think>b</think><answer>4</answer>", "duplicated think"),
        ("<think>a</think><answer>4</answer><answer>5</answer>", "duplicated answer"),
        ("<answer>4</answer><think>2+2=4</think>", "wrong order"),
        ("<think>a<answer>4</answer></think>", "answer inside think"),
        ("<think>2+2=4</think><answer>4</answer> Hope this helps!", "trailing text"),
        ("Sure! <think>2+2=4</think><answer>4</answer>", "leading text"),
        ("<think>2+2=4</think> so <answer>4</answer>", "text between blocks"),
        ("<think>  \n </think><answer>4</answer>", "empty think"),
        ("<think>2+2=4</think><answer> </answer>", "empty answer"),
        ("<THINK>2+2=4</THINK><ANSWER>4</ANSWER>", "tags are case-sensitive"),
    ],
)
def test_r1_zero_rejects(text, why):
    assert not r1_zero_format_ok(text), why


def test_think_prefilled():
    completion = "\nLet me add: 2 + 2 = 4.\n</think>\n<answer>\n4\n</answer>"
    assert r1_zero_format_ok(completion, think_prefilled=True)
    assert not r1_zero_format_ok(completion)
    # a second <think> is a duplicate when the prompt already opened one
    assert not r1_zero_format_ok(GOOD, think_prefilled=True)
    assert not r1_zero_format_ok("</think><answer>4</answer>", think_prefilled=True)  # empty reasoning


def test_readable_format():
    assert readable_format_ok("|special_token|2+2=4, checked.|special_token|**Answer: 4**")
    assert readable_format_ok("<think>\n2+2=4\n</think>\n\nThe answer is **4**.")
    assert readable_format_ok("2+2=4\n</think>\nThe answer is 4.", think_prefilled=True)
    assert not readable_format_ok("|special_token|2+2=4|special_token|   ")  # empty summary
    assert not readable_format_ok("|special_token||special_token|4")  # empty reasoning
    assert not readable_format_ok("intro |special_token|r|special_token|s")  # text before
    assert not readable_format_ok("|special_token|r|special_token|s|special_token|t")
    assert not readable_format_ok("<think>2+2=4</think>")  # no summary
    assert not readable_format_ok("<think>a</think> s <think>b</think> t")
    assert not readable_format_ok("The answer is 4.")


def test_format_reward_batch_and_conversational():
    completions = [[{"role": "assistant", "content": GOOD}], "<think>x</think>", GOOD]
    assert format_reward(completions) == [1.0, 0.0, 1.0]
    assert format_reward(completions, solution=["4"] * 3) == [1.0, 0.0, 1.0]  # extra columns ignored


def test_get_format_reward():
    readable = get_format_reward("readable")
    assert readable(["<think>r</think> summary", GOOD]) == [1.0, 1.0]  # the answer block is a summary
    prefilled = get_format_reward("r1_zero", think_prefilled=True)
    assert prefilled(["r</think><answer>4</answer>", GOOD]) == [1.0, 0.0]
    assert prefilled.__name__ == "r1_zero_format_prefilled_reward"
    with pytest.raises(ValueError, match="template='markdown'"):
        get_format_reward("markdown")


@pytest.mark.parametrize(
    "text, expected",
    [
        (GOOD, 1.0),
        ("<think>a</think><answer>b</answer>", 1.0),  # open-r1 would give 0.0 without newlines
        ("<think>a</think><think>b</think><answer>c</answer>", 0.5),
        ("<think>a</think>", 0.5),
        ("plain text", 0.0),
    ],
)
def test_tag_count_reward(text, expected):
    assert tag_count_reward([text]) == [expected]


def test_tag_count_prefilled():
    reward = get_tag_count_reward(think_prefilled=True)
    assert reward(["a</think><answer>b</answer>"]) == [1.0]
    assert reward(["<think>a</think><answer>b</answer>"]) == [0.75]


def test_grader_version_and_doctests():
    assert fr.FORMAT_GRADER_VERSION == "1.1.0"
    assert doctest.testmod(fr).failed == 0
