"""A throwaway PostgreSQL cluster for the LRS database tests.

The Debian ``postgresql`` package's binaries start a private cluster under /tmp on a free
loopback port (as the ``postgres`` user when the tests run as root: PostgreSQL refuses root).
When the binaries or psycopg are missing the fixture skips with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import free_port


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


class Cluster:
    def __init__(self, bin_dir: Path, root: Path, port: int, user: str | None) -> None:
        self.bin_dir, self.root, self.port, self.user = bin_dir, root, port, user

    def run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://aspects@127.0.0.1:{self.port}/{database}"

    def shared_database(self) -> str:
        """One database for every test of the session (tests empty its tables themselves)."""
        if not hasattr(self, "_shared"):
            self._shared = self.create_database()
        return self._shared

    def create_database(self) -> str:
        import psycopg

        name = f"lrs_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=aspects dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install psycopg[binary])")
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        pytest.skip("PostgreSQL binaries not found (Debian: apt-get install -y postgresql)")
    user = None
    if os.geteuid() == 0:
        for candidate in ("postgres", "nobody"):
            try:
                pwd.getpwnam(candidate)
            except KeyError:
                continue
            user = candidate
            break
        if user is None:
            pytest.skip("running as root and no unprivileged user to run PostgreSQL")
    root = Path(tempfile.mkdtemp(prefix="aspects-pg-"))
    data = root / "data"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(bin_dir, root, free_port(), user)
    try:
        cluster.run("initdb", "-D", str(data), "-U", "aspects", "--auth=trust", "-E", "UTF8")
        options = f"-h 127.0.0.1 -p {cluster.port} -k {root} -F"
        cluster.run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        shutil.rmtree(root, ignore_errors=True)
        detail = getattr(error, "stderr", b"") or b""
        pytest.skip(f"could not start PostgreSQL: {detail.decode(errors='replace')[-300:]}")
    try:
        yield cluster
    finally:
        try:
            cluster.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(root, ignore_errors=True)
