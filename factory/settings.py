"""The one place environment variables are read (house style: no env reads elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STORE = "./factory-store"


def store_root(explicit: str | os.PathLike | None = None) -> Path:
    """Where snapshots live: ``--store`` wins, then ``FACTORY_STORE``, then ``./factory-store``."""
    return Path(explicit or os.environ.get("FACTORY_STORE") or DEFAULT_STORE).expanduser()


def hf_token() -> str | None:
    """The Hub token from ``HF_TOKEN`` / ``HUGGING_FACE_HUB_TOKEN``; None lets huggingface_hub use its login."""
    return os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or None


def openai_api_key() -> str | None:
    """API key for OpenAI-compatible servers (``OPENAI_API_KEY``); local servers need none."""
    return os.environ.get("OPENAI_API_KEY") or None


def debug_enabled() -> bool:
    """``FACTORY_DEBUG=1`` shows tracebacks like ``--debug``."""
    return os.environ.get("FACTORY_DEBUG", "") not in ("", "0", "false")


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap for catalog queries (``FACTORY_DUCKDB_MEMORY``, default 1GB): keeps SQL bounded."""
    return os.environ.get("FACTORY_DUCKDB_MEMORY", "1GB")
