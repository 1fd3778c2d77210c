"""The floor of the stack: a bare python-telegram-bot that echoes every text,
behind an aiohttp webhook like ours, or long-polling (``poll``), handling up to
32 chats at once as ours does. ``python -m bench.echo_bot PORT BASE_URL TOKEN [poll]``."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, MessageHandler, filters

SECRET = "bench-echo-secret"


async def serve(port: int, base_url: str, token: str, poll: bool = False) -> None:
    builder = ApplicationBuilder().token(token).base_url(base_url)
    if poll:
        builder = builder.concurrent_updates(32)
    else:
        builder = builder.updater(None)
    app: Application[Any, Any, Any, Any, Any, Any] = builder.build()

    async def echo(update: Update, _context: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app.add_handler(MessageHandler(filters.TEXT, echo))

    async def hook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return web.Response(status=403)
        await app.process_update(Update.de_json(await request.json(), app.bot))
        return web.Response()

    web_app = web.Application()
    web_app.router.add_post("/hook", hook)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await app.initialize()
    await app.start()
    if poll:
        assert app.updater is not None
        await app.updater.start_polling(timeout=10)
    else:
        await app.bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token=SECRET)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    await app.stop()
    await app.shutdown()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], "poll" in sys.argv[4:]))
