"""Keys derived from HELPLINE_SECRET_KEY: user pseudonyms and encryption at rest.

- A user is stored under HMAC-SHA256(k_id, "channel:address"): the platform id
  never reaches the database in clear.
- What must be recoverable (the reply address, transcripts, tokens) is sealed
  with AES-GCM. Every sealed value starts with the id of the key that sealed it,
  so a secret can rotate: new values use the current key, old ones still open
  with the previous secrets (HELPLINE_OLD_SECRET_KEYS).
- A sealed value is bound to where it is stored: the associated data holds a
  ``context`` naming its table, column and row (e.g. ``address:<pseudonym>``),
  so a value copied into another row does not open there. Values sealed before
  contexts existed carry the key's legacy id and still open (associated data =
  the key id only) until ``helpline keys rotate`` re-seals them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SALT = b"helpline/v1"


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose).derive(
        secret.encode("utf-8")
    )


class DecryptionError(Exception):
    """A sealed value cannot be opened with any known key."""


@dataclass(frozen=True, slots=True)
class _Key:
    #: Id written by this version: the associated data includes the context.
    key_id: str
    #: Id of values sealed before contexts existed (associated data = the id only).
    legacy_id: str
    identity: bytes
    aead: AESGCM


def _make_key(secret: str) -> _Key:
    legacy = hashlib.sha256(_derive(secret, b"key-id")).hexdigest()[:8]
    kid = hashlib.sha256(_derive(secret, b"key-id/context")).hexdigest()[:8]
    aead = AESGCM(_derive(secret, b"aes-gcm"))
    return _Key(kid, legacy, _derive(secret, b"identity-hmac"), aead)


def _aad(kid: str, context: str | None) -> bytes:
    """Associated data: the key id, and for current-format values the context."""
    return kid.encode() if context is None else f"{kid}|{context}".encode()


class KeyRing:
    """The current key plus older ones kept for reading after a rotation."""

    def __init__(self, secret: str, old_secrets: list[str] | None = None) -> None:
        self._current = _make_key(secret)
        self._old = [_make_key(s) for s in old_secrets or []]
        #: key id -> (key, whether values under this id carry a context)
        self._keys: dict[str, tuple[_Key, bool]] = {}
        for key in [self._current, *self._old]:
            self._keys.setdefault(key.key_id, (key, True))
            self._keys.setdefault(key.legacy_id, (key, False))

    @property
    def key_id(self) -> str:
        return self._current.key_id

    def user_key(self, channel: str, address: str) -> str:
        """The pseudonym under which a person is stored (current key)."""
        return self._pseudonym(self._current, channel, address)

    def candidate_user_keys(self, channel: str, address: str) -> list[str]:
        """Pseudonyms under the current and the older keys, current first: a
        person first seen before a rotation is found and re-keyed."""
        return [self._pseudonym(k, channel, address) for k in [self._current, *self._old]]

    @staticmethod
    def _pseudonym(key: _Key, channel: str, address: str) -> str:
        return hmac.new(key.identity, f"{channel}:{address}".encode(), hashlib.sha256).hexdigest()

    def digest(self, value: str) -> str:
        """A keyed one-way digest for lookups that must not reveal the value."""
        return hmac.new(self._current.identity, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def seal(self, plaintext: str | bytes, context: str = "") -> str:
        """Seal under the current key, bound to ``context`` (table, column, row):
        opening needs the same context."""
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        kid = self._current.key_id
        ct = self._current.aead.encrypt(nonce, data, _aad(kid, context))
        return f"{kid}.{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def open_bytes(self, sealed: str, context: str = "") -> bytes:
        kid, _, body = sealed.partition(".")
        found = self._keys.get(kid)
        if found is None or not body:
            raise DecryptionError("unknown key id")
        key, bound = found
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return key.aead.decrypt(raw[:12], raw[12:], _aad(kid, context if bound else None))
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("tampered, moved from another row, or wrong key") from exc

    def open(self, sealed: str, context: str = "") -> str:
        return self.open_bytes(sealed, context).decode("utf-8")

    def seal_json(self, value: Any, context: str = "") -> str:
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")), context)

    def open_json(self, sealed: str, context: str = "") -> Any:
        return json.loads(self.open(sealed, context))

    def needs_reseal(self, sealed: str) -> bool:
        """True for values under an older key or sealed before contexts existed."""
        return not sealed.startswith(self._current.key_id + ".")

    def legacy_seal(self, plaintext: str) -> str:
        """A value in the format written before contexts existed (tests of the
        upgrade path and of ``helpline keys rotate`` only)."""
        nonce = os.urandom(12)
        kid = self._current.legacy_id
        ct = self._current.aead.encrypt(nonce, plaintext.encode("utf-8"), _aad(kid, None))
        return f"{kid}.{base64.urlsafe_b64encode(nonce + ct).decode()}"


def address_context(user_key: str) -> str:
    """Where a reply address is sealed (``users``, ``outbox``): bound to the
    pseudonym of the person it reaches, itself an HMAC of that address."""
    return f"address:{user_key}"


def outbox_payload_context(recipient: str) -> str:
    return f"outbox.payload:{recipient}"
