"""The aiohttp application that serves every channel in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot import appkeys
from bot.channels.web import WebChannel, healthz
from bot.client_ip import parse_proxies
from bot.metrics_http import metrics_endpoint
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.store.web_pending import purge_web_pending
from bot.store.web_sessions import purge_web_sessions

log = logging.getLogger(__name__)


def add_configured_channels(runtime: Runtime) -> None:
    """The web chat always; Telegram and Zalo when their settings are present."""
    settings = runtime.settings
    runtime.add_channel(
        WebChannel(
            runtime.engine,
            exit_url=settings.exit_url,
            frame_ancestors=settings.embed_origins,
            public_url=settings.public_url,
            proxies=parse_proxies(settings.trusted_proxies),
            messages_per_minute=settings.web_messages_per_minute,
            ip_messages_per_minute=settings.web_ip_messages_per_minute,
            ip_sessions_per_hour=settings.web_ip_sessions_per_hour,
        )
    )
    runtime.purge_hooks.append(purge_web_pending)
    runtime.purge_hooks.append(purge_web_sessions)
    from bot.console.web import ConsoleChannel

    runtime.add_channel(ConsoleChannel(runtime))
    from bot.channels.registry import platform_channels

    for channel in platform_channels(runtime):
        runtime.add_channel(channel)


def build_app(runtime: Runtime) -> web.Application:
    """The public application. ``/metrics`` is here only with
    HELPLINE_METRICS_TOKEN (bearer); otherwise it is 404 here and served on
    HELPLINE_METRICS_PORT (127.0.0.1), if set: counters such as "emergency +1"
    would tell a watcher the moment someone asks for help."""
    app = web.Application(client_max_size=1024 * 1024)
    app[appkeys.DB] = runtime.db
    app[appkeys.RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    if runtime.settings.metrics_token:
        app.router.add_get("/metrics", _bearer(runtime.settings.metrics_token))
    for channel in runtime.channels:
        channel.add_routes(app)
    return app


def build_metrics_app(runtime: Runtime) -> web.Application:
    """``/metrics`` alone, for the loopback-only HELPLINE_METRICS_PORT."""
    app = web.Application()
    app[appkeys.DB] = runtime.db
    app[appkeys.RUNTIME] = runtime
    app.router.add_get("/metrics", metrics_endpoint)
    return app


def _bearer(token: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    expected = f"Bearer {token}".encode()

    async def guarded(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            # The same answer as no route at all: nothing tells a prober it exists.
            raise web.HTTPNotFound()
        return await metrics_endpoint(request)

    return guarded


async def serve(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM: start channels and background tasks, serve HTTP."""
    runtime = await build_runtime(settings)
    add_configured_channels(runtime)
    app = build_app(runtime)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    metrics_runner: web.AppRunner | None = None
    if settings.metrics_port is not None:
        metrics_runner = web.AppRunner(build_metrics_app(runtime), access_log=None)
        await metrics_runner.setup()
        await web.TCPSite(metrics_runner, "127.0.0.1", settings.metrics_port).start()
    for channel in runtime.channels:
        await channel.start()
    await runtime.start_background()
    names = ", ".join(c.name for c in runtime.channels)
    print(
        f"helpline is running ({names}). Web chat: http://{settings.http_host}:{settings.http_port}/",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        for channel in reversed(runtime.channels):
            with contextlib.suppress(Exception):
                await channel.stop()
        await runner.cleanup()
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await runtime.close()
