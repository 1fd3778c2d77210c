"""Serving the small packaged JS/CSS files of the web pages (chat and console)."""

from __future__ import annotations

from aiohttp import web


def asset_response(assets: dict[str, bytes], name: str) -> web.Response:
    """One packaged asset, never cached (a shared device keeps no copy)."""
    body = assets.get(name)
    if body is None:
        raise web.HTTPNotFound()
    kind = "application/javascript" if name.endswith(".js") else "text/css"
    return web.Response(
        body=body,
        content_type=kind,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
