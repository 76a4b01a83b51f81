"""Build the Rust transformer (native/) and install it as ``aspects.transform._fast``.

``make compile`` runs it. The library is built with cargo (offline, crates from Debian's
librust-*-dev packages: native/.cargo/config.toml), copied beside its target under src/ and
renamed over it (a process that already loaded an older build keeps a valid mapping). A record
``src/aspects/transform/_fast.json`` holds the SHA-256 of the crate's sources at build time:
``aspects.transform.fast`` refuses a build whose sources changed since (the Python path runs).

Usage: ``python scripts/compile_native.py [--profile release|quick] [--clean] [--check]``
(``quick``: no LTO, incremental, for development; ``release`` is what ships; ``--check``: only
say whether a new enough cargo is there, as ``make`` does before anything else.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRATE = ROOT / "native"
PACKAGE = ROOT / "src" / "aspects" / "transform"
LIBRARY = PACKAGE / f"_fast{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"
RECORD = PACKAGE / "_fast.json"
# The oldest Rust that builds the crate: Cargo.lock is version 4 (read from cargo 1.78); the code
# uses let-else (1.65) and Option::is_some_and (1.70). Debian 12's cargo/rustc (0.66/1.63) is
# too old. Built and tested here with 1.95 only.
MIN_RUST = (1, 78)
RUSTUP = "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal"


def cargo_version(path: str) -> tuple[int, int] | None:
    """``cargo --version``'s (major, minor) (Debian's cargo counts 0.x), None if it cannot run."""
    try:
        out = subprocess.run(  # noqa: S603 - a cargo found on PATH or in ~/.cargo/bin
            [path, "--version"], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"cargo (\d+)\.(\d+)", out)
    return (int(match[1]), int(match[2])) if match else None


def cargo() -> str:
    """The first new enough cargo on PATH or in ~/.cargo/bin (rustup's), else exit saying why."""
    candidates = [shutil.which("cargo"), str(Path.home() / ".cargo" / "bin" / "cargo")]
    found: list[str] = []
    for path in dict.fromkeys(c for c in candidates if c and Path(c).exists()):
        version = cargo_version(path)
        if version is not None and version >= MIN_RUST:
            return path
        found.append(f"{path} ({'.'.join(map(str, version)) if version else 'does not run'})")
    needed = ".".join(map(str, MIN_RUST))
    raise SystemExit(
        f"the native transformer (native/) needs Rust >= {needed} (cargo); "
        + (f"found only {', '.join(found)}" if found else "no cargo on PATH or in ~/.cargo/bin")
        + ". Debian's cargo/rustc packages are too old. Install a current toolchain with rustup:\n"
        + f"    {RUSTUP}\nthen run make again (cargo is found in ~/.cargo/bin)."
    )


def install(built: Path, target: Path) -> None:
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copy2(built, staging)
    os.replace(staging, target)


def build(profile: str) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from aspects.transform.fast import sources_digest  # the digest the loader checks

    started = time.perf_counter()
    digest = sources_digest(CRATE)  # before the build: an edit meanwhile makes it stale
    env = {**os.environ, "PYO3_PYTHON": sys.executable}
    subprocess.run(  # noqa: S603 - our own cargo, fixed arguments
        [cargo(), "build", "--profile", profile, "--locked"],
        cwd=CRATE,  # .cargo/config.toml (offline, Debian's crates) is read from here
        env=env,
        check=True,
    )
    built = CRATE / "target" / profile / "lib_fast.so"
    install(built, LIBRARY)
    record = {"python": sys.implementation.cache_tag, "profile": profile, "sources": digest}
    RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"built aspects.transform._fast ({profile}) in {time.perf_counter() - started:.0f} s")


def clean() -> None:
    LIBRARY.unlink(missing_ok=True)
    RECORD.unlink(missing_ok=True)
    shutil.rmtree(CRATE / "target", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--profile", choices=("release", "quick"), default="release")
    parser.add_argument("--clean", action="store_true", help="remove the build")
    parser.add_argument("--check", action="store_true", help="only check for a new enough cargo")
    args = parser.parse_args()
    if args.clean:
        clean()
    elif args.check:
        print(f"cargo: {cargo()}")
    else:
        build(args.profile)


if __name__ == "__main__":
    main()
