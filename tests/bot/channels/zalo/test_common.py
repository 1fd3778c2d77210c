"""Text splitting, payloads typed as text, and the numbered options kept
sealed in the database (shared by the two Zalo channels)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.channels.zalo.common import MAX_TEXT, payload_of_text
from bot.channels.zalo.errors import oa_error
from bot.channels.zalo.options import OptionsStore, purge_options_hook
from bot.crypto import KeyRing
from bot.interfaces import Failure
from bot.messages import Button, utcnow
from bot.store.db import Database
from bot.store.models import KeyValue
from bot.text_limits import split_text as _split

SECRET = "z" * 40


def split_text(text: str) -> list[str]:
    """The shared splitter at Zalo's limit."""
    return _split(text, MAX_TEXT)


def test_long_text_split_on_sentences_within_the_limit() -> None:
    sentence = "Bạn không có lỗi trong chuyện này. "
    text = sentence * 150  # about 5,000 characters
    pieces = split_text(text)
    assert len(pieces) == 3
    assert all(len(p) <= MAX_TEXT for p in pieces)
    assert all(p.endswith(".") for p in pieces), "cut after a sentence, not inside one"
    assert " ".join(pieces) == text.strip()


def test_split_prefers_paragraphs_and_survives_a_text_without_spaces() -> None:
    first = "a" * 1500
    text = first + "\n\n" + "b " * 400
    assert split_text(text)[0] == first
    blob = "x" * 4500
    pieces = split_text(blob)
    assert [len(p) for p in pieces] == [2000, 2000, 500]
    assert split_text("  ngắn  ") == ["ngắn"]
    assert split_text("   ") == []


def test_only_exact_payloads_and_known_slash_commands_are_payloads() -> None:
    assert payload_of_text("n:rights_menu") == "n:rights_menu"
    assert payload_of_text(" a:consent:yes ") == "a:consent:yes"
    assert payload_of_text("cmd:erase") == "cmd:erase"
    assert payload_of_text("/start") == "cmd:start"
    assert payload_of_text("/STOP") == "cmd:stop"
    assert payload_of_text("/xyz") is None
    assert payload_of_text("n:rights menu") is None
    assert payload_of_text("chồng tôi nói n:abc") is None
    assert payload_of_text("xin chào") is None


def test_window_failure_is_recognisable() -> None:
    assert oa_error(-305).failure is Failure.WINDOW_CLOSED
    assert oa_error(-230).failure is Failure.WINDOW_CLOSED and oa_error(-230).permanent
    assert oa_error(-32).failure is not Failure.WINDOW_CLOSED


BUTTONS = [
    Button("Quyền của tôi", "n:rights"),
    Button("Có", "a:consent:yes"),
    Button("Không", "a:consent:no"),
    Button("Gặp người tư vấn", "a:handoff"),
    Button("🆘 Khẩn cấp", "n:emergency"),
    Button("Đổi ngôn ngữ", "cmd:lang"),
    Button("Xóa dữ liệu", "cmd:erase"),
]


async def test_options_answered_by_number_or_label_and_sealed(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    keyring = KeyRing(SECRET)
    store = OptionsStore(db, keyring, "zalo_bot")
    try:
        await store.remember("user-1", BUTTONS, numbered=True)
        assert await store.resolve("user-1", "2") == "a:consent:yes"
        assert await store.resolve("user-1", " 7. ") == "cmd:erase"
        assert await store.resolve("user-1", "8") is None
        assert await store.resolve("user-1", "co") == "a:consent:yes", "no accents typed"
        assert await store.resolve("user-1", "KHẨN CẤP") == "n:emergency", "emoji ignored"
        assert await store.resolve("user-1", "gap nguoi tu van") == "a:handoff"
        assert await store.resolve("user-1", "tôi muốn gặp người tư vấn") is None
        assert await store.resolve("user-2", "2") is None, "options are per person"
        async with db.transaction() as s:
            rows = list((await s.scalars(select(KeyValue))).all())
        assert len(rows) == 1
        assert "user-1" not in rows[0].name and "Khẩn" not in rows[0].value_enc
        assert "consent" not in rows[0].value_enc
        # Template buttons on the OA show no numbers: "1" is then her text.
        await store.remember("user-1", BUTTONS[:3], numbered=False)
        assert await store.resolve("user-1", "1") is None
        assert await store.resolve("user-1", "Không") == "a:consent:no"
        # A message without buttons ends the options.
        await store.remember("user-1", [], numbered=False)
        assert await store.resolve("user-1", "Không") is None
    finally:
        await db.dispose()


async def test_options_shared_between_processes_and_expire(database_url: str) -> None:
    """Another process (its own Database and store) reads the same options."""
    keyring = KeyRing(SECRET)
    db1, db2 = Database(database_url), Database(database_url)
    await db1.upgrade()
    try:
        await OptionsStore(db1, keyring, "zalo_oa").remember("u", BUTTONS, numbered=True)
        other = OptionsStore(db2, keyring, "zalo_oa")
        assert await other.resolve("u", "4") == "a:handoff"
        assert await OptionsStore(db2, keyring, "zalo_bot").resolve("u", "4") is None
        async with db1.transaction() as s:
            await s.execute(update(KeyValue).values(updated_at=utcnow() - timedelta(days=3)))
        assert await other.resolve("u", "4") is None, "stale options are not answered"
        async with db1.transaction() as s:
            assert await purge_options_hook(s, timedelta(days=30)) == 1
    finally:
        await db1.dispose()
        await db2.dispose()
