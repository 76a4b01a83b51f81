"""Running the endpoint: one process owns the embedded database and serves it over HTTP."""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from types import FrameType

import uvicorn

from aspects.store.endpoint.app import create_app
from aspects.store.endpoint.auth import Users
from aspects.store.endpoint.engine import Engine


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound socket with Nagle disabled.

    TCP_NODELAY on the listening socket is inherited by every accepted connection on Linux;
    without it a response written in two parts (headers, body) waited 40+ ms for the client's
    delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(path: Path, host: str, port: int, users: Users, *, log_level: str = "warning") -> None:
    """Serve until SIGINT/SIGTERM (uvicorn finishes requests in flight, then we close chDB)."""
    sock = listening_socket(host, port)
    engine = Engine(path)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal with the
    # handler it found. A no-op handler lets run() return, so the engine closes cleanly.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _ignore)
    try:
        config = uvicorn.Config(
            create_app(engine, users),
            log_level=log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=10,
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        engine.close()
        sock.close()


def _ignore(number: int, frame: FrameType | None) -> None:
    """Stands in for the default handlers once uvicorn has handled the signal."""
