"""``GET /metrics``: the runtime's counters, with the gauges read from the
database at scrape time (shared by all processes)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.appkeys import runtime_of


async def metrics_endpoint(request: web.Request) -> web.Response:
    runtime = runtime_of(request.app)
    metrics = runtime.engine.metrics
    await metrics.refresh(runtime.db, runtime.engine.handoff)
    if runtime.asr is not None:
        metrics.observe_voice(runtime.asr.outcomes)
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
