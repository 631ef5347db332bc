"""The OpenAI-compatible client against a real local HTTP server backed by a tiny model."""

from __future__ import annotations

import asyncio

import pytest

from factory.generate.backends.base import Request, SamplingParams, make_backend, sample_seed
from factory.generate.backends.openai_compat import OpenAICompatBackend
from tests.support.backend_fixtures import Faults, stub_server, tiny_hf_backend, tiny_lm_dir  # noqa: F401 (fixtures)

GREEDY = SamplingParams(n=1, temperature=0, max_tokens=6)
FAST = dict(timeout_s=5.0, backoff_base_s=0.01, backoff_max_s=0.05)


def chat(content: str, rid: str = "r0") -> Request:
    return Request(id=rid, messages=[{"role": "user", "content": content}])


def client(server, **options):
    return make_backend("openai", "tiny", base_url=server.url, **{**FAST, **options})


def test_chat_matches_the_local_model_and_accounts_tokens_and_cost(stub_server, tiny_hf_backend):
    backend = client(stub_server, api_key="sk-test", price_per_mtok_in=2.0, price_per_mtok_out=8.0)
    got = backend.generate([chat("What is 2 + 2?")], GREEDY)[0][0]
    want = tiny_hf_backend.generate([chat("What is 2 + 2?")], GREEDY)[0][0]
    assert (got.text, got.finish_reason) == (want.text, want.finish_reason)
    assert (got.prompt_tokens, got.completion_tokens) == (want.prompt_tokens, want.completion_tokens)
    assert got.error is None and got.latency_s > 0
    stats = backend.stats()
    assert (stats["requests"], stats["responses"], stats["retries"], stats["failures"]) == (1, 1, 0, 0)
    assert stats["cost_usd"] == pytest.approx((want.prompt_tokens * 2 + want.completion_tokens * 8) / 1e6)
    call = stub_server.calls[0]
    assert call.path == "/v1/chat/completions" and call.headers["Authorization"] == "Bearer sk-test"
    assert call.body["max_tokens"] == 6 and call.body["temperature"] == 0
    assert "sk-test" not in repr(backend.info())


def test_raw_prompts_use_the_completions_endpoint(stub_server, tiny_hf_backend):
    req = Request(id="r", prompt="User: 1 + 1 = ? Assistant:")
    got = client(stub_server).generate([req], GREEDY)[0][0]
    assert stub_server.calls[0].path == "/v1/completions" and "messages" not in stub_server.calls[0].body
    assert got.text == tiny_hf_backend.generate([req], GREEDY)[0][0].text


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_separate_reasoning_field_is_read(stub_server, tiny_hf_backend, field):
    stub_server.faults = Faults(reasoning_field=field)
    got = client(stub_server).generate([chat("think first")], GREEDY)[0][0]
    full = tiny_hf_backend.generate([chat("think first")], GREEDY)[0][0].text
    assert got.reasoning and got.reasoning + got.text == full


def test_n_samples_are_topped_up_when_the_server_returns_fewer(stub_server):
    stub_server.faults = Faults(max_choices=1)
    params = SamplingParams(n=3, temperature=1.0, max_tokens=4, seed=7)
    samples = client(stub_server).generate([chat("sample me")], params)[0]
    assert len(samples) == 3 and all(s.finish_reason != "error" for s in samples)
    assert [c.body["n"] for c in stub_server.calls] == [3, 2, 1]
    rid = chat("sample me").id
    assert [c.body["seed"] for c in stub_server.calls] == [sample_seed(7, rid, i) for i in range(3)]  # no replays


def test_n_in_one_request_splits_usage_across_choices(stub_server):
    samples = client(stub_server).generate([chat("hi")], SamplingParams(n=4, max_tokens=5, seed=1))[0]
    assert len(stub_server.calls) == 1 and len(samples) == 4
    assert sum(s.completion_tokens for s in samples) == 20  # random weights: no early EOS


def test_429_retry_after_is_honoured(stub_server):
    stub_server.faults = Faults(rate_limit_first=2, retry_after="0.2")
    backend = client(stub_server)
    sample = backend.generate([chat("busy?")], GREEDY)[0][0]
    assert sample.finish_reason in ("stop", "length") and sample.error is None
    times = [c.t for c in stub_server.calls]
    assert [c.status for c in stub_server.calls] == [429, 429, 200]
    assert all(b - a >= 0.2 for a, b in zip(times, times[1:]))  # waited at least Retry-After
    assert backend.stats()["retries"] == 2


