"""Check-ins: offered after a disclosure where the bot may write first
(Telegram, Zalo Bot Platform), kept as one scheduled outbox row (due time,
sealed address, sealed neutral message), sent once and silently when due —
the clock is moved forward, never waited for — and cancelled by erase, stop
or one tap."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.messages import Incoming, Outgoing, utcnow
from bot.outbox import OutboxWorker
from bot.retention import purge
from bot.runtime import Runtime
from bot.store import users as user_store
from bot.store.checkins import CHECKIN_REF
from bot.store.models import OutboxItem, User

DISCLOSURE = "toi bi ck danh moi khi say ruou"
CHECKIN_TEXT = "Chào bạn, dạo này bạn thế nào?"


@dataclass
class Recorder:
    """A real, simple Sender: remembers what it delivered."""

    channel: str
    sent: list[tuple[str, Outgoing]] = field(default_factory=list)

    async def send(self, address: str, message: Outgoing) -> list[str]:
        self.sent.append((address, message))
        return [str(len(self.sent))]


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


async def turn(rt: Runtime, channel: str, address: str, **step: Any) -> list[Outgoing]:
    return await rt.engine.handle(Incoming(channel=channel, address=address, **step))


def payloads(replies: list[Outgoing]) -> set[str]:
    return {b.payload for m in replies for b in m.buttons}


async def scheduled(rt: Runtime) -> list[OutboxItem]:
    async with rt.db.transaction() as s:
        rows = await s.scalars(select(OutboxItem).where(OutboxItem.ref == CHECKIN_REF))
        return list(rows)


def worker(rt: Runtime, recorder: Recorder, clock: Clock) -> OutboxWorker:
    return OutboxWorker(rt.db, rt.outbox, {recorder.channel: recorder}, clock=clock)


async def test_offered_after_a_disclosure_only_where_the_bot_may_write_first(
    runtime: Runtime,
) -> None:
    for channel in ("telegram", "zalo_bot"):
        replies = await turn(runtime, channel, "100", text=DISCLOSURE)
        assert "a:checkin:3" in payloads(replies), channel
        assert any("hỏi thăm" in m.text for m in replies)
    # The web chat cannot reach her later; Zalo OA may not write outside its
    # reply window: no offer there.
    for channel in ("web", "zalo_oa"):
        replies = await turn(runtime, channel, "100", text=DISCLOSURE)
        assert replies and not any(p.startswith("a:checkin") for p in payloads(replies)), channel


async def test_checkin_fires_once_silently_at_the_chosen_time(runtime: Runtime) -> None:
    recorder, clock = Recorder("telegram"), Clock()
    await turn(runtime, "telegram", "200", text=DISCLOSURE)
    asked_at = utcnow()
    answer = await turn(runtime, "telegram", "200", payload="a:checkin:3")
    assert "a:checkin:off" in payloads(answer)  # one tap stops it

    [row] = await scheduled(runtime)
    assert row.status == "scheduled"
    assert abs(row.next_attempt_at - (asked_at + timedelta(days=3))) < timedelta(minutes=1)
    # Nothing in clear: the address and the message are sealed.
    assert "200" not in row.address_enc and "Chào" not in row.payload_enc

    w = worker(runtime, recorder, clock)
    clock.now = asked_at + timedelta(days=3) - timedelta(minutes=5)
    assert await w.drain() == 0 and recorder.sent == []
    clock.now = asked_at + timedelta(days=3, minutes=1)
    assert await w.drain() == 1
    [(address, message)] = recorder.sent
    assert address == "200" and message.text.startswith(CHECKIN_TEXT)
    assert message.silent
    assert {"n:menu", "n:handoff_consent", "a:checkin:off"} <= {b.payload for b in message.buttons}
    clock.now += timedelta(days=30)
    assert await w.drain() == 0 and len(recorder.sent) == 1  # once only


async def test_a_waiting_checkin_never_holds_back_her_other_messages(runtime: Runtime) -> None:
    recorder, clock = Recorder("telegram"), Clock()
    await turn(runtime, "telegram", "300", text=DISCLOSURE)
    await turn(runtime, "telegram", "300", payload="a:checkin:7")
    rt = runtime
    async with rt.db.transaction() as s:
        user, _ = await user_store.load_user(s, rt.db, rt.keyring, "telegram", "300", utcnow())
        rt.outbox.to_user(s, user, Outgoing("Tổ hỗ trợ: chị ổn chứ?"))
    clock.now = utcnow()
    assert await worker(rt, recorder, clock).drain() == 1
    assert [m.text for _, m in recorder.sent] == ["Tổ hỗ trợ: chị ổn chứ?"]


async def test_a_new_choice_replaces_the_waiting_one(runtime: Runtime) -> None:
    await turn(runtime, "telegram", "400", text=DISCLOSURE)
    await turn(runtime, "telegram", "400", payload="a:checkin:7")
    await turn(runtime, "telegram", "400", payload="a:checkin:1")
    [row] = await scheduled(runtime)
    assert row.next_attempt_at - utcnow() < timedelta(days=1, minutes=1)
    # Already scheduled: a new disclosure does not offer again.
    replies = await turn(runtime, "telegram", "400", text=DISCLOSURE)
    assert not any(p.startswith("a:checkin:") and p[-1].isdigit() for p in payloads(replies))


async def test_one_tap_stops_every_checkin(runtime: Runtime) -> None:
    recorder, clock = Recorder("telegram"), Clock()
    await turn(runtime, "telegram", "500", text=DISCLOSURE)
    await turn(runtime, "telegram", "500", payload="a:checkin:1")
    stopped = await turn(runtime, "telegram", "500", payload="a:checkin:off")
    assert any("Đã dừng" in m.text for m in stopped)
    assert await scheduled(runtime) == []
    clock.now += timedelta(days=2)
    assert await worker(runtime, recorder, clock).drain() == 0 and recorder.sent == []


async def test_stop_cancels_checkins(runtime: Runtime) -> None:
    await turn(runtime, "zalo_bot", "600", text=DISCLOSURE)
    await turn(runtime, "zalo_bot", "600", payload="a:checkin:3")
    assert len(await scheduled(runtime)) == 1
    await turn(runtime, "zalo_bot", "600", payload="cmd:stop")
    assert await scheduled(runtime) == []


async def test_erase_cancels_checkins(runtime: Runtime) -> None:
    recorder, clock = Recorder("telegram"), Clock()
    await turn(runtime, "telegram", "700", text=DISCLOSURE)
    await turn(runtime, "telegram", "700", payload="a:checkin:3")
    await turn(runtime, "telegram", "700", payload="cmd:erase")
    await turn(runtime, "telegram", "700", payload="a:erase")
    assert await scheduled(runtime) == []
    clock.now += timedelta(days=8)
    assert await worker(runtime, recorder, clock).drain() == 0 and recorder.sent == []


async def test_a_checkin_button_on_a_channel_that_cannot_write_first_does_nothing(
    runtime: Runtime,
) -> None:
    await turn(runtime, "web", "800", payload="a:checkin:3")
    assert await scheduled(runtime) == []


async def test_retention_keeps_her_until_the_checkin_has_gone(runtime: Runtime) -> None:
    await turn(runtime, "telegram", "900", text=DISCLOSURE)
    await turn(runtime, "telegram", "900", payload="a:checkin:7")
    await turn(runtime, "telegram", "901", text=DISCLOSURE)  # no check-in
    async with runtime.db.transaction() as s:
        await s.execute(update(User).values(last_seen_at=utcnow() - timedelta(days=60)))
    await purge(runtime.db, 30)
    async with runtime.db.transaction() as s:
        left = set(await s.scalars(select(User.key)))
    assert left == {runtime.keyring.user_key("telegram", "900")}
    assert len(await scheduled(runtime)) == 1
