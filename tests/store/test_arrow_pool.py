"""The CLI and shard workers allocate Arrow memory from jemalloc, unless the user names a pool."""

import pyarrow as pa
import pytest

from factory import settings


def test_jemalloc_unless_a_pool_is_named(monkeypatch):
    before = pa.default_memory_pool()
    try:
        monkeypatch.setenv(settings.ARROW_POOL_ENV, "system")
        pa.set_memory_pool(pa.system_memory_pool())
        assert settings.use_jemalloc_for_arrow() == "system"  # the user's choice stands
        monkeypatch.delenv(settings.ARROW_POOL_ENV)
        try:
            pa.jemalloc_memory_pool()
        except NotImplementedError:
            pytest.skip("this pyarrow is built without jemalloc")
        assert settings.use_jemalloc_for_arrow() == "jemalloc"
    finally:
        pa.set_memory_pool(before)
