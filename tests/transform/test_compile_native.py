"""scripts/compile_native.py picks a new enough cargo, or stops early saying what is needed.

``make`` runs ``compile_native.py --check`` before anything else of the native build, so a machine
with Debian's cargo (too old for the crate) gets the needed version and the rustup command instead
of a compiler that fails half-way. The cargos here are fakes (shell scripts that answer
``--version``): an old Debian cargo is not installed on this machine, and a test must not install
compilers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compile_native.py"


def _fake_cargo(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    cargo = directory / "cargo"
    cargo.write_text(f'#!/bin/sh\necho "cargo {version}"\n')
    cargo.chmod(0o755)
    return cargo


def _check(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_an_old_cargo_stops_the_build_with_the_needed_version(tmp_path: Path) -> None:
    old = _fake_cargo(tmp_path / "bin", "0.66.0")  # what Debian 12's cargo package says
    result = _check(tmp_path)
    assert result.returncode != 0
    assert "needs Rust >= 1.78" in result.stderr
    assert f"{old} (0.66)" in result.stderr
    assert "https://sh.rustup.rs" in result.stderr


def test_no_cargo_at_all_says_so(tmp_path: Path) -> None:
    result = _check(tmp_path)
    assert result.returncode != 0
    assert "no cargo on PATH or in ~/.cargo/bin" in result.stderr
    assert "rustup" in result.stderr


def test_rustups_cargo_is_taken_when_the_one_on_path_is_too_old(tmp_path: Path) -> None:
    _fake_cargo(tmp_path / "bin", "1.77.2")
    new = _fake_cargo(tmp_path / "home" / ".cargo" / "bin", "1.95.0 (f2d3ce0bd 2026-03-21)")
    result = _check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"cargo: {new}"
