"""Privacy at rest (docs/design.md, promises 1-3): after a day of conversations and a whole
handoff through a real ``helpline run``, a raw copy of the database — what a
thief or a careless backup would hold — contains no platform id, no name or
username, no phone number and no message text, hers or the team's. On
PostgreSQL the copy is ``pg_dump``; on SQLite it is the file's bytes (the
main file and its WAL). The process's own log is read the same way."""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scale.cluster import GROUP_A, HOA, LAN, Cluster, alias_of

HER = 731_234_567
OTHERS = [731_234_601, 731_234_602, 731_234_603]
PROFILES = {
    HER: {"first_name": "Thị Hạnh", "last_name": "Nguyễn", "username": "hanh_nguyen_1987"},
    OTHERS[0]: {"first_name": "Minh Thư", "username": "minhthu_ben_tre"},
    OTHERS[1]: {"first_name": "Quỳnh Anh", "last_name": "Lê", "username": "quynhanh_lq"},
    OTHERS[2]: {"first_name": "Kim Oanh", "username": "kimoanh_2024"},
    HOA: {"first_name": "Bích Ngọc", "last_name": "Trần", "username": "ngoc_congan_phuhung"},
    LAN: {"first_name": "Thu Trang", "username": "trang_hoiphunu"},
}
PHONES = ["0912 345 678", "0912345678", "0987 654 321", "0987654321", "+84 913 572 468"]

#: What people write to the bot (never stored on the bot path).
DAY = {
    OTHERS[0]: [
        "xin chào",
        "chồng tôi say rượu rồi đập phá đồ đạc trong nhà ở xóm Gò Mít",
        "số của tôi là 0987 654 321",
    ],
    OTHERS[1]: ["tôi muốn biết quyền của mình khi ly hôn với anh Tư Bảo", "cảm ơn bạn nhiều"],
    OTHERS[2]: ["so dien thoai ho tro la gi", "mẹ chồng tôi hay chửi mắng con gái tôi tên Bé Na"],
}
#: The handoff conversation, both ways (kept sealed in the transcript).
HERS = [
    "Anh ấy vừa đi ra ngoài, em đang ở nhà mẹ đẻ ở ấp Cây Dương",
    "Số điện thoại của em là 0912 345 678, chị gọi sau 5 giờ nhé",
]
MEMBER = [
    "Chị khoá cửa lại và để điện thoại gần người nhé",
    "Tổ sẽ gọi chị lúc 5 giờ 30 từ số +84 913 572 468",
]


@pytest.fixture
async def cluster(database_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with FakeTelegramAPI() as api:
        # INFO: the log is read for personal data too, at its usual level.
        c = Cluster(api, database_url, tmp_path, n=1, extra_env={"HELPLINE_LOG_LEVEL": "INFO"})
        c.profiles.update(PROFILES)
        try:
            await c.start()
            yield c
        finally:
            await c.stop()


def _needles() -> dict[str, bytes]:
    """Everything that must not appear, as UTF-8 (and lower case for names)."""
    found: dict[str, bytes] = {}
    for user_id, profile in PROFILES.items():
        found[f"id {user_id}"] = str(user_id).encode()
        for field, value in profile.items():
            found[f"{field} of {user_id}"] = value.encode()
            found[f"{field} of {user_id} (lower case)"] = value.lower().encode()
    for phone in PHONES:
        found[f"phone {phone}"] = phone.encode()
    for i, text in enumerate([t for texts in DAY.values() for t in texts] + HERS + MEMBER):
        found[f"text {i}"] = text.encode()
        found[f"text {i} (a middle piece)"] = text[len(text) // 3 : len(text) // 3 + 16].encode()
    return found


def _binary_ids() -> dict[str, bytes]:
    """Platform ids as SQLite would store an INTEGER column: big-endian, in
    the smallest of 1, 2, 3, 4, 6 or 8 bytes that holds the value."""
    found = {}
    for user_id in [HER, *OTHERS, HOA, LAN, GROUP_A]:
        for size in (4, 6, 8):
            if -(2 ** (8 * size - 1)) <= user_id < 2 ** (8 * size - 1):
                packed = struct.pack(">q", user_id)[8 - size :]
                if size >= 4:
                    found[f"id {user_id} as a {size}-byte integer"] = packed
                break
    return found


def _leaks(blob: bytes, needles: dict[str, bytes]) -> list[str]:
    return [name for name, needle in needles.items() if needle and needle in blob]


async def _day_and_handoff(c: Cluster) -> None:
    api = c.api
    for chat, texts in DAY.items():
        for text in texts:
            await c.say(chat, text)
    # A contact card (her phone number) and a sticker: "text only", nothing kept.
    await c.deliver_ok(
        api.user_message(
            OTHERS[1],
            None,
            contact={
                "phone_number": "+84912345678",
                "first_name": "Quỳnh Anh",
                "user_id": OTHERS[1],
            },
        )
    )
    # The whole handoff: consent, area, topic, Take, both ways, /end.
    await c.ask_for_team(HER)
    [card] = await c.wait_cards(GROUP_A, 1)
    alias = alias_of(card)
    await c.deliver_ok(api.press(GROUP_A, card.message_id, card.payloads[0], user_id=HOA))
    await c.wait_texts(HOA, lambda t: any("Connected" in x for x in t))
    for hers, theirs in zip(HERS, MEMBER, strict=True):
        await c.say(HER, hers)
        await c.wait_texts(HOA, lambda t, h=hers: f"#{alias}: {h}" in t)
        await c.say(HOA, theirs)
        await c.wait_texts(HER, lambda t, m=theirs: f"Tổ hỗ trợ: {m}" in t)
    await c.say(HOA, "/end")
    await c.wait_texts(HER, lambda t: "Tổ hỗ trợ" not in t[-1])
    await c.outbox_settled()


async def test_a_raw_copy_of_the_database_holds_no_identity_and_no_text(
    cluster: Cluster, tmp_path: Path
) -> None:
    await _day_and_handoff(cluster)
    needles = _needles()
    url = cluster.database_url
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        # While running (WAL included), then after a clean stop (checkpointed).
        live = b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
        await cluster.stop()
        stopped = b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
        assert len(stopped) > 50_000, "the database file should hold the day's rows"
        binary = _binary_ids()
        # The search works on this format: the team's id is stored in clear (by design).
        assert b"phu-hung" in stopped
        assert _leaks(live, needles) == [], "found in the live SQLite files"
        assert _leaks(stopped, needles) == [], "found in the SQLite file"
        assert _leaks(live + stopped, binary) == [], "a platform id stored as an integer"
    else:
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "pg_dump is needed for this test"
        name = url.rsplit("/", 1)[1]
        dump = (
            await asyncio.to_thread(
                subprocess.run,
                [pg_dump, "-h", "127.0.0.1", "-U", "postgres", name],
                capture_output=True,
                check=True,
                timeout=60,
            )
        ).stdout
        assert b"COPY public.handoff_messages" in dump and b"COPY public.outbox" in dump
        assert b"phu-hung" in dump  # the team's id is stored in clear (by design)
        assert _leaks(dump, needles) == [], "found in pg_dump"
    await cluster.stop()
    log = b"".join(p.log_path.read_bytes() for p in cluster.processes)
    assert _leaks(log, needles) == [], "found in the process log"
