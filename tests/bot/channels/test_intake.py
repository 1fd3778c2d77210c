"""The shared intake: one person's turns in order, people in parallel, retry
while the database is down, and cancellation that cancels only what it should."""

from __future__ import annotations

import asyncio

from bot.channels.intake import Backoff, Intake

QUICK = Backoff(attempts=3, first_delay=0.01, factor=2.0, max_delay=0.05)


async def test_one_persons_turns_run_in_order_and_people_in_parallel() -> None:
    intake = Intake("test")
    log: list[str] = []
    release_a = asyncio.Event()

    async def turn(name: str, gate: asyncio.Event | None = None) -> None:
        log.append(f"start {name}")
        if gate is not None:
            await gate.wait()
        log.append(f"end {name}")

    intake.submit("her", lambda: turn("a1", release_a))
    intake.submit("her", lambda: turn("a2"))
    intake.submit("other", lambda: turn("b1"))
    await asyncio.sleep(0.05)
    assert log == ["start a1", "start b1", "end b1"], "b1 did not wait for her turn"
    release_a.set()
    await intake.wait(5)
    assert log[3:] == ["end a1", "start a2", "end a2"]
    assert not intake.busy


async def test_a_cancelled_queued_turn_does_not_run_and_spares_the_one_before() -> None:
    """The old chain (``suppress(BaseException): await previous``) cancelled the
    running turn through the awaited task and then ran the cancelled one."""
    intake = Intake("test")
    ran: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        await release.wait()
        ran.append("first")

    async def queued(name: str) -> None:
        ran.append(name)

    running = intake.submit("her", first)
    cancelled = intake.submit("her", lambda: queued("second"))
    intake.submit("her", lambda: queued("third"))
    await asyncio.sleep(0.02)
    cancelled.cancel()
    await asyncio.sleep(0.02)
    assert not running.done(), "the turn in progress was not disturbed"
    assert ran == [], "the turn after the cancelled one still waits for the first"
    release.set()
    await intake.wait(5)
    assert cancelled.cancelled()
    assert ran == ["first", "third"], "the cancelled turn never ran; order kept"


async def test_retry_until_it_works_and_give_up_after_the_attempts() -> None:
    intake = Intake("test", backoff=QUICK)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("database down")
        return "answered"

    assert await intake.retry(flaky) == "answered" and calls == 3

    async def broken() -> str:
        raise ConnectionError("still down")

    assert await intake.retry(broken) is None


async def test_close_finishes_work_in_hand_then_cancels_the_rest() -> None:
    intake = Intake("test")
    done: list[str] = []
    never = asyncio.Event()

    async def quick() -> None:
        await asyncio.sleep(0.01)
        done.append("quick")

    async def stuck() -> None:
        await never.wait()
        done.append("stuck")

    intake.submit("a", quick)
    stuck_task = intake.submit("b", stuck)
    await intake.close(seconds=0.2)
    assert done == ["quick"]
    assert stuck_task.cancelled() and not intake.busy


async def test_no_retry_while_closing() -> None:
    intake = Intake("test", backoff=Backoff(attempts=50, first_delay=0.5))
    calls = 0

    async def down() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("database down")

    intake.closing = True
    assert await intake.retry(down) is None
    assert calls == 1, "a shutting-down process does not wait out a backoff"


async def test_a_failing_turn_is_logged_and_the_next_one_runs() -> None:
    intake = Intake("test")
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("bug")

    async def after() -> None:
        ran.append("after")

    intake.submit("her", boom)
    intake.submit("her", after)
    await intake.wait(5)
    assert ran == ["after"]
