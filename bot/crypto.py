"""Keys derived from HELPLINE_SECRET_KEY: user pseudonyms and encryption at rest.

- A user is stored under HMAC-SHA256(k_id, "channel:address"): the platform id
  never reaches the database in clear.
- What must be recoverable (the reply address, transcripts, tokens) is sealed
  with AES-GCM. Every sealed value starts with the id of the key that sealed it,
  so a secret can rotate: new values use the current key, old ones still open
  with the previous secrets (HELPLINE_OLD_SECRET_KEYS).
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
    key_id: str
    identity: bytes
    aead: AESGCM


def _make_key(secret: str) -> _Key:
    kid = hashlib.sha256(_derive(secret, b"key-id")).hexdigest()[:8]
    return _Key(kid, _derive(secret, b"identity-hmac"), AESGCM(_derive(secret, b"aes-gcm")))


class KeyRing:
    """The current key plus older ones kept for reading after a rotation."""

    def __init__(self, secret: str, old_secrets: list[str] | None = None) -> None:
        self._current = _make_key(secret)
        self._keys = {self._current.key_id: self._current}
        self._old = [_make_key(s) for s in old_secrets or []]
        for key in self._old:
            self._keys.setdefault(key.key_id, key)

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

    def seal(self, plaintext: str | bytes) -> str:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        ct = self._current.aead.encrypt(nonce, data, self._current.key_id.encode())
        return f"{self._current.key_id}.{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def open_bytes(self, sealed: str) -> bytes:
        kid, _, body = sealed.partition(".")
        key = self._keys.get(kid)
        if key is None or not body:
            raise DecryptionError("unknown key id")
        raw = base64.urlsafe_b64decode(body.encode())
        try:
            return key.aead.decrypt(raw[:12], raw[12:], kid.encode())
        except InvalidTag as exc:
            raise DecryptionError("tampered or wrong key") from exc

    def open(self, sealed: str) -> str:
        return self.open_bytes(sealed).decode("utf-8")

    def seal_json(self, value: Any) -> str:
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def open_json(self, sealed: str) -> Any:
        return json.loads(self.open(sealed))

    def needs_reseal(self, sealed: str) -> bool:
        return not sealed.startswith(self._current.key_id + ".")
