"""Build the Rust transformer (native/) and install it as ``aspects.transform._fast``.

``make compile`` runs it. The library is built with cargo (offline, crates from Debian's
librust-*-dev packages: native/.cargo/config.toml), copied beside its target under src/ and
renamed over it (a process that already loaded an older build keeps a valid mapping). A record
``src/aspects/transform/_fast.json`` holds the SHA-256 of the crate's sources at build time:
``aspects.transform.fast`` refuses a build whose sources changed since (the Python path runs).

Usage: ``python scripts/compile_native.py [--profile release|quick] [--clean]``
(``quick``: no LTO, incremental, for development; ``release`` is what ships.)
"""

from __future__ import annotations

import argparse
import json
import os
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


def cargo() -> str:
    found = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(found).exists():
        raise SystemExit("cargo not found: install Rust (rustup) or Debian's cargo")
    return found


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
    args = parser.parse_args()
    if args.clean:
        clean()
    else:
        build(args.profile)


if __name__ == "__main__":
    main()
