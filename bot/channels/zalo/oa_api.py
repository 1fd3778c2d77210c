"""A thin async client for the Zalo OA Open API v3: one call, ``message/cs``.

Zalo answers errors with HTTP 200 and ``error != 0``; they become
:class:`~bot.interfaces.DeliveryError` through the table in
:mod:`bot.channels.zalo.errors`. An invalid access token (``-216``) is
refreshed once (single flight) and the call retried once.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.channels.zalo.errors import OA_INVALID_TOKEN, TOKEN_BACKOFF, oa_error
from bot.channels.zalo.oa_tokens import TokenError, ZaloOATokens
from bot.interfaces import DeliveryError, Failure
from bot.messages import Button

log = logging.getLogger(__name__)

MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
MAX_BUTTON_PAYLOAD = 1000


def text_body(user_id: str, text: str, buttons: list[Button] | None = None) -> dict[str, Any]:
    """The JSON of one customer-service message; ``oa.query.hide`` buttons
    send their payload back as a text message when tapped."""
    message: dict[str, Any] = {"text": text}
    if buttons:
        message["attachment"] = {
            "type": "template",
            "payload": {
                "buttons": [
                    {
                        "title": b.label[:MAX_BUTTON_TITLE],
                        "type": "oa.query.hide",
                        "payload": b.payload[:MAX_BUTTON_PAYLOAD],
                    }
                    for b in buttons[:MAX_BUTTONS]
                ]
            },
        }
    return {"recipient": {"user_id": user_id}, "message": message}


class ZaloOAClient:
    def __init__(
        self,
        tokens: ZaloOATokens,
        *,
        api_base_url: str,
        http: aiohttp.ClientSession | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.tokens = tokens
        self.url = api_base_url.rstrip("/") + "/v3.0/oa/message/cs"
        self._http = http
        self._own_http = http is None
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
            self._own_http = True
        return self._http

    async def close(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.close()
        self._http = None
        await self.tokens.close()

    async def send(self, user_id: str, text: str, buttons: list[Button] | None = None) -> str:
        """Send one message; returns Zalo's message id or raises DeliveryError."""
        body = text_body(user_id, text, buttons)
        token = await self._token(None)
        answer = await self._post(body, token)
        if answer.get("error") == OA_INVALID_TOKEN:
            log.info("zalo_oa: access token rejected (-216); refreshing")
            token = await self._token(token)
            answer = await self._post(body, token)
        return self._result(answer)

    async def _token(self, stale: str | None) -> str:
        try:
            if stale is None:
                return await self.tokens.access_token()
            return (await self.tokens.refresh(stale)).access_token
        except TokenError as exc:
            log.error("zalo_oa: no usable access token: %s", exc)
            raise DeliveryError(
                Failure.CONFIG, f"zalo_oa: token ({exc})", retry_after=TOKEN_BACKOFF
            ) from None

    async def _post(self, body: dict[str, Any], token: str) -> dict[str, Any]:
        try:
            async with self._session().post(
                self.url, json=body, headers={"access_token": token}, timeout=self.timeout
            ) as resp:
                if resp.status != 200:
                    raise DeliveryError(Failure.CONNECTION, f"zalo_oa: http {resp.status}")
                answer = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeliveryError(Failure.CONNECTION, f"zalo_oa: {type(exc).__name__}") from None
        if not isinstance(answer, dict):
            raise DeliveryError(Failure.CONNECTION, "zalo_oa: unexpected answer")
        return answer

    def _result(self, answer: dict[str, Any]) -> str:
        code = answer.get("error")
        if code in (0, None) and isinstance(answer.get("data"), dict):
            return str(answer["data"].get("message_id") or "")
        try:
            code = int(code)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            code = None
        if code == 0:
            return ""
        raise oa_error(code)  # -216 here: refused again after a refresh
