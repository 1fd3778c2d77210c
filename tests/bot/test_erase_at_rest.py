"""Erase leaves nothing on disk, and nothing she types is stored in clear
(docs/privacy.md; issue #14), on SQLite and PostgreSQL.

A long scripted session goes through the real engine, NLU, flows, outbox and
handoff: one person walks the menus and talks with a team member (words both
ways, a private team note, /end); another person does the same and then
erases her data. Then:

- the raw bytes (SQLite: ``*.db``, ``*-wal``, ``*-shm``; PostgreSQL:
  ``pg_dump``) hold none of the erased person's words, and neither does any
  sealed value found in them, opened with the secret at hand;
- every column of every table holds no message text, platform id, name or
  phone number in clear.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

import bot.console.models  # noqa: F401  (its tables are walked too)
import handoff.models  # noqa: F401
from bot.console.desk import Desk
from bot.crypto import DecryptionError, address_context, outbox_payload_context
from bot.messages import Incoming, Outgoing, utcnow
from bot.outbox import OutboxWorker
from bot.retention import purge
from bot.runtime import Runtime, build_runtime
from bot.store.models import Base, User
from handoff.models import HandoffRequest
from handoff.service import HandoffService
from tests.conftest import make_settings
from tests.handoff.conftest import GROUP_A, HOA, LAN, TEAMS, RecordingSender

#: The person who erases, and the one who stays (Telegram ids).
HER, OTHER = "731234567", "731234601"
NAMES = ["Nguyễn Thị Hạnh", "Trần Văn Bảo", "Lê Minh Thư"]
PHONES = ["0912345678", "0987 654 321"]
#: Markers the erased person's words carry; none may survive her erase.
HER_WORDS = [
    "Em tên Nguyễn Thị Hạnh, mã ZQHER01 chồng em Trần Văn Bảo lại đánh em",
    "Số của em là 0912345678, mã ZQHER02 chị gọi sau 5 giờ nhé",
]
MEMBER_TO_HER = "Chị khoá cửa lại nhé, mã ZQHER03 tổ sẽ gọi chị"
NOTE_ABOUT_HER = "Ghi chú riêng của tổ: mã ZQHER04 cần gọi lại"
#: The other person's words (kept sealed while her chat needs them, never in clear).
OTHER_WORDS = [
    "Tôi là Lê Minh Thư, mã ZQOTH01 mẹ chồng hay chửi mắng tôi",
    "Số tôi là 0987 654 321, mã ZQOTH02 gọi tối nhé",
]
MEMBER_TO_OTHER = "Chị ở yên đó nhé, mã ZQOTH03 tổ gọi lại"
NOTE_ABOUT_OTHER = "Ghi chú riêng: mã ZQOTH04"
#: Ordinary questions across the flows (the bot path stores no text).
QUESTIONS = [
    "xin chào",
    "chồng tôi đánh tôi, mã ZQFLOW1",
    "quyền của tôi khi ly hôn là gì mã ZQFLOW2",
    "số điện thoại đường dây nóng",
    "làm sao để giữ an toàn",
    "dữ liệu của tôi có được bảo mật không",
    "cảm ơn",
]
SEALED = re.compile(rb"([0-9a-f]{8})\.([A-Za-z0-9_-]{16,}={0,2})")


class Session:
    """People and team members, driven through ``Engine.handle`` as the
    channels do; deliveries recorded by stand-in senders."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.telegram = RecordingSender("telegram")
        rt.senders["telegram"] = self.telegram
        handoff = rt.engine.handoff
        assert isinstance(handoff, HandoffService)
        self.handoff = handoff
        self.worker = OutboxWorker(
            rt.db,
            rt.outbox,
            rt.senders,
            on_undeliverable=handoff.on_undeliverable,
            on_delivered=handoff.on_delivered,
        )
        self.desk = Desk(handoff)
        self.n = 0
        self.last: list[Outgoing] = []

    def _mid(self) -> str:
        self.n += 1
        return f"m{self.n}"

    async def say(self, who: str, text: str) -> list[Outgoing]:
        self.last = await self.rt.engine.handle(
            Incoming("telegram", who, self._mid(), text=text, chat_message_id=str(self.n))
        )
        return self.last

    async def press(self, who: str, payload: str) -> list[Outgoing]:
        self.last = await self.rt.engine.handle(
            Incoming("telegram", who, self._mid(), payload=payload)
        )
        return self.last

    async def tap(self, who: str, label_part: str) -> list[Outgoing]:
        payload = next(
            b.payload for m in self.last for b in m.buttons if label_part.lower() in b.label.lower()
        )
        return await self.press(who, payload)

    async def walk_the_menus(self, who: str) -> None:
        """Every button of the menu, and the first button of each answer."""
        menu = await self.press(who, "cmd:menu")
        for button in [b for m in menu for b in m.buttons]:
            answer = await self.press(who, button.payload)
            inner = [b for m in answer for b in m.buttons]
            if inner:
                await self.press(who, inner[0].payload)
            await self.press(who, "cmd:menu")
        for question in QUESTIONS:
            await self.say(who, question)
        await self.press(who, "cmd:privacy")

    async def handoff_with(self, who: str, member: str, words: list[str], reply: str) -> int:
        """Consent, area, topic; the member takes it; words both ways. Returns the request id."""
        await self.say(who, "tôi muốn nói chuyện với người thật")
        await self.tap(who, "Đồng ý")
        if any("kín đáo" in b.label for m in self.last for b in m.buttons):
            await self.tap(who, "bình thường")
        await self.say(who, "xa phu hung")
        await self.tap(who, "Đúng")  # she confirms the place that was understood
        await self.tap(who, "Bạo lực")
        await self.worker.drain()
        card = [s for s in self.telegram.to(GROUP_A) if s.message.buttons][-1]
        payload = card.message.buttons[0].payload
        await self.rt.engine.handle(
            Incoming(
                "telegram",
                GROUP_A,
                self._mid(),
                payload=payload,
                sender_id=member,
                button_message_id=card.ids[0],
            )
        )
        await self.worker.drain()
        for text in words:
            await self.say(who, text)
        await self.say(member, reply)
        await self.worker.drain()
        return int(payload.rsplit(":", 1)[1])


