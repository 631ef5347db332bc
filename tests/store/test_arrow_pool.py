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


def _conf_seen_by_a_fresh_process(env_extra: dict) -> str:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != settings.JEMALLOC_CONF_ENV} | env_extra
    code = "import factory, os; print(os.environ.get('JE_ARROW_MALLOC_CONF'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_importing_factory_keeps_jemalloc_pages_unless_the_user_configured_it():
    assert _conf_seen_by_a_fresh_process({}) == settings.JEMALLOC_CONF
    assert _conf_seen_by_a_fresh_process({settings.JEMALLOC_CONF_ENV: "dirty_decay_ms:0"}) == "dirty_decay_ms:0"


def test_a_conf_set_in_process_before_pyarrow_loads_reaches_jemalloc():
    """What ``configure_jemalloc`` relies on. jemalloc reports an unknown option on stderr, so a
    bogus key set from Python before ``import pyarrow`` shows the variable is read then."""
    import os
    import subprocess
    import sys

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow is built without jemalloc")
    code = (f"import os; os.environ[{settings.JEMALLOC_CONF_ENV!r}] = 'no_such_option:1'; "
            "import pyarrow as pa; pa.set_memory_pool(pa.jemalloc_memory_pool()); pa.array([1] * 1_000_000)")
    env = {k: v for k, v in os.environ.items() if k != settings.JEMALLOC_CONF_ENV}
    err = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stderr
    assert "no_such_option" in err
