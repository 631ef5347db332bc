"""Verifiers and rewards: one implementation for batch scoring and for TRL GRPO training."""

from factory.rewards.base import Verdict, completion_text, completion_texts, split_think

__all__ = ["Verdict", "completion_text", "completion_texts", "split_think", "for_trl", "get_reward", "REWARDS"]


def __getattr__(name: str):
    # The registry imports every grader; load it on first use so `import factory.rewards.base` stays light.
    if name in ("for_trl", "get_reward", "REWARDS", "grader_versions"):
        from factory.rewards import registry

        return getattr(registry, name)
    raise AttributeError(name)
