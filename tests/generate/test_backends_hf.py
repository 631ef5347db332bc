"""Local transformers generation, and the offline tiny models other tests build on."""

from __future__ import annotations

import time

import pytest

from factory.generate.backends.base import Request, SamplingParams
from tests.support.backend_fixtures import tiny_hf_backend, tiny_lm_dir  # noqa: F401 (fixtures)
from tests.support.tiny_models import make_tiny_causal_lm, make_tiny_reward_model, make_tiny_tokenizer


def chat(content: str, rid: str = "r") -> Request:
    return Request(id=rid, messages=[{"role": "user", "content": content}])


# ---------------------------------------------------------------------- tiny models
def test_tiny_tokenizer_round_trips_any_text_and_has_a_chat_template():
    tok = make_tiny_tokenizer()
    text = "解方程 3x + 5 = 20 <think> ok </think> |special_token| 🎉"
    assert tok.decode(tok(text)["input_ids"]) == text
    rendered = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                       add_generation_prompt=True)
    assert rendered == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tok.padding_side == "left" and tok.pad_token_id != tok.eos_token_id
    assert len(tok("<think>")["input_ids"]) == 1


def test_tiny_models_load_with_auto_classes_quickly(tmp_path, tiny_lm_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    start = time.perf_counter()
    rm_dir = make_tiny_reward_model(tmp_path / "rm")
    lm_dir = make_tiny_causal_lm(tmp_path / "lm")
    assert time.perf_counter() - start < 4.0  # two models, < 2 s each
    tok = AutoTokenizer.from_pretrained(rm_dir)
    lm = AutoModelForCausalLM.from_pretrained(lm_dir)
    assert lm.config.vocab_size == len(tok) and lm.config.num_hidden_layers == 2
    rm = AutoModelForSequenceClassification.from_pretrained(rm_dir)
    batch = tok(["a short answer", "a much longer answer than that"], return_tensors="pt", padding=True)
    with torch.no_grad():
        scores = rm(**batch).logits
    assert scores.shape == (2, 1) and scores[0, 0] != scores[1, 0]
    same = AutoModelForCausalLM.from_pretrained(tiny_lm_dir)
    assert torch.equal(same.model.embed_tokens.weight, lm.model.embed_tokens.weight)  # seeded


# ---------------------------------------------------------------------- backend
def test_n_samples_per_request_in_order_across_micro_batches(tiny_lm_dir):
    from factory.generate.backends.hf_transformers import TransformersBackend

    backend = TransformersBackend(str(tiny_lm_dir), device="cpu", batch_size=2)
    reqs = [chat("one", "a"), Request(id="b", prompt="two"), chat("three three", "c"),
            Request(id="d", prompt="four"), chat("five", "e")]
    params = SamplingParams(n=2, max_tokens=3, seed=3)
    out = backend.generate(reqs, params)
    assert [len(r) for r in out] == [2] * 5
    again = backend.generate(reqs, params)
    assert [[s.text for s in r] for r in out] == [[s.text for s in r] for r in again]  # seeded
    first = out[0][0]
    assert first.finish_reason == "length" and first.completion_tokens == 3
    assert first.prompt_tokens == len(backend.render(reqs[0]))
    assert backend.info()["options"]["batch_size"] == 2


def test_seeded_sampling_is_reproducible_and_varies(tiny_hf_backend):
    params = SamplingParams(n=4, temperature=1.0, max_tokens=6, seed=11)
    a = [s.text for s in tiny_hf_backend.generate([chat("vary")], params)[0]]
    b = [s.text for s in tiny_hf_backend.generate([chat("vary")], params)[0]]
    assert a == b and len(set(a)) > 1


def test_left_padding_keeps_greedy_output_independent_of_the_batch(tiny_hf_backend):
    greedy = SamplingParams(n=1, temperature=0, max_tokens=6)
    alone = tiny_hf_backend.generate([chat("short")], greedy)[0][0].text
    batched = tiny_hf_backend.generate(
        [chat("a much longer prompt that forces left padding of the short one"), chat("short")], greedy)
    assert batched[1][0].text == alone


def test_stop_strings_cut_generation(tiny_hf_backend):
    req = Request(id="s", prompt="The quick brown fox")
    free = tiny_hf_backend.generate([req], SamplingParams(temperature=0, max_tokens=8))[0][0]
    stop = free.text[2:4]
    assert stop.strip()
    got = tiny_hf_backend.generate([req], SamplingParams(temperature=0, max_tokens=8, stop=(stop,)))[0][0]
    assert got.finish_reason == "stop" and stop not in got.text
    assert free.text.startswith(got.text) and got.completion_tokens < 8


def test_eos_ends_a_sample_and_padding_is_dropped(tiny_hf_backend):
    tok = tiny_hf_backend.tokenizer
    ids = tok("ab cd")["input_ids"]
    params = SamplingParams(max_tokens=10)
    done = tiny_hf_backend._sample(ids + [tok.eos_token_id, tok.pad_token_id], 7, params, 0.1)
    assert (done.text, done.finish_reason, done.completion_tokens) == ("ab cd", "stop", len(ids) + 1)
    cut = tiny_hf_backend._sample(ids, 7, SamplingParams(max_tokens=len(ids)), 0.1)
    assert cut.finish_reason == "length" and cut.prompt_tokens == 7


def test_bad_settings_raise(tiny_lm_dir):
    from factory.generate.backends.hf_transformers import TransformersBackend

    with pytest.raises(ValueError, match="dtype='float8'"):
        TransformersBackend(str(tiny_lm_dir), dtype="float8")
    with pytest.raises(ValueError, match="batch_size=0"):
        TransformersBackend(str(tiny_lm_dir), batch_size=0)
