"""The shutdown deadline: a process stuck after a stop request prints its stacks and exits."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

_STUCK = """
import sys, threading
from aspects.shutdown import exit_if_stuck
exit_if_stuck(float(sys.argv[1]), alarm_margin=int(sys.argv[2]))
if sys.argv[3] == "no-faulthandler":
    import faulthandler
    faulthandler.cancel_dump_traceback_later()
def stuck_in_shutdown():
    threading.Event().wait()
worker = threading.Thread(target=stuck_in_shutdown, name="never-returns")
worker.start()
worker.join()
"""


def _run(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _STUCK, *args], capture_output=True, text=True, timeout=60
    )
    return result, time.monotonic() - began


def test_a_stuck_process_dumps_every_thread_and_exits_with_status_1() -> None:
    result, seconds = _run("1.0", "30", "faulthandler")
    assert result.returncode == 1
    assert seconds < 20  # the deadline, not the alarm 31 s later
    assert "Timeout (0:00:01)!" in result.stderr
    assert "stuck_in_shutdown" in result.stderr  # the stuck thread's stack
    assert "<module>" in result.stderr  # and the main thread's


def test_the_alarm_ends_it_when_the_dump_cannot_run() -> None:
    result, _seconds = _run("1.0", "1", "no-faulthandler")
    assert result.returncode == -signal.SIGALRM