@pytest.fixture
async def session(database_url: str, tmp_path: Path) -> AsyncIterator[Session]:
    teams: dict[str, Any] = copy.deepcopy(TEAMS)
    teams["teams"][0]["members"][0]["console_id"] = "hoa"
    teams["teams"][0]["members"][1]["console_id"] = "lan"
    path = tmp_path / "teams.yml"
    path.write_text(yaml.safe_dump(teams, allow_unicode=True), encoding="utf-8")
    rt = await build_runtime(make_settings(database_url, tmp_path, teams_file=path))
    try:
        yield Session(rt)
    finally:
        await rt.close()


async def long_session(s: Session) -> None:
    """The other person's whole story stays; hers is erased at the end."""
    await s.walk_the_menus(OTHER)
    other_request = await s.handoff_with(OTHER, HOA, OTHER_WORDS, MEMBER_TO_OTHER)
    assert (await s.desk.note("hoa", other_request, NOTE_ABOUT_OTHER)).ok
    await s.say(HOA, "/end")
    await s.worker.drain()

    await s.walk_the_menus(HER)
    her_request = await s.handoff_with(HER, LAN, HER_WORDS, MEMBER_TO_HER)
    assert (await s.desk.note("lan", her_request, NOTE_ABOUT_HER)).ok
    assert any("ZQHER01" in t for t in s.telegram.texts_to(LAN)), "her words reached Lan"
    await s.press(HER, "cmd:erase")
    erased = await s.tap(HER, "X")  # "Xoá" (or "Xóa"): the only button with an X
    assert erased and erased[0].clear_history
    await s.worker.drain()


def her_needles() -> list[str]:
    return [*HER_WORDS, MEMBER_TO_HER, NOTE_ABOUT_HER, "ZQHER"]


def clear_needles() -> list[str]:
    """What must never be stored in clear, whoever wrote it."""
    texts = [*HER_WORDS, *OTHER_WORDS, MEMBER_TO_HER, MEMBER_TO_OTHER]
    texts += [NOTE_ABOUT_HER, NOTE_ABOUT_OTHER, *QUESTIONS]
    markers = ["ZQHER", "ZQOTH", "ZQFLOW"]
    ids = [HER, OTHER, HOA, LAN, GROUP_A]
    return texts + markers + ids + NAMES + PHONES


