"""Zalo events and updates, shaped like the real ones, read into what she did."""

from __future__ import annotations

import logging

import pytest

from bot.channels.zalo.bot_updates import BadUpdate, parse_update, unwrap
from bot.channels.zalo.common import Inbound
from bot.channels.zalo.oa_events import (
    BadEvent,
    SignatureCheck,
    Unanswerable,
    given_mac,
    parse_event,
    signature,
)
from tests.fakes.zalo_api import load_event, now_ms, oa_signature


def test_oa_text_event() -> None:
    event = parse_event(load_event("oa_user_send_text", text="toi bi ck danh"))
    assert event is not None
    assert (event.address, event.message_id, event.text) == (
        "2468013579246801357",
        "a1b2c3d4e5f6a7b8c9d0",
        "toi bi ck danh",
    )


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("oa_user_send_image", "photo"),
        ("oa_user_send_sticker", "sticker"),
        ("oa_user_send_location", "location"),
    ],
)
def test_oa_media_events_are_attachments(fixture: str, kind: str) -> None:
    event = parse_event(load_event(fixture))
    assert event is not None and event.attachment == kind and event.text is None
    assert event.message_id


def test_oa_receipts_follows_and_unknown_events_are_ignored() -> None:
    assert parse_event(load_event("oa_user_seen_message")) is None
    assert parse_event(load_event("oa_follow")) is None
    data = load_event("oa_user_send_text")
    data["event_name"] = "oa_send_text"  # the OA's own message echoed back
    assert parse_event(data) is None


def test_oa_events_without_what_we_need_are_bad() -> None:
    data = load_event("oa_user_send_text")
    del data["sender"]
    with pytest.raises(BadEvent):
        parse_event(data)
    with pytest.raises(BadEvent):
        parse_event({"timestamp": "1"})
    data = load_event("oa_user_send_text")
    data["message"]["text"] = {"nested": True}
    with pytest.raises(BadEvent):
        parse_event(data)


def test_signature_matches_an_independent_computation_and_age() -> None:
    raw = b'{"event_name":"user_send_text"}'
    ts = now_ms()
    assert signature("app", raw, ts, "key") == oa_signature("app", raw, ts, "key")
    check = SignatureCheck("app", oa_secret_key="key", app_secret="other", max_age=300)
    assert check.valid(raw, ts, oa_signature("app", raw, ts, "key"))
    assert not check.valid(raw, ts, oa_signature("app", raw, ts, "other"))
    assert not check.valid(raw + b" ", ts, oa_signature("app", raw, ts, "key"))
    assert check.fresh(ts) and not check.fresh(now_ms(-301)) and not check.fresh(now_ms(+301))
    either = SignatureCheck("app", oa_secret_key="key", app_secret="other", mode="either")
    assert either.valid(raw, ts, oa_signature("app", raw, ts, "other"))
    nothing = SignatureCheck("app", oa_secret_key=None, app_secret=None)
    assert not nothing.valid(raw, ts, oa_signature("app", raw, ts, ""))


def test_bot_updates() -> None:
    update = parse_update(load_event("bot_text", text="menu"))
    assert update is not None
    assert (update.address, update.message_id, update.text) == (
        "6ede9afa66b88fe6d6a9",
        "2d758cb5e222177a4d",
        "menu",
    )
    image = parse_update(load_event("bot_image"))
    sticker = parse_update(load_event("bot_sticker"))
    other = parse_update(load_event("bot_unsupported"))
    assert image and sticker and other
    assert (image.attachment, sticker.attachment, other.attachment) == (
        "photo",
        "sticker",
        "other",
    )
    assert parse_update(load_event("bot_group_text")) is None


def test_bot_update_flat_or_wrapped_and_bad_ones() -> None:
    flat = load_event("bot_text")
    assert unwrap({"ok": True, "result": flat}) == flat
    assert unwrap(flat) == flat
    with pytest.raises(BadUpdate):
        parse_update({"ok": True})
    with pytest.raises(BadUpdate):
        parse_update([flat])
    broken = load_event("bot_text")
    del broken["message"]["chat"]["id"]
    with pytest.raises(BadUpdate):
        parse_update(broken)


# -- everything she can send ---------------------------------------------------

