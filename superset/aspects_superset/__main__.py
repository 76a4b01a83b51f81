"""``python -m aspects_superset init | import-assets | superset <args>``."""

from __future__ import annotations

import sys

from aspects_superset import configure_environment


def main(argv: list[str]) -> None:
    configure_environment()
    command, *rest = argv or ["--help"]
    if command == "superset":
        from superset.cli.main import superset

        superset.main(rest, prog_name="superset")
    elif command == "init":
        from aspects_superset.bootstrap import init

        init()
    elif command == "import-assets":
        from aspects_superset.bootstrap import setup

        setup()
    else:
        print(__doc__)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
