"""The backend interface: sampling settings, requests, the registry."""

from __future__ import annotations

import pytest

from factory.generate.backends.base import Request, SamplingParams, make_backend


def test_sampling_defaults_are_r1_evaluation_settings():
    p = SamplingParams()
    assert (p.n, p.temperature, p.top_p, p.max_tokens, p.seed, p.stop) == (1, 0.6, 0.95, 32768, None, ())
    assert SamplingParams(stop=["</answer>"]).stop == ("</answer>",)  # lists become tuples
    assert SamplingParams(stop="x").stop == ("x",)
    assert SamplingParams(n=2, seed=3).to_dict()["seed"] == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "n=0"), ({"temperature": -1}, "temperature=-1"),
    ({"top_p": 0}, "top_p=0"), ({"max_tokens": 0}, "max_tokens=0"),
])
def test_bad_sampling_settings_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SamplingParams(**kwargs)


def test_request_needs_exactly_one_of_prompt_or_messages():
    with pytest.raises(ValueError, match="exactly one"):
        Request(id="a")
    with pytest.raises(ValueError, match="exactly one"):
        Request(id="a", prompt="p", messages=[])
    req = Request(id="a", messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    assert req.prompt_text() == "s\nu" and req.metadata == {}


def test_registry_names_the_known_backends():
    with pytest.raises(ValueError, match=r"unknown backend 'llamacpp'.*openai.*scripted.*transformers.*vllm"):
        make_backend("llamacpp", "m")
    with make_backend("scripted", "teacher") as backend:
        assert backend.info() == {"backend": "scripted", "model": "teacher", "synthetic": True,
                                  "options": backend.options}
