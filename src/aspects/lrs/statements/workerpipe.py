"""A spawned worker process called from the event loop over its own socket pair.

The receive workers (:class:`~aspects.lrs.statements.ready.ReceivePool`) ran in a
``concurrent.futures.ProcessPoolExecutor``: a call crosses a feeder thread, a shared call
queue, a manager thread and a result queue, and wakes the event loop from that thread; the
serving process spent ~0.5-0.7 ms of CPU per call on it, in threads contending with the event
loop for the interpreter lock (a round trip of a 60 kB body and a 120 kB answer, 2 workers,
1-4 callers: 0.53-0.69 ms against 0.17-0.21 ms here). A :class:`Worker` has one socket pair
instead: the event loop writes a frame (length, then a pickle of the function and its
arguments) and reads the answers with asyncio streams, no thread involved. A worker answers
its calls in order, one at a time, so the answers need no ids: they resolve the waiting calls
first in, first out.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import pickle
import socket
import struct
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from typing import Any

_FRAME = struct.Struct("<Q")
# Answers (a request's packed rows) run to a few hundred kB: read them without pausing.
_READ_LIMIT = 1 << 22


class WorkerDied(Exception):
    """The worker process ended (killed, out of memory) with calls unanswered."""


def serve(
    connection: Connection, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> None:
    """The worker process: answer frames until the server closes its end."""
    initializer(*initargs)
    sock = socket.socket(fileno=os.dup(connection.fileno()))
    connection.close()
    stream = sock.makefile("rb")
    while True:
        head = stream.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return
        (size,) = _FRAME.unpack(head)
        payload = stream.read(size)
        if len(payload) < size:
            return
        function, args = pickle.loads(payload)  # noqa: S301 (the server that spawned us)
        answer: tuple[bool, Any]
        try:
            answer = (True, function(*args))
        except Exception as error:  # raised again in the server, as the executor did
            answer = (False, error)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            data = pickle.dumps((False, RuntimeError(f"the worker's answer: {error!r}")))
        sock.sendall(_FRAME.pack(len(data)) + data)


class Worker:
    """One spawned process running :func:`serve`, and the server's end of its socket pair."""

    def __init__(
        self,
        context: SpawnContext,
        initializer: Callable[..., None],
        initargs: tuple[Any, ...],
        name: str = "worker",
    ) -> None:
        parent, child = context.Pipe(duplex=True)  # a socket pair on POSIX
        self.process = context.Process(
            target=serve, args=(child, initializer, initargs), name=name, daemon=True
        )
        self.process.start()
        child.close()
        self._connection = parent
        self._socket = socket.socket(fileno=os.dup(parent.fileno()))
        self._waiting: collections.deque[asyncio.Future[bytes]] = collections.deque()
        self._opened: asyncio.Future[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self.dead = False

    @property
    def load(self) -> int:
        """Calls sent and not answered yet."""
        return len(self._waiting)

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` run in the worker; its exception raised here; WorkerDied when
        the worker ends first."""
        if self.dead:
            raise WorkerDied()
        if self._opened is None:
            self._opened = asyncio.ensure_future(self._open())
        await asyncio.shield(self._opened)  # a caller cancelled must not cancel the opening
        assert self._writer is not None
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        payload = pickle.dumps((function, args), protocol=pickle.HIGHEST_PROTOCOL)
        self._waiting.append(future)
        self._writer.write(_FRAME.pack(len(payload)) + payload)
        ok, value = pickle.loads(await future)  # noqa: S301 (our own worker)
        if not ok:
            raise value
        return value

    async def _open(self) -> None:
        reader, self._writer = await asyncio.open_connection(sock=self._socket, limit=_READ_LIMIT)
        self._reading = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
                payload = await reader.readexactly(size)
                future = self._waiting.popleft()
                if not future.done():  # a call given up (its request cancelled) is skipped
                    future.set_result(payload)
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self.dead = True
            while self._waiting:
                future = self._waiting.popleft()
                if not future.done():
                    future.set_exception(WorkerDied())

    def close(self, timeout: float = 10) -> None:
        """Stop the worker: its end of the pair sees the end of input and it returns."""
        self.dead = True
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # at once, whatever asyncio does later
        if self._reading is not None:
            self._reading.cancel()
        if self._writer is not None:
            with contextlib.suppress(RuntimeError):  # its event loop may be closed already
                self._writer.close()
        else:
            self._socket.close()
        self._connection.close()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
