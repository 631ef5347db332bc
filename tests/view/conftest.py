"""A synthetic store (1M scored rollouts and friends) and a real uvicorn server over it, shared per module."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from factory.store.store import Store
from factory.view.app import ViewConfig, make_app
from factory.view.engine import EngineConfig
from tests.support.view_store import make_view_store


@pytest.fixture(scope="module")
def view_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("view") / "store")
    return store, make_view_store(store)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(view_store):
    """``http://127.0.0.1:PORT`` of a uvicorn server on the view store (time limit 3 s for the tests)."""
    import uvicorn

    store, snaps = view_store
    app = make_app(store, ViewConfig(engine=EngineConfig(time_limit_s=3.0)))
    app.state.engine.connection()
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", snaps
    srv.should_exit = True
    thread.join(timeout=10)
    app.state.engine.close()
