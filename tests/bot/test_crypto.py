"""Pseudonyms and sealing: stable, keyed, tamper-evident, rotatable."""

from __future__ import annotations

import pytest

from bot.crypto import DecryptionError, KeyRing

A = "a" * 40
B = "b" * 40


def test_pseudonym_is_stable_keyed_and_hides_the_id() -> None:
    ring = KeyRing(A)
    key = ring.user_key("telegram", "123456789")
    assert key == KeyRing(A).user_key("telegram", "123456789")
    assert key != KeyRing(B).user_key("telegram", "123456789")
    assert key != ring.user_key("zalo_oa", "123456789")
    assert "123456789" not in key and len(key) == 64


def test_seal_roundtrip_and_no_plaintext() -> None:
    ring = KeyRing(A)
    sealed = ring.seal("chat id 987654321")
    assert "987654321" not in sealed
    assert ring.open(sealed) == "chat id 987654321"
    assert ring.seal("x") != ring.seal("x"), "a fresh nonce each time"
    assert ring.open_json(ring.seal_json({"t": "chào"})) == {"t": "chào"}


def test_tampering_and_wrong_key_are_detected() -> None:
    ring = KeyRing(A)
    sealed = ring.seal("secret")
    kid, body = sealed.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(DecryptionError):
        ring.open(f"{kid}.{flipped}")
    with pytest.raises(DecryptionError):
        KeyRing(B).open(sealed)


def test_rotation_reads_old_values_and_finds_old_pseudonyms() -> None:
    old = KeyRing(A)
    sealed = old.seal("address")
    rotated = KeyRing(B, [A])
    assert rotated.open(sealed) == "address"
    assert rotated.needs_reseal(sealed)
    assert not rotated.needs_reseal(rotated.seal("address"))
    candidates = rotated.candidate_user_keys("web", "s1")
    assert candidates[0] == KeyRing(B).user_key("web", "s1")
    assert old.user_key("web", "s1") in candidates


def test_a_sealed_value_opens_only_in_its_own_context() -> None:
    ring = KeyRing(A)
    hers = ring.seal("chat 111", "address:her")
    assert ring.open(hers, "address:her") == "chat 111"
    for wrong in ("address:his", "", "outbox.payload:her"):
        with pytest.raises(DecryptionError):
            ring.open(hers, wrong)
    assert ring.needs_reseal(ring.legacy_seal("x")), "a value without context is re-sealed"


def test_values_sealed_before_contexts_still_open() -> None:
    legacy = KeyRing(A).legacy_seal("chat 222")
    assert KeyRing(A).open(legacy, "address:any") == "chat 222"
    rotated = KeyRing(B, [A])
    assert rotated.open(legacy) == "chat 222" and rotated.needs_reseal(legacy)
    with pytest.raises(DecryptionError):
        KeyRing(B).open(legacy)
