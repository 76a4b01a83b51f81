"""A deadline for a clean shutdown: after SIGTERM/Ctrl-C, stuck means diagnosed and gone.

`aspects ingest follow` and `aspects serve` stop cleanly when asked (store what was read, finish
requests in flight). Should something never return (a hung INSERT, a server thread, the engine's
own teardown at exit), a supervisor waiting for the process would wait forever. After
:func:`exit_if_stuck`, the process prints every thread's Python stack to stderr and exits with
status 1 once ``seconds`` pass (:func:`faulthandler.dump_traceback_later`, a C thread that needs
no GIL); and should even that not run (C++ static destructors after the interpreter is gone),
SIGALRM's default action ends the process ``ALARM_MARGIN`` seconds later. Nothing is lost by
that exit: checkpoints are written only after their batch is stored, exactly as for kill -9.
"""

from __future__ import annotations

import faulthandler
import math
import signal

ALARM_MARGIN = 15


def exit_if_stuck(seconds: float, alarm_margin: int = ALARM_MARGIN) -> None:
    """Arm the deadline (a second call re-arms it from now)."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    # SIGALRM keeps its default action (terminate): nothing in aspects handles it.
    signal.alarm(math.ceil(seconds) + alarm_margin)