def test_a_huge_retry_after_is_capped(stub_server):
    stub_server.faults = Faults(rate_limit_first=1, retry_after="3600")  # "come back in an hour"
    backend = client(stub_server, max_retry_after_s=0.3)
    sample = backend.generate([chat("busy?")], GREEDY)[0][0]
    assert sample.error is None and [c.status for c in stub_server.calls] == [429, 200]
    gap = stub_server.calls[1].t - stub_server.calls[0].t
    assert 0.3 <= gap < 60  # waited the cap, not the server's hour
    assert OpenAICompatBackend("m")._delay(0, 3600.0) <= 300 * 1.1  # the default cap: five minutes


def test_5xx_and_timeouts_are_retried(stub_server, tiny_hf_backend):
    stub_server.faults = Faults(error_first=2, slow_first=1, slow_s=1.5)
    backend = client(stub_server, timeout_s=0.5)
    got = backend.generate([chat("flaky")], GREEDY)[0][0]
    assert got.text == tiny_hf_backend.generate([chat("flaky")], GREEDY)[0][0].text
    assert [c.status for c in stub_server.calls] == [500, 500, 200, 200]  # the 3rd answered too late
    assert backend.stats()["retries"] == 3 and backend.stats()["failures"] == 0


def test_permanent_failure_becomes_error_samples_not_a_crash(stub_server):
    stub_server.faults = Faults(fail_marker="BOOM")
    backend = client(stub_server, max_retries=2)
    out = backend.generate([chat("fine 1", "a"), chat("BOOM", "b"), chat("fine 2", "c")],
                           SamplingParams(n=2, max_tokens=3, seed=0))
    assert [len(r) for r in out] == [2, 2, 2]
    assert all(s.finish_reason == "error" and "HTTP 500" in s.error for s in out[1])
    assert all(s.error is None for s in out[0] + out[2])
    assert len(stub_server.calls_to("BOOM")) == 3  # first attempt + max_retries
    assert backend.stats()["failures"] == 1


def test_malformed_response_fails_only_its_request(stub_server):
    stub_server.faults = Faults(malformed_marker="ODD")
    out = client(stub_server).generate([chat("ODD", "a"), chat("normal", "b")], GREEDY)
    assert out[0][0].finish_reason == "error" and "malformed response" in out[0][0].error
    assert out[1][0].error is None


def test_client_errors_are_not_retried(stub_server):
    stub_server.faults = Faults(reject_marker="BAD")
    sample = client(stub_server).generate([chat("BAD")], GREEDY)[0][0]
    assert sample.finish_reason == "error" and "HTTP 400" in sample.error
    assert len(stub_server.calls) == 1


def test_connection_refused_ends_as_error(stub_server):
    url = stub_server.url
    stub_server.stop()
    backend = make_backend("openai", "tiny", base_url=url, max_retries=1, **FAST)
    sample = backend.generate([chat("anyone?")], GREEDY)[0][0]
    assert sample.finish_reason == "error" and "ConnectError" in sample.error
    assert backend.stats()["retries"] == 1


def test_concurrency_is_bounded(stub_server):
    stub_server.faults = Faults(delay_s=0.05)
    out = client(stub_server, max_concurrency=2).generate([chat(f"q{i}", str(i)) for i in range(6)], GREEDY)
    assert len(out) == 6 and stub_server.max_in_flight == 2


def test_generate_works_inside_a_running_event_loop(stub_server):
    backend = client(stub_server)

    async def caller():
        sync = backend.generate([chat("from async")], GREEDY)
        native = await backend.agenerate([chat("from async")], GREEDY)
        return sync, native

    sync, native = asyncio.run(caller())
    assert sync[0][0].text == native[0][0].text and sync[0][0].error is None


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="max_concurrency=0"):
        make_backend("openai", "m", max_concurrency=0)
    with pytest.raises(ValueError, match="base_url='localhost:8000'"):
        make_backend("openai", "m", base_url="localhost:8000")
