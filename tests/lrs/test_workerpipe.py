"""A spawned worker called over its socket pair (aspects.lrs.statements.workerpipe): real
processes; the functions run there are the standard library's (a spawned child imports them)."""

from __future__ import annotations

import asyncio
import multiprocessing
import operator
import os
import signal
import time

import pytest

from aspects.lrs.statements.workerpipe import Worker, WorkerDied


def _worker() -> Worker:
    return Worker(multiprocessing.get_context("spawn"), int, (), "test-worker")


def test_answers_in_order_with_large_payloads_and_the_workers_exceptions() -> None:
    big = os.urandom(3_000_000)

    async def scenario() -> None:
        worker = _worker()
        try:
            sums = await asyncio.gather(*(worker.call(operator.add, n, 1) for n in range(50)))
            assert sums == [n + 1 for n in range(50)]
            assert await worker.call(bytes, big) == big
            with pytest.raises(ValueError, match="invalid literal"):
                await worker.call(int, "not a number")
            assert worker.load == 0
            assert await worker.call(operator.mul, 6, 7) == 42  # still serving
        finally:
            worker.close()
        assert not worker.process.is_alive()

    asyncio.run(scenario())


def test_a_cancelled_call_leaves_the_next_answers_right() -> None:
    async def scenario() -> None:
        worker = _worker()
        try:
            await worker.call(int)  # opened
            slow = asyncio.ensure_future(worker.call(time.sleep, 0.3))
            await asyncio.sleep(0.05)
            slow.cancel()
            assert await worker.call(operator.add, 2, 3) == 5
        finally:
            worker.close()

    asyncio.run(scenario())


def test_a_killed_worker_fails_its_calls_in_flight() -> None:
    async def scenario() -> None:
        worker = _worker()
        try:
            await worker.call(int)
            waiting = asyncio.ensure_future(worker.call(time.sleep, 30))
            await asyncio.sleep(0.1)
            os.kill(worker.process.pid or 0, signal.SIGKILL)
            started = time.monotonic()
            with pytest.raises(WorkerDied):
                await waiting
            assert time.monotonic() - started < 10
            assert worker.dead
            with pytest.raises(WorkerDied):
                await worker.call(int)
        finally:
            worker.close()

    asyncio.run(scenario())


def test_a_pool_gives_each_call_the_first_worker_free() -> None:
    """ReceivePool hands a call to a worker only when that worker is free: a call made while
    both are busy waits for the first one done, not behind a long one."""
    from aspects.lrs.statements.ready import ReceivePool

    async def scenario() -> None:
        pool = ReceivePool(2)
        try:
            await pool.started()
            long = asyncio.ensure_future(pool._call(time.sleep, 4))
            short = asyncio.ensure_future(pool._call(time.sleep, 0.05))
            await asyncio.sleep(0.01)
            assert await pool._call(operator.add, 2, 3) == 5
            assert short.done()
            assert not long.done()
            await long
        finally:
            pool.close()

    asyncio.run(scenario())
