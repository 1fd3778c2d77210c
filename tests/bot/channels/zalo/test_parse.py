"""Zalo events and updates, shaped like the real ones, read into what she did."""

from __future__ import annotations

import pytest

from bot.channels.zalo.bot_updates import BadUpdate, parse_update, unwrap
from bot.channels.zalo.oa_events import BadEvent, SignatureCheck, parse_event, signature
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
