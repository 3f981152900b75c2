"""Serving the studio with uvicorn: in the foreground (the command) or in a background
thread on a free port (notebooks, tests, benchmarks).

The listening socket is opened here, before uvicorn starts, so the address (and a port
chosen by the system for ``port=0``) is known and printed before the first request.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["BackgroundServer", "listen", "serve_forever"]


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0``: any free port).

    Raises
    ------
    OSError
        When the port is taken or the host is not an address of this machine.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port/`` of a listening socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
    return f"http://{host}:{port}/"


def _config(app: Any) -> uvicorn.Config:
    # No access log: a planner's terminal shows the study's messages, not every request.
    return uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )


def serve_forever(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until Ctrl-C or SIGTERM (uvicorn's signal handling)."""
    server = uvicorn.Server(_config(app))
    server.run(sockets=[sock])


class BackgroundServer:
    """``app`` served by uvicorn in a daemon thread.

    Parameters
    ----------
    app : ASGI application
    host : str, default "127.0.0.1"
    port : int, default 0 (a free port)

    Examples
    --------
    >>> server = BackgroundServer(create_app(studio)).start()   # doctest: +SKIP
    >>> server.url
    'http://127.0.0.1:40123/'
    >>> server.stop()
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.sock = listen(host, port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(_config(app))
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            name=f"circle15-studio {self.url}",
            daemon=True,
        )

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        """Start serving; return once uvicorn answers (or raise ``RuntimeError``)."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the studio server at {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and close the socket."""
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
