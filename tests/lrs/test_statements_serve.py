"""`aspects lrs serve` as a real subprocess (its own embedded store under a temporary data dir)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from tests.lrs.statements_helpers import statement
from tests.support import free_port, wait_until_serving

ASPECTS = str(Path(sys.executable).parent / "aspects")


def test_serve_stores_and_returns_statements(tmp_path: Path) -> None:
    env = {**os.environ, "ASPECTS_DATA_DIR": str(tmp_path)}
    env.pop("ASPECTS_CONFIG", None)
    created = subprocess.run(
        [
            ASPECTS,
            "lrs",
            "credentials",
            "create",
            "--name",
            "serve-test",
            "--scope",
            "all",
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    credential = orjson.loads(created.stdout)
    port = free_port()
    server = subprocess.Popen(
        [ASPECTS, "lrs", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/xAPI"
    try:
        wait_until_serving(f"{base}/about", server, 60, "the LRS")
        with httpx.Client(
            base_url=base,
            auth=(credential["key"], credential["secret"]),
            headers={"X-Experience-API-Version": "2.0.0"},
        ) as client:
            sent = [statement() for _ in range(3)]
            posted = client.post("/statements", json=sent)
            assert posted.status_code == 200
            assert posted.json() == [item["id"] for item in sent]
            listed = client.get("/statements", params={"limit": 2})
            assert listed.headers["x-experience-api-version"] == "2.0.0"
            assert [item["id"] for item in listed.json()["statements"]] == [
                sent[2]["id"],
                sent[1]["id"],
            ]
            assert client.get("/statements", auth=("nobody", "wrong-secret")).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
