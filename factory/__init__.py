"""factory package."""

from factory.settings import configure_jemalloc

configure_jemalloc()  # before anything imports pyarrow (see settings.JEMALLOC_CONF)
