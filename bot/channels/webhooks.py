"""What every webhook does before it believes a byte of a call: compare the
secret in constant time whatever the header's encoding, read a body of
bounded size, and parse JSON so that no input (deeply nested, not UTF-8, not
an object) can end in a 500 with a traceback.

The order matters: the secret or signature is checked before the body is
parsed, so a stranger's call costs a header comparison, not a JSON parse.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

#: The largest body a platform sends us. A Telegram update or a Zalo event is
#: a few kilobytes (a 4 096-character text with its entities is under 40 KB).
MAX_WEBHOOK_BODY = 256 * 1024


class BadBody(Exception):
    """The body is too large, not UTF-8, not JSON or not a JSON object."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of a header with our secret. aiohttp hands
    header bytes that are not UTF-8 over as surrogates; they are compared as
    the bytes they were (and never match), instead of raising."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


async def read_body(request: web.Request, limit: int = MAX_WEBHOOK_BODY) -> bytes:
    """The raw body, or :class:`BadBody` (413) past ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BadBody(413)
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body.extend(chunk)
        if len(body) > limit:
            raise BadBody(413)
    return bytes(body)


def parse_object(raw: bytes) -> dict[str, Any]:
    """A JSON object, or :class:`BadBody` (400). Deep nesting ends the parse
    with RecursionError in the standard library: a bad request, not a crash."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadBody(400) from None
    if not isinstance(data, dict):
        raise BadBody(400)
    return data


async def read_object(request: web.Request, limit: int = MAX_WEBHOOK_BODY) -> dict[str, Any]:
    """:func:`read_body` then :func:`parse_object`."""
    return parse_object(await read_body(request, limit))