PSEUDONYM = re.compile(rb"\b[0-9a-f]{64}\b")


def opened(keyring: Any, blob: bytes) -> list[str]:
    """Every sealed value in the bytes that the secret opens, as text. Values
    bound to a row (bot.crypto: ``address:<pseudonym>``, ``outbox.payload:…``)
    are tried with every pseudonym the bytes hold, as a thief with the secret
    would."""
    keys = {m.group(0).decode() for m in PSEUDONYM.finditer(blob)}
    contexts = ["", *(c for k in keys for c in (address_context(k), outbox_payload_context(k)))]
    found = []
    for match in SEALED.finditer(blob):
        sealed = match.group(0).decode(errors="replace")
        for context in contexts:
            try:
                found.append(keyring.open(sealed, context))
                break
            except (DecryptionError, ValueError, UnicodeDecodeError):
                continue
    return found


async def raw_copy(rt: Runtime) -> bytes:
    """What a thief or a backup holds: the SQLite files (main, WAL, shared
    memory) while the bot runs, or a ``pg_dump``."""
    url = rt.db.url
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
        assert any(p.name.endswith("-wal") for p in files), "WAL mode: the -wal file exists"
        return b"".join(p.read_bytes() for p in sorted(files))
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed for this test"
    done = await asyncio.to_thread(
        subprocess.run,
        [pg_dump, "-h", "127.0.0.1", "-U", "postgres", url.rsplit("/", 1)[1]],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


async def test_erase_leaves_nothing_on_disk_even_with_the_secret(session: Session) -> None:
    await long_session(session)
    blob = await raw_copy(session.rt)
    plain = opened(session.rt.keyring, blob)
    # The search works: the other person's words are there, sealed, and open.
    assert any("ZQOTH01" in p for p in plain), "the other person's transcript is readable"
    for needle in her_needles():
        assert needle.encode() not in blob, f"{needle!r} in the raw database bytes"
        assert not any(needle in p for p in plain), f"{needle!r} in a sealed value"


async def test_no_column_holds_text_ids_names_or_phones_in_clear(session: Session) -> None:
    await long_session(session)
    leaks: list[str] = []
    rows_seen = 0
    async with session.rt.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            for row in (await s.execute(select(table))).mappings():
                rows_seen += 1
                for column, value in row.items():
                    shown = (
                        json.dumps(value, ensure_ascii=False, default=str)
                        if isinstance(value, (dict, list))
                        else str(value)
                    )
                    leaks += [
                        f"{table.name}.{column}: {needle!r}"
                        for needle in clear_needles()
                        if needle in shown
                    ]
    assert rows_seen > 20, "the walk saw the session's rows"
    assert leaks == []


async def test_after_the_grace_period_and_the_purge_the_disk_forgets_the_other_too(
    session: Session,
) -> None:
    """The person who did not erase: her words leave the disk once the chat has
    been closed for HELPLINE_MEMBER_COPY_HOURS; once she has been inactive for
    the retention period, the purge leaves nothing that opens to her id."""
    rt = session.rt
    await long_session(session)
    assert await session.handoff.copies.tick(utcnow() + timedelta(hours=2)) == 1
    await session.worker.drain()
    blob = await raw_copy(rt)
    plain = opened(rt.keyring, blob)
    assert any(OTHER in p for p in plain), "her sealed address is still there (she may return)"
    for needle in [*OTHER_WORDS, MEMBER_TO_OTHER, NOTE_ABOUT_OTHER, "ZQOTH"]:
        assert needle.encode() not in blob, f"{needle!r} in the raw database bytes"
        assert not any(needle in p for p in plain), f"{needle!r} in a sealed value"

    long_ago = utcnow() - timedelta(days=rt.settings.retention_days + 1)
    async with rt.db.transaction() as s:
        await s.execute(update(User).values(last_seen_at=long_ago))
        await s.execute(update(HandoffRequest).values(closed_at=long_ago))
    counts = await purge(rt.db, rt.settings.retention_days, rt.purge_hooks, rt.keep_hook)
    assert counts["users"] >= 1
    plain = opened(rt.keyring, await raw_copy(rt))
    assert not any(OTHER in p for p in plain), "her id still opens from the disk"
