"""Test fixtures for the backends: a real OpenAI-compatible HTTP server over a tiny model.

``OpenAIStubServer`` is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) that answers
``/v1/chat/completions`` and ``/v1/completions`` by really generating with the tiny Qwen2
model through ``TransformersBackend``, reports ``usage``, can return the chain of thought
in a separate ``reasoning_content``/``reasoning`` field, and injects faults (429 with
``Retry-After``, 500s, answers slower than the client timeout, permanent failures, fewer
choices than asked). It logs every call with a server-side timestamp, so tests can check
client behaviour (e.g. that it waited ``Retry-After``) without sleeping themselves.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from factory.generate.backends.base import Request, SamplingParams

_GENERATE_LOCK = threading.Lock()


@dataclass
class Faults:
    """What the server does wrong. Call numbers count every POST since the last reset."""

    rate_limit_first: int = 0  # answer the first k calls with 429
    retry_after: str | None = "0.2"  # Retry-After header sent with each 429
    error_first: int = 0  # then answer the next k calls with 500
    slow_first: int = 0  # then delay the next k calls by slow_s (past the client timeout)
    slow_s: float = 1.0
    delay_s: float = 0.0  # delay every answer (to make requests overlap)
    fail_marker: str | None = None  # prompts containing this always get 500
    reject_marker: str | None = None  # prompts containing this always get 400
    malformed_marker: str | None = None  # prompts containing this get a 200 with bad JSON shape
    max_choices: int | None = None  # return at most this many choices per call
    reasoning_field: str | None = None  # "reasoning_content" or "reasoning"


@dataclass
class Call:
    """One logged POST."""

    t: float  # time.perf_counter() when the request arrived
    path: str
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


class OpenAIStubServer:
    """An OpenAI-compatible server over a local ``TransformersBackend``; see module docstring."""

    def __init__(self, backend: Any, faults: Faults | None = None) -> None:
        self.backend, self.faults = backend, faults or Faults()
        self.calls: list[Call] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True  # a handler still sleeping must not block shutdown
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> "OpenAIStubServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def calls_to(self, marker: str) -> list[Call]:
        return [c for c in self.calls if marker in json.dumps(c.body, ensure_ascii=False)]

    def answer(self, path: str, body: dict, headers: dict) -> tuple[int, dict, dict]:
        """Decide the fault, or generate; returns (status, json, extra headers)."""
        with self._lock:
            k = len(self.calls)
            text = json.dumps(body, ensure_ascii=False)
            f = self.faults
            if f.reject_marker and f.reject_marker in text:
                status = 400
            elif f.fail_marker and f.fail_marker in text:
                status = 500
            elif f.rate_limit_first <= k < f.rate_limit_first + f.error_first:
                status = 500
            elif k < f.rate_limit_first:
                status = 429
            else:
                status = 200
            self.calls.append(Call(time.perf_counter(), path, status, body, headers))
        if status == 429:
            extra = {"Retry-After": f.retry_after} if f.retry_after is not None else {}
            return 429, {"error": {"message": "rate limited"}}, extra
        if status != 200:
            return status, {"error": {"message": f"injected {status}"}}, {}
        if f.malformed_marker and f.malformed_marker in text:
            return 200, {"choices": "not a list of choices"}, {}
        first_slow = f.rate_limit_first + f.error_first
        if first_slow <= k < first_slow + f.slow_first:
            time.sleep(f.slow_s)
        if f.delay_s:
            time.sleep(f.delay_s)
        return 200, self._completion(path, body), {}

    def _completion(self, path: str, body: dict) -> dict:
        chat = path.endswith("/chat/completions")
        req = Request(id="x", messages=body["messages"]) if chat else Request(id="x", prompt=body["prompt"])
        n = min(int(body.get("n", 1)), self.faults.max_choices or 10**6)
        params = SamplingParams(n=n, temperature=body.get("temperature", 1.0), top_p=body.get("top_p", 1.0),
                                max_tokens=body.get("max_tokens", 16), seed=body.get("seed"),
                                stop=tuple(body.get("stop") or ()))
        with _GENERATE_LOCK:  # torch's global seed is shared by all servers' handler threads
            samples = self.backend.generate([req], params)[0]
        choices = [self._choice(i, s, chat) for i, s in enumerate(samples)]
        usage = {"prompt_tokens": samples[0].prompt_tokens,
                 "completion_tokens": sum(s.completion_tokens for s in samples)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return {"id": "cmpl-test", "object": "chat.completion" if chat else "text_completion",
                "model": body.get("model"), "choices": choices, "usage": usage}

    def _choice(self, i: int, sample: Any, chat: bool) -> dict:
        if not chat:
            return {"index": i, "text": sample.text, "finish_reason": sample.finish_reason}
        message = {"role": "assistant", "content": sample.text}
        field_name = self.faults.reasoning_field
        if field_name:  # like a reasoning parser: the first half is the "chain of thought"
            half = len(sample.text) // 2
            message = {"role": "assistant", "content": sample.text[half:], field_name: sample.text[:half]}
        return {"index": i, "message": message, "finish_reason": sample.finish_reason}


def _handler_for(server: OpenAIStubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (stdlib naming)
            with server._lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith(("/chat/completions", "/completions")):
                    status, payload, extra = 404, {"error": {"message": "not found"}}, {}
                else:
                    status, payload, extra = server.answer(self.path, body, dict(self.headers))
                self._send(status, payload, extra)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left: expected for slow answers
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _send(self, status: int, payload: dict, extra: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


# ---------------------------------------------------------------------- pytest fixtures
@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory):
    """A tiny random Qwen2 causal LM saved to disk (built offline, < 2 s)."""
    from tests.support.tiny_models import make_tiny_causal_lm

    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="module")
def tiny_hf_backend(tiny_lm_dir):
    """``TransformersBackend`` over the tiny model, on CPU."""
    from factory.generate.backends.hf_transformers import TransformersBackend

    backend = TransformersBackend(str(tiny_lm_dir), device="cpu", dtype="float32")
    yield backend
    backend.close()


@pytest.fixture
def stub_server(tiny_hf_backend):
    """A started ``OpenAIStubServer`` without faults; set ``stub_server.faults`` to inject."""
    server = OpenAIStubServer(tiny_hf_backend).start()
    yield server
    server.stop()


# ---------------------------------------------------------------------- vLLM stand-in
class StubLLM:
    """Stands in for ``vllm.LLM``: same ``generate``/``chat`` signatures, outputs shaped like
    ``RequestOutput``/``CompletionOutput``. Completion i of a prompt is
    ``"<pid>|<CUDA_VISIBLE_DEVICES>|<prompt>|<i>"`` with one token per 4 characters (rounded up), cut
    at ``max_tokens`` (finish ``"length"``). A prompt containing ``TOO_LONG`` makes the whole
    call raise ``ValueError``, as vLLM does for prompts over ``max_model_len``."""

    def __init__(self, **engine_kwargs: Any) -> None:
        self.engine_kwargs = engine_kwargs
        self.calls: list[tuple[str, int, Any]] = []

    def generate(self, prompts: list[str], sampling_params: Any, use_tqdm: bool = True) -> list[Any]:
        self.calls.append(("generate", len(prompts), sampling_params))
        return [self._output(p, sp) for p, sp in zip(prompts, _per_prompt(sampling_params, len(prompts)))]

    def chat(self, messages: list[list[dict]], sampling_params: Any, use_tqdm: bool = True,
             chat_template_kwargs: dict | None = None) -> list[Any]:
        self.calls.append(("chat", len(messages), sampling_params))
        sps = _per_prompt(sampling_params, len(messages))
        return [self._output("\n".join(m["content"] for m in conv), sp) for conv, sp in zip(messages, sps)]

    def _output(self, prompt: str, sp: Any) -> Any:
        import os
        from types import SimpleNamespace

        if "TOO_LONG" in prompt:
            raise ValueError("The decoder prompt is longer than the maximum model length")
        outputs = []
        for i in range(sp.n):
            sample = i if sp.seed is None else f"{sp.seed}+{i}"  # vLLM seeds sample i with seed + i
            text = f"{os.getpid()}|{os.environ.get('CUDA_VISIBLE_DEVICES', '')}|{prompt}|{sample}"
            n_tokens = -(-len(text) // 4)
            finish = "length" if n_tokens > sp.max_tokens else "stop"
            if finish == "length":
                n_tokens, text = sp.max_tokens, text[:4 * sp.max_tokens]
            outputs.append(SimpleNamespace(index=i, text=text, token_ids=list(range(n_tokens)),
                                           finish_reason=finish))
        return SimpleNamespace(prompt_token_ids=list(range(len(prompt) // 4)), outputs=outputs[::-1])


def _per_prompt(sampling_params: Any, n: int) -> list[Any]:
    """vLLM takes one ``SamplingParams`` for all prompts or a list with one per prompt."""
    return list(sampling_params) if isinstance(sampling_params, (list, tuple)) else [sampling_params] * n