DANGER = "cuu toi voi chong dang danh"


def test_captions_are_read_on_both_products() -> None:
    oa = parse_event(load_event("oa_user_send_image_caption"))
    bot = parse_update(load_event("bot_image_caption"))
    assert isinstance(oa, Inbound) and isinstance(bot, Inbound)
    assert (oa.attachment, oa.text) == ("photo", DANGER)
    assert (bot.attachment, bot.text) == ("photo", DANGER)
    empty = parse_update(load_event("bot_image"))  # "caption": "" is no caption
    assert empty is not None and empty.text is None


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("oa_user_send_audio", "voice"),
        ("oa_user_send_video", "video"),
        ("oa_user_send_file", "document"),
        ("oa_user_send_gif", "animation"),
        ("oa_user_send_link", "link"),
    ],
)
def test_oa_media_kinds(fixture: str, kind: str) -> None:
    event = parse_event(load_event(fixture))
    assert isinstance(event, Inbound) and event.attachment == kind and event.message_id


def test_bot_voice_is_a_voice_attachment_not_silence() -> None:
    voice = parse_update(load_event("bot_voice"))
    assert voice is not None and voice.attachment == "voice" and voice.text is None
    later = load_event("bot_voice")
    later["event_name"] = "message.video.received"  # a kind the code does not know yet
    video = parse_update(later)
    assert video is not None and video.attachment == "other"


def test_bot_events_without_a_message_are_acknowledged_not_bad() -> None:
    assert parse_update(unwrap(load_event("bot_unsupported_bare"))) is None
    assert parse_update(load_event("bot_follow")) is None
    assert parse_update(load_event("bot_reaction")) is None, "nobody expects a reply to a 👍"
    with pytest.raises(BadUpdate):
        parse_update({"no": "event"})


def test_anonymous_oa_text_is_unanswerable_and_keeps_nothing() -> None:
    event = parse_event(load_event("oa_anonymous_send_text"))
    assert event == Unanswerable("anonymous")
    assert DANGER[:8] not in repr(event) and "9b1f2c3d" not in repr(event)


def test_signature_header_forms(caplog: pytest.LogCaptureFixture) -> None:
    raw = b'{"event_name":"user_send_text"}'
    ts = now_ms()
    digest = oa_signature("app", raw, ts, "key").removeprefix("mac=")
    check = SignatureCheck("app", oa_secret_key="key", app_secret=None)
    accepted = [
        f"mac={digest}",
        f"mac = {digest}",
        f"mac={digest.upper()}",
        f"  mac={digest}\t",
    ]
    for header in accepted:
        assert check.valid(raw, ts, header), header
    assert given_mac(f"mac = {digest.upper()} ") == digest
    caplog.set_level(logging.WARNING, logger="bot.channels.zalo.oa_events")
    refused = [
        digest,  # no "mac="
        f"mac={digest[:-1]}",
        f"mac={digest}0",
        f"mac={digest[:-1]}g",
        f"mac=={digest}",
        f"sha256={digest}",
        f"mac={'0' * 64}",
        "",
    ]
    for header in refused:
        assert not check.valid(raw, ts, header), header
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(refused), "every refusal is logged at WARNING"
    assert all(digest[:16] not in r.getMessage() for r in warnings), "no signature in logs"


def test_bot_link_keeps_the_words_sent_with_it() -> None:
    link = load_event("bot_text", text=f"{DANGER} https://example.invalid/x")
    link["event_name"] = "message.link.received"
    read = parse_update(link)
    assert read is not None and read.attachment == "link" and read.text and DANGER in read.text


def test_team_group_texts_are_read_with_the_sender_other_groups_are_not() -> None:
    event = load_event("bot_group_text", text="nhận K7Q2")
    group = event["message"]["chat"]["id"]
    parsed = parse_update(event, frozenset({group}))
    assert parsed is not None and parsed.address == group
    assert parsed.sender_id == "7fefabfb77c990f7e7ba" and parsed.text == "nhận K7Q2"
    assert parse_update(event, frozenset({"g-another"})) is None
    image = load_event("bot_group_text")
    image["event_name"] = "message.image.received"
    image["message"].pop("text")
    assert parse_update(image, frozenset({group})) is None
