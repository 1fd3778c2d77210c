"""Handoff relay latency through the outbox: one ``helpline run`` process (real
PTB, real database, webhook) and the Bot API stand-in. She is connected to a
team member, then they write in turn; a relayed message's latency is the time
from the webhook POST of the sender's message to the stand-in receiving the
``sendMessage`` that carries it to the other side (the turn is stored, the
outbox row committed, the worker woken, the row claimed, sent, marked sent).

``python -m bench.relay [DATABASE_URL] [MESSAGES]`` prints the figures as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.e2e import CLEAN_ENV, _free_port, _process, percentile
from tests.fakes.telegram_api import FakeTelegramAPI

GROUP, MEMBER, HER = -1009000000001, 6_200_300_401, 880_000_001
TEAMS = {
    "teams": [
        {
            "id": "bench-team",
            "name": "Bench team",
            "areas": ["Phú Hưng"],
            "telegram_group_id": GROUP,
            "members": [{"telegram_user_id": MEMBER, "alias": "Hoa"}],
        }
    ],
    "fallback_team": "bench-team",
}


class _Driver:
    def __init__(self, api: FakeTelegramAPI, http: aiohttp.ClientSession) -> None:
        assert api.webhook is not None
        self.api = api
        self.http = http
        self.url = api.webhook["url"]
        self.headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": api.webhook.get("secret_token") or "",
        }

    async def post(self, update: dict[str, Any]) -> None:
        async with self.http.post(self.url, data=json.dumps(update), headers=self.headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"webhook answered {resp.status}")

    async def say(self, chat: int, text: str) -> None:
        update = self.api.user_message(chat, text)
        self.api._record_user_side(update)  # as deliver_webhook does
        await self.post(update)

    async def tap(self, chat: int, label_part: str) -> None:
        shown = next(
            m
            for m in reversed(self.api.sent_to(chat))
            if any(label_part.lower() in b[0].lower() for b in m.buttons)
        )
        payload = next(d for label, d in shown.buttons if label_part.lower() in label.lower())
        await self.post(self.api.press(chat, shown.message_id, payload))

    async def connect(self) -> None:
        """Her request (consent, area, topic), then the member's Take."""
        api = self.api
        await self.say(HER, "tôi muốn nói chuyện với người thật")
        await self.tap(HER, "Đồng ý")
        if any("kín đáo" in label for m in api.sent_to(HER)[-1:] for label, _ in m.buttons):
            await self.tap(HER, "bình thường")
        await self.say(HER, "phu hung")
        await self.tap(HER, "Bạo lực")
        await api.wait_until(lambda: any(m.buttons for m in api.sent_to(GROUP)), 30)
        card = next(m for m in api.sent_to(GROUP) if m.buttons)
        await self.post(api.press(GROUP, card.message_id, card.payloads[0], user_id=MEMBER))
        await api.wait_until(
            lambda: any("Connected" in (m.text or "") for m in api.sent_to(MEMBER)), 30
        )
        await api.wait_until(
            lambda: any("Đã kết nối" in (m.text or "") for m in api.sent_to(HER)), 30
        )

    async def relay_once(self, sender: int, receiver: int, text: str, shown_as: str) -> float:
        """Seconds from the POST to the stand-in receiving the relayed sendMessage."""
        started = time.monotonic()
        await self.say(sender, text)

        def arrived() -> bool:
            return any(
                c.params.get("text") == shown_as and _int(c.params.get("chat_id")) == receiver
                for c in reversed(self.api.calls[-20:])
                if c.method == "sendMessage"
            )

        await self.api.wait_until(arrived, 30)
        call = next(
            c
            for c in reversed(self.api.calls)
            if c.method == "sendMessage" and c.params.get("text") == shown_as
        )
        return call.at - started


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def relay_latency(database_url: str, messages: int = 200) -> dict[str, Any]:
    """``messages`` relayed each way, one at a time; p50/p99 in ms."""
    up: list[float] = []
    down: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        teams = Path(tmp) / "teams.yml"
        teams.write_text(yaml.safe_dump(TEAMS, allow_unicode=True), encoding="utf-8")
        port = _free_port()
        env = dict(
            CLEAN_ENV,
            HELPLINE_DATABASE_URL=database_url,
            HELPLINE_SECRET_KEY="94H7eVo_bU7TFVLWJT6JEbOOce0JVe9RBfwKzwmeL9Po5Qj-M0JwOg",
            HELPLINE_HTTP_PORT=str(port),
            HELPLINE_LOG_LEVEL="WARNING",
            HELPLINE_TEAMS_FILE=str(teams),
            TELEGRAM_BOT_TOKEN="",
            TELEGRAM_API_BASE_URL="",
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
            TELEGRAM_RATE_LIMIT="0",
        )
        async with FakeTelegramAPI() as api:
            env.update(TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url)
            async with (
                _process(api, ["-m", "bot.cli", "run"], env, tmp),
                aiohttp.ClientSession() as http,
            ):
                driver = _Driver(api, http)
                await driver.connect()
                for i in range(messages):
                    hers = f"Em nhắn tổ tin số {i}, em vẫn ổn và đang ở nhà"
                    up.append(await driver.relay_once(HER, MEMBER, hers, _alias_line(api, hers)))
                    theirs = f"Tổ trả lời chị tin số {i}"
                    down.append(
                        await driver.relay_once(MEMBER, HER, theirs, f"Tổ hỗ trợ: {theirs}")
                    )
    return {
        "messages": messages,
        "user_to_team_p50_ms": round(percentile(up, 50) * 1000, 2),
        "user_to_team_p99_ms": round(percentile(up, 99) * 1000, 2),
        "team_to_user_p50_ms": round(percentile(down, 50) * 1000, 2),
        "team_to_user_p99_ms": round(percentile(down, 99) * 1000, 2),
    }


def _alias_line(api: FakeTelegramAPI, text: str) -> str:
    """How her message reads in the member's chat: ``#K7Q2: text``."""
    connected = next(m.text or "" for m in api.sent_to(MEMBER) if "Connected" in (m.text or ""))
    alias = next(w for w in connected.split() if w.startswith("#")).rstrip(".,:;")
    return f"{alias}: {text}"


def main(argv: list[str]) -> int:
    url = argv[0] if argv and argv[0] else None
    messages = int(argv[1]) if len(argv) > 1 else 200
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(relay_latency(f"sqlite+aiosqlite:///{tmp}/relay.db", messages))
    else:
        result = asyncio.run(relay_latency(url, messages))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
