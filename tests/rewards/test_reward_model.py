"""Reward-model scorer on a tiny offline Qwen2 classifier: shapes, routing, determinism, summary-only helpfulness."""

from __future__ import annotations

import numpy as np
import pytest

from factory.rewards.reward_model import RewardModelScorer, get_reward_model_reward, route_by_reward_type

PROMPT = [{"role": "user", "content": "What is 3 + 4?"}]


@pytest.fixture(scope="module")
def rms(tmp_path_factory):
    from tests.support.tiny_models import make_tiny_reward_model

    root = tmp_path_factory.mktemp("rm")
    return str(make_tiny_reward_model(root / "helpful", seed=1)), str(make_tiny_reward_model(root / "harmless", seed=2))


def test_scores_shape_and_determinism(rms):
    scorer = RewardModelScorer(rms[0], batch_size=2)
    responses = ["7", "<think>3 + 4 = 7</think> The answer is 7.", "Let me think step by step about the problem."]
    first = scorer.score([PROMPT] * 3, responses)
    assert first.shape == (3,) and first.dtype == np.float32 and np.isfinite(first).all()
    assert len(set(first.tolist())) == 3  # different texts, different scores
    np.testing.assert_array_equal(scorer.score([PROMPT] * 3, responses), first)
    # A row's score does not depend on its batch neighbours (right padding).
    alone = RewardModelScorer(rms[0], batch_size=1).score([PROMPT], responses[:1])
    np.testing.assert_allclose(alone, first[:1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one prompt per response"):
        scorer.score([PROMPT], responses)


def test_bad_settings():
    with pytest.raises(ValueError, match="batch_size=0"):
        RewardModelScorer("x", batch_size=0)
    with pytest.raises(ValueError, match="weights"):
        get_reward_model_reward("x", weights=(1.0,))


def test_routing_none_for_rule_rows(rms):
    reward = get_reward_model_reward(rms[0])
    out = reward(["a", "<think>x</think> b", "c"], prompts=[PROMPT] * 3, reward_type=["rule", "reward_model", None])
    assert out[0] is None and out[2] is None and isinstance(out[1], float)
    assert reward(["a"], prompts=[PROMPT]) == [None]  # no reward_type column: every row is a rule row
    with pytest.raises(ValueError, match="reward_type values \\['judge'\\]"):
        reward(["a"], prompts=[PROMPT], reward_type=["judge"])


def test_route_subsets_columns():
    from factory.rewards.registry import get_reward

    accuracy = route_by_reward_type(get_reward("accuracy"))
    out = accuracy([r"\boxed{4}", "anything", r"\boxed{5}"], answer=["4", None, "6"],
                   reward_type=["rule", "reward_model", "rule"])
    assert out == [1.0, None, 0.0]


def test_helpfulness_sees_summary_harmlessness_sees_all(rms):
    helpful_only = get_reward_model_reward(rms[0])
    both = get_reward_model_reward(rms[0], rms[1], weights=(1.0, 1.0))
    harmless_only = get_reward_model_reward(rms[0], rms[1], weights=(0.0, 1.0))
    a = "<think>3 plus 4 is 7, let me verify this again.</think> The answer is 7."
    b = "<think>Hmm, 3 + 4 = 7.</think> The answer is 7."
    kw = {"prompts": [PROMPT] * 2, "reward_type": ["reward_model"] * 2}
    h = helpful_only([a, b], **kw)
    assert h[0] == pytest.approx(h[1], abs=1e-6)  # same summary, same helpfulness
    s = harmless_only([a, b], **kw)
    assert abs(s[0] - s[1]) > 1e-4  # the reasoning differs, so does harmlessness
    total = both([a, b], **kw)
    assert total == pytest.approx([h[0] + s[0], h[1] + s[1]], abs=1e-5)
    c = "<think>3 plus 4 is 7, let me verify this again.</think> It is 7."
    assert abs(helpful_only([c], **{k: v[:1] for k, v in kw.items()})[0] - h[0]) > 1e-4  # the summary matters
