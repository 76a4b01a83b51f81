"""``python -m aspects.cli``: the same as the ``aspects`` command."""

from aspects.cli import main

main()
