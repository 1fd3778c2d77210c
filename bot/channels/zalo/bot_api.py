"""A thin async client for the Zalo Bot Platform (the Telegram-like API):
``POST {base}{token}/{method}`` with a JSON body."""

from __future__ import annotations

from typing import Any

import aiohttp


class ZaloBotError(Exception):
    """``{ok: false, error_code, description}``, or an HTTP answer without JSON."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description


class ZaloBotClient:
    """``POST {base}{token}/{method}`` with a JSON body; the token is in the
    URL, so URLs are never logged."""

    def __init__(
        self, token: str, base_url: str, *, http: aiohttp.ClientSession | None = None
    ) -> None:
        self._prefix = f"{base_url}{token}/"
        self._http = http
        self._own_http = http is None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
            self._own_http = True
        return self._http

    async def close(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.close()
        self._http = None

    async def call(
        self, method: str, body: dict[str, Any] | None = None, *, seconds: float = 15.0
    ) -> Any:
        async with self._session().post(
            self._prefix + method,
            json=body or {},
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as resp:
            try:
                answer = await resp.json(content_type=None)
            except ValueError:
                answer = None
            status = resp.status
        if not isinstance(answer, dict):
            raise ZaloBotError(status, f"http {status}")
        if not answer.get("ok"):
            code = answer.get("error_code")
            return_code = code if isinstance(code, int) else status
            raise ZaloBotError(return_code, str(answer.get("description") or "")[:100])
        return answer.get("result")
