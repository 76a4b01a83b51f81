"""Starting a real ``aspects db serve`` in a subprocess with its own data directory.

chDB allows one data directory per process and the test process already has one, so every
server under test runs in its own process, exactly as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import free_port

ADMIN = ("aspects", "admin-pw")
READER = ("aspects_reader", "reader-pw")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(data_dir: Path, timeout: float = 60.0) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "ASPECTS_DATA_DIR": str(data_dir),
        "ASPECTS_STORE__ADMIN_USER": ADMIN[0],
        "ASPECTS_STORE__ADMIN_PASSWORD": ADMIN[1],
        "ASPECTS_STORE__READONLY_USER": READER[0],
        "ASPECTS_STORE__READONLY_PASSWORD": READER[1],
    }
    env.pop("ASPECTS_CONFIG", None)
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "aspects"), "db", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, port, data_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((data_dir / "serve.log").read_text())
        try:
            if httpx.get(f"{server.url}/ping", timeout=1).text == "Ok.\n":
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("server did not start:\n" + (data_dir / "serve.log").read_text())
