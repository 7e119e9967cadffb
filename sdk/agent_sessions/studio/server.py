"""Running the app: uvicorn on a loopback socket, in the foreground or in a thread (tests, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from .app import Studio, create_app

__all__ = ["BackgroundServer", "bind", "serve"]

HOST = "127.0.0.1"


def bind(port: int = 0, host: str = HOST) -> socket.socket:
    """A listening socket on ``host:port`` (0: the system picks a free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class BackgroundServer:
    """The studio served from a thread; ``url`` once started. ``stop()`` ends streams and the server."""

    def __init__(self, studio: Studio, port: int = 0, *, log_level: str = "warning") -> None:
        self.studio = studio
        self.app = create_app(studio)
        self.sock = bind(port)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level=log_level, timeout_graceful_shutdown=2, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name="studio-server")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 20.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the studio server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.app.state.stopping = True
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(studio: Studio, port: int = 0, *, log_level: str = "warning",
          ready: Any = None) -> None:
    """Serve ``studio`` on 127.0.0.1 until interrupted; ``ready(url)`` is called once listening."""
    app = create_app(studio)
    sock = bind(port)
    url = f"http://{HOST}:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=2, lifespan="off")
    server = uvicorn.Server(config)
    if ready is not None:
        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                ready(url)
        threading.Thread(target=announce, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        app.state.stopping = True
        sock.close()
