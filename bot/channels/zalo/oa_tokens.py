"""The Zalo OA token pair: kept sealed in the database, refreshed once.

Zalo's refresh token can be used once: every refresh returns a new pair and
burns the old refresh token (docs/zalo-api.md, OA). If two processes, or two sends in one
process, refreshed at the same time, one would burn the token the other is
using and the OA would be locked out until someone logs in again by hand. So
a refresh happens behind an asyncio lock (this process) and a lock on the
``kv`` row (every process), and after taking the lock the pair is read again:
if another process already refreshed, its token is used and Zalo is not asked.

The first pair comes from ``ZALO_OA_ACCESS_TOKEN`` / ``ZALO_OA_REFRESH_TOKEN``
when the database has none; after that the database is the truth (the
settings' refresh token is burnt after the first refresh).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.crypto import DecryptionError, KeyRing
from bot.messages import utcnow
from bot.store import kv
from bot.store.db import Database

log = logging.getLogger(__name__)

KV_NAME = "zalo_oa_tokens"
#: Refresh this long before the access token expires (it lasts 25 hours).
REFRESH_MARGIN = timedelta(minutes=30)


class TokenError(Exception):
    """No usable access token: the refresh failed or there is nothing to refresh with."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    #: None when unknown (tokens from the settings): used until Zalo rejects it.
    expires_at: datetime | None

    def fresh(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at - REFRESH_MARGIN > now

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.access_token,
            "r": self.refresh_token,
            "e": self.expires_at.isoformat() if self.expires_at else None,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> TokenPair:
        expires = value.get("e")
        return cls(
            access_token=str(value.get("a") or ""),
            refresh_token=value.get("r") or None,
            expires_at=datetime.fromisoformat(expires) if expires else None,
        )


def fingerprint(token: str | None) -> str:
    """A short hash prefix, so logs can tell tokens apart without showing one."""
    return hashlib.sha256(token.encode()).hexdigest()[:6] if token else "-"


class ZaloOATokens:
    """Hands out the current access token; refreshes it once when it is
    rejected (``-216``) or about to expire."""

    def __init__(
        self,
        db: Database,
        keyring: KeyRing,
        *,
        app_id: str,
        app_secret: str | None,
        oauth_base_url: str,
        initial_access_token: str | None,
        initial_refresh_token: str | None,
        http: aiohttp.ClientSession | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.app_id = app_id
        self.app_secret = app_secret
        self.oauth_url = oauth_base_url.rstrip("/") + "/v4/oa/access_token"
        self.initial = (initial_access_token or "", initial_refresh_token or None)
        self._http = http
        self._own_http = http is None
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._lock = asyncio.Lock()
        self._pair: TokenPair | None = None
        #: How many times this object asked Zalo for a new pair (tests, metrics).
        self.refreshes = 0

    async def close(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.close()
        self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
            self._own_http = True
        return self._http

    async def access_token(self) -> str:
        """The token to send with; refreshed first when it is about to expire."""
        pair = self._pair or await self._load()
        if not pair.fresh(utcnow()) and pair.refresh_token:
            try:
                pair = await self.refresh(pair.access_token)
            except TokenError as exc:
                # Still valid for up to REFRESH_MARGIN: use it and try again later.
                log.warning("zalo_oa: early token refresh failed (%s)", exc)
        if not pair.access_token:
            pair = await self.refresh(None)
        return pair.access_token

    async def _load(self) -> TokenPair:
        """The stored pair; the settings' pair is stored first if there is none."""
        access, refresh = self.initial
        async with self.db.transaction() as session:
            seed = TokenPair(access, refresh, None)
            await kv.put_if_absent(
                session, self.db, KV_NAME, self.keyring.seal_json(seed.to_json()), utcnow()
            )
            row = await kv.get(session, KV_NAME)
        pair = self._open(row.value_enc if row else None) or TokenPair(access, refresh, None)
        self._pair = pair
        return pair

    def _open(self, sealed: str | None) -> TokenPair | None:
        if not sealed:
            return None
        try:
            return TokenPair.from_json(self.keyring.open_json(sealed))
        except (DecryptionError, ValueError, TypeError):
            log.error("zalo_oa: stored tokens cannot be opened (was HELPLINE_SECRET_KEY changed?)")
            return None

    async def refresh(self, stale: str | None) -> TokenPair:
        """Replace ``stale`` (the access token that failed, or None) by a new pair.

        Single flight: in this process behind an asyncio lock, across processes
        behind the ``kv`` row lock, and Zalo is asked only if the stored token is
        still the stale one (or about to expire): otherwise someone else already
        refreshed and their pair is used.
        """
        async with self._lock:
            pair = self._pair
            if (
                pair is not None
                and pair.access_token
                and pair.access_token != stale
                and pair.fresh(utcnow())
            ):
                return pair
            if pair is None:
                await self._load()
            async with self.db.transaction() as session:
                row = await kv.get_locked(session, self.db, KV_NAME)
                stored = self._open(row.value_enc if row else None)
                if (
                    stored is not None
                    and stored.access_token
                    and stored.access_token != stale
                    and stored.fresh(utcnow())
                ):
                    log.info("zalo_oa: token already refreshed elsewhere (%s)", fingerprint(stale))
                    self._pair = stored
                    return stored
                refresh_token = stored.refresh_token if stored else self.initial[1]
                new = await self._ask_zalo(refresh_token)
                # Committed with the row lock still held: nobody can read the
                # burnt refresh token in between.
                await kv.put(
                    session, self.db, KV_NAME, self.keyring.seal_json(new.to_json()), utcnow()
                )
            self._pair = new
            log.info(
                "zalo_oa: token refreshed (%s → %s)",
                fingerprint(stale),
                fingerprint(new.access_token),
            )
            return new

    async def _ask_zalo(self, refresh_token: str | None) -> TokenPair:
        if not refresh_token:
            raise TokenError("no refresh token (set ZALO_OA_REFRESH_TOKEN)")
        if not self.app_secret:
            raise TokenError("no app secret (set ZALO_APP_SECRET)")
        self.refreshes += 1
        form = {
            "refresh_token": refresh_token,
            "app_id": self.app_id,
            "grant_type": "refresh_token",
        }
        try:
            async with self._session().post(
                self.oauth_url,
                data=form,
                headers={"secret_key": self.app_secret},
                timeout=self.timeout,
            ) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TokenError(f"refresh request failed ({type(exc).__name__})") from None
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            code = body.get("error") if isinstance(body, dict) else None
            raise TokenError(f"refresh refused (http {status}, error {code})")
        try:
            seconds = int(str(body.get("expires_in") or "0"))
        except ValueError:
            seconds = 0
        expires = utcnow() + timedelta(seconds=seconds) if seconds > 0 else None
        new_refresh = body.get("refresh_token") or None
        if new_refresh is None:
            log.warning("zalo_oa: refresh answer had no new refresh token")
        return TokenPair(str(body["access_token"]), new_refresh, expires)


async def keep_fresh(tokens: ZaloOATokens, interval: float = 3600.0) -> None:
    """Check the pair now and then, so that it is refreshed before it expires
    even when nobody writes: a refresh token unused for 3 months dies, and the
    OA would need someone to log in by hand. Every process may run this; the
    row lock makes sure only one of them refreshes."""
    while True:
        try:
            await tokens.access_token()
        except Exception as exc:  # logged; tried again at the next interval
            log.warning("zalo_oa: token check failed (%s)", type(exc).__name__)
        await asyncio.sleep(interval)
