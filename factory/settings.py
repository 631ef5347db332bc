"""The one place environment variables are read (house style: no env reads elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STORE = "./factory-store"


def store_location(explicit: str | os.PathLike | None = None) -> str:
    """Where snapshots live, as given (a local path or an fsspec URL such as ``s3://bucket/prefix``):
    ``--store`` wins, then ``FACTORY_STORE``, then ``./factory-store``."""
    return str(explicit or os.environ.get("FACTORY_STORE") or DEFAULT_STORE)


def cache_dir() -> Path:
    """Local derived state of remote stores (catalogs): ``FACTORY_CACHE``, else ``~/.cache/r1-factory``."""
    return Path(os.environ.get("FACTORY_CACHE") or Path.home() / ".cache" / "r1-factory").expanduser()


ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"
JEMALLOC_CONF_ENV = "JE_ARROW_MALLOC_CONF"
JEMALLOC_CONF = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1"
"""Arrow's bundled jemalloc, told to keep freed pages for reuse. Its default serves allocations
over 8 MB (a 20k-row batch's text buffer, grown by doubling while Parquet decodes it) from an
arena that returns them to the OS at once, so every batch faulted its pages in again: on
`factory score --rewards accuracy` over 200k rollouts, 454k page faults and 1.3-2.3 s of kernel
time, against 258k and 1.1-1.3 s with this (peak RSS 1.22 -> 1.43 GB: the high-water mark is kept)."""


def configure_jemalloc() -> None:
    """Set ``JE_ARROW_MALLOC_CONF`` (unless set) before pyarrow loads: jemalloc reads it once, when
    the library initialises, so this must run before the first ``import pyarrow`` (the package's
    ``__init__`` calls it; a pyarrow imported earlier keeps its defaults). Only Arrow's jemalloc
    pool reads it, which ``use_jemalloc_for_arrow`` selects."""
    os.environ.setdefault(JEMALLOC_CONF_ENV, JEMALLOC_CONF)


def use_jemalloc_for_arrow() -> str:
    """Make Arrow allocate from jemalloc unless ``ARROW_DEFAULT_MEMORY_POOL`` names a pool; returns
    the pool in use. Why: the pyarrow wheels default to mimalloc, which hands each batch's pages
    (a 20k-row batch of rollouts is ~75 MB) back to the OS and faults them in again for the next:
    `factory score --rewards accuracy` on 200k rollouts took 9.3 s wall with 4.7 s of it in the
    kernel, against 7.8 s and 1.3 s on jemalloc, and less peak memory. ``JEMALLOC_CONF`` makes
    jemalloc keep its large freed pages too."""
    import pyarrow as pa

    if not os.environ.get(ARROW_POOL_ENV):
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except (NotImplementedError, AttributeError):  # a pyarrow built without jemalloc
            pass
    return pa.default_memory_pool().backend_name


def hf_token() -> str | None:
    """The Hub token from ``HF_TOKEN`` / ``HUGGING_FACE_HUB_TOKEN``; None lets huggingface_hub use its login."""
    return os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or None


def openai_api_key() -> str | None:
    """API key for OpenAI-compatible servers (``OPENAI_API_KEY``); local servers need none."""
    return os.environ.get("OPENAI_API_KEY") or None


SECRET_WORDS = {"token", "secret", "password", "passwd", "credential", "credentials", "apikey"}


def is_secret_key(key: str) -> bool:
    """Whether an option name holds a secret (``api_key``, ``hf_token``, ...); ``*_file`` names a file.

    >>> [is_secret_key(k) for k in ("api_key", "hf_token", "api_key_file", "max_tokens", "tokenizer")]
    [True, True, False, False, False]
    """
    parts = key.lower().rsplit(".", 1)[-1].replace("-", "_").split("_")
    if parts[-1] == "file":
        return False
    return bool(SECRET_WORDS & set(parts)) or any(a == "api" and b == "key" for a, b in zip(parts, parts[1:]))


def read_secret_file(path: str | os.PathLike) -> str:
    """A secret kept in a file (``--runtime api_key_file=PATH``): argv and configs only name the file."""
    try:
        return Path(path).expanduser().read_text().strip()
    except OSError as e:
        raise ValueError(f"cannot read the secret file {path}: {e.strerror}") from None


def debug_enabled() -> bool:
    """``FACTORY_DEBUG=1`` shows tracebacks like ``--debug``."""
    return os.environ.get("FACTORY_DEBUG", "") not in ("", "0", "false")


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap for catalog queries (``FACTORY_DUCKDB_MEMORY``, default 1GB): keeps SQL bounded."""
    return os.environ.get("FACTORY_DUCKDB_MEMORY", "1GB")
