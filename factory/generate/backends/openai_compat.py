"""Any OpenAI-compatible HTTP server (vLLM serve, SGLang, hosted APIs) as a backend.

Long generation runs meet rate limits, overloaded servers and dropped connections; one bad
request must not sink a 600k-sample batch. So requests run with bounded concurrency, retry
with exponential backoff and jitter on 429/5xx/timeouts/connection errors (honouring
``Retry-After``), and a request that still fails becomes ``finish_reason="error"`` samples.
Tokens, retries and cost are counted in ``stats()``.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Coroutine, Sequence

from factory.generate.backends.base import (
    Backend,
    EndpointDown,
    Request,
    Sample,
    SamplingParams,
    error_sample,
    sample_seed,
)

_RETRY_STATUSES = frozenset({408, 409, 425, 429})  # plus every 5xx
_FINISH = {"stop": "stop", "eos": "stop", "length": "length", "tool_calls": "stop",
           "function_call": "stop", None: "stop"}
_STAT_KEYS = ("requests", "responses", "retries", "failures", "prompt_tokens",
              "completion_tokens", "cost_usd")


class _GiveUp(Exception):
    """A request that failed permanently or ran out of retries."""

    def __init__(self, message: str, latency_s: float) -> None:
        super().__init__(message)
        self.latency_s = latency_s


class OpenAICompatBackend(Backend):
    """Client for ``/v1/chat/completions`` (messages) and ``/v1/completions`` (raw prompts).

    Args:
        model: the served model name.
        base_url: server root including ``/v1``, e.g. ``http://localhost:8000/v1``.
        api_key: sent as ``Authorization: Bearer``; never written to manifests. Default: the
            contents of ``api_key_file``, else ``OPENAI_API_KEY``.
        api_key_file: a file holding the key (what the CLI takes: secrets never sit on argv).
        max_concurrency: most HTTP requests in flight at once.
        timeout_s: per-attempt timeout (connect, read, write).
        max_retries: retries after the first attempt before a request ends as an error.
        backoff_base_s: first backoff delay; doubles per retry, with jitter.
        backoff_max_s: cap on a computed backoff delay (a server's ``Retry-After`` wins).
        max_retry_after_s: cap on a server's ``Retry-After``: a proxy answering "retry in an hour"
            must not park every in-flight row for an hour; past the cap the row retries sooner.
        price_per_mtok_in: USD per million prompt tokens, for ``stats()["cost_usd"]``.
        price_per_mtok_out: USD per million completion tokens.
        extra_body: extra JSON fields for every request (e.g. ``{"top_k": 20}``).
        max_connect_failures: connection attempts refused in a row (over all requests) after which
            the endpoint counts as dead and ``generate`` raises ``EndpointDown``.
    """

    name = "openai"

    def __init__(self, model: str, *, base_url: str = "http://localhost:8000/v1",
                 api_key: str | None = None, api_key_file: str | None = None, max_concurrency: int = 64, timeout_s: float = 600.0,
                 max_retries: int = 6, backoff_base_s: float = 1.0, backoff_max_s: float = 60.0,
                 max_retry_after_s: float = 300.0,
                 price_per_mtok_in: float = 0.0, price_per_mtok_out: float = 0.0,
                 extra_body: dict[str, Any] | None = None, max_connect_failures: int = 8) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency={max_concurrency}: must be at least 1")
        if max_connect_failures < 1:
            raise ValueError(f"max_connect_failures={max_connect_failures}: must be at least 1")
        if max_retries < 0:
            raise ValueError(f"max_retries={max_retries}: use 0 to disable retries")
        if timeout_s <= 0 or backoff_base_s < 0 or backoff_max_s < 0:
            raise ValueError(f"timeout_s={timeout_s}, backoff_base_s={backoff_base_s}, "
                             f"backoff_max_s={backoff_max_s}: timeouts must be > 0, delays >= 0")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url={base_url!r}: give a URL like http://localhost:8000/v1")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.max_concurrency, self.timeout_s, self.max_retries = max_concurrency, timeout_s, max_retries
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self.price_in, self.price_out = price_per_mtok_in, price_per_mtok_out
        self.extra_body = dict(extra_body or {})
        from factory import settings

        # never from argv: explicit (library callers) > a file > OPENAI_API_KEY on the worker
        api_key = api_key or (settings.read_secret_file(api_key_file) if api_key_file else settings.openai_api_key())
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._stats: dict[str, float] = dict.fromkeys(_STAT_KEYS, 0)
        self._lock = threading.Lock()
        self._jitter = random.Random()  # jitter needs no reproducibility
        self.max_connect_failures, self._refused = max_connect_failures, 0
        self.options = {"base_url": self.base_url, "max_concurrency": max_concurrency,
                        "timeout_s": timeout_s, "max_retries": max_retries,
                        "extra_body": self.extra_body}

    # ------------------------------------------------------------------ public API
    def generate(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        """Sample ``params.n`` completions per request (see ``Backend.generate``).

        Works whether or not an event loop is already running in this thread.
        """
        return _run_sync(lambda: self.agenerate(requests, params))

    async def agenerate(self, requests: Sequence[Request], params: SamplingParams) -> list[list[Sample]]:
        """The async form of ``generate``, for callers that already run an event loop."""
        import httpx

        sem = asyncio.Semaphore(self.max_concurrency)
        limits = httpx.Limits(max_connections=self.max_concurrency,
                              max_keepalive_connections=self.max_concurrency)
        async with httpx.AsyncClient(base_url=self.base_url, headers=self._headers, limits=limits,
                                     timeout=httpx.Timeout(self.timeout_s)) as client:
            return list(await asyncio.gather(*(self._samples(client, sem, r, params) for r in requests)))

    def stats(self) -> dict[str, float]:
        """Counters since construction: HTTP ``requests`` sent, ``responses`` received,
        ``retries``, ``failures`` (requests given up), tokens, and ``cost_usd``."""
        with self._lock:
            return dict(self._stats)

    # ------------------------------------------------------------------ internals
    async def _samples(self, client: Any, sem: asyncio.Semaphore, req: Request,
                       params: SamplingParams) -> list[Sample]:
        """All n samples of one request; asks again for the rest if a server returns fewer."""
        path = "/completions" if req.messages is None else "/chat/completions"
        samples: list[Sample] = []
        empty_replies = 0
        while len(samples) < params.n:
            missing = params.n - len(samples)
            try:
                data, latency = await self._post(client, sem, path, self._body(req, params, missing, len(samples)))
            except _GiveUp as exc:
                self._add(failures=1)
                return samples + [error_sample(str(exc), exc.latency_s) for _ in range(missing)]
            try:
                new = self._parse(data, latency)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:  # malformed JSON shape
                self._add(failures=1)
                return samples + [error_sample(f"malformed response: {exc!r}", latency) for _ in range(missing)]
            empty_replies = 0 if new else empty_replies + 1
            if empty_replies > self.max_retries:
                self._add(failures=1)
                return samples + [error_sample("server returned no choices", latency) for _ in range(missing)]
            samples += new[:missing]
        return samples

    def _body(self, req: Request, params: SamplingParams, n: int, offset: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "n": n, "temperature": params.temperature,
                                "top_p": params.top_p, "max_tokens": params.max_tokens}
        if req.messages is None:
            body["prompt"] = req.prompt
        else:
            body["messages"] = req.messages
        if params.seed is not None:  # per (prompt, first sample): a top-up call must not replay samples
            body["seed"] = sample_seed(params.seed, req.id, offset)
        if params.stop:
            body["stop"] = list(params.stop)
        return {**body, **self.extra_body}

    async def _post(self, client: Any, sem: asyncio.Semaphore, path: str,
                    body: dict[str, Any]) -> tuple[dict, float]:
        """POST with retries; returns (json, seconds including retries) or raises ``_GiveUp``."""
        import httpx

        start, error = time.perf_counter(), ""
        for attempt in range(self.max_retries + 1):
            retry_after = None
            async with sem:
                self._add(requests=1)
                try:
                    resp = await client.post(path, json=body)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    self._connect_failed(error)
                    retry_after = min(self.backoff_base_s, self._delay(attempt, None))  # it is down, not busy
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    with self._lock:
                        self._refused = 0
                    if resp.status_code == 200:
                        try:
                            return resp.json(), time.perf_counter() - start
                        except ValueError:
                            error = "HTTP 200 with a body that is not JSON"
                    else:
                        error = f"HTTP {resp.status_code}: {resp.text[:300]}"
                        if resp.status_code not in _RETRY_STATUSES and resp.status_code < 500:
                            raise _GiveUp(error, time.perf_counter() - start)  # 400, 401, 404…
                        retry_after = parse_retry_after(resp.headers.get("retry-after"))
            if attempt < self.max_retries:
                self._add(retries=1)
                await asyncio.sleep(self._delay(attempt, retry_after))  # sleep without a slot
        raise _GiveUp(f"gave up after {self.max_retries + 1} attempts; last error: {error}",
                      time.perf_counter() - start)

    def _connect_failed(self, error: str) -> None:
        with self._lock:
            self._refused += 1
            dead = self._refused >= self.max_connect_failures
        if dead:
            raise EndpointDown(f"endpoint {self.base_url} is not answering: {self.max_connect_failures} connection "
                               f"attempts in a row failed (last: {error})")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry ``attempt + 1``: the server's ``Retry-After`` when
        given (plus up to 10% jitter), else exponential backoff with equal jitter."""
        jitter = self._jitter.random()
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s) * (1 + 0.1 * jitter)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** attempt)
        return ceiling / 2 + ceiling / 2 * jitter

    def _parse(self, data: dict, latency: float) -> list[Sample]:
        """Turn one response into samples; split ``usage.completion_tokens`` across choices."""
        choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
        usage = data.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        self._add(responses=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                  cost_usd=(prompt_tokens * self.price_in + completion_tokens * self.price_out) / 1e6)
        parsed = [_choice(c) for c in choices]
        shares = split_tokens(completion_tokens, [len(t) + len(r or "") for t, r, _ in parsed])
        samples = []
        for (text, reasoning, raw_finish), tokens in zip(parsed, shares):
            finish = _FINISH.get(raw_finish, "error")
            error = None if finish != "error" else f"finish_reason={raw_finish}"
            samples.append(Sample(text, reasoning, finish, prompt_tokens, tokens, latency, error))
        return samples

    def _add(self, **deltas: float) -> None:
        with self._lock:
            for key, value in deltas.items():
                self._stats[key] += value


def _choice(choice: dict) -> tuple[str, str | None, str | None]:
    """(text, reasoning, finish_reason) of one chat or completion choice."""
    message = choice.get("message")
    if message is None:
        return str(choice.get("text") or ""), None, choice.get("finish_reason")
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    return str(message.get("content") or ""), reasoning, choice.get("finish_reason")


def split_tokens(total: int, weights: list[int]) -> list[int]:
    """Share ``total`` tokens across choices in proportion to their length (usage is per
    response, not per choice); the shares always add up to ``total``.

    >>> split_tokens(10, [1, 1]), split_tokens(7, [3, 0, 1]), split_tokens(5, [0, 0])
    ([5, 5], [5, 0, 2], [3, 2])
    """
    if not weights:
        return []
    if sum(weights) == 0:
        weights = [1] * len(weights)
    denom = sum(weights)
    shares = [total * w // denom for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % denom))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    >>> parse_retry_after("0.5"), parse_retry_after(None), parse_retry_after("soon")
    (0.5, None, None)
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _run_sync(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion from sync code, even inside a running event loop
    (Jupyter, async callers): then it runs on a fresh loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
