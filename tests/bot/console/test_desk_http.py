"""The console's new desk controls over HTTP, as the page's script calls them
(JSON body, the session's CSRF token in a header): the duty toggle, the
insert menu of vetted texts and transfer. Local mode: the demo team."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import add_configured_channels, build_app
from bot.console import auth
from bot.messages import Incoming, Outgoing

PASSWORD = "a long enough password 1"


@pytest.fixture
async def client(runtime: Any) -> AsyncIterator[TestClient[Any, Any]]:
    add_configured_channels(runtime)
    async with TestClient(TestServer(build_app(runtime), host="127.0.0.1")) as c:
        yield c


async def logged_in(c: TestClient[Any, Any], runtime: Any) -> dict[str, str]:
    await auth.set_password(runtime.db, "demo", PASSWORD)
    page = await c.get("/team/login")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token
    await c.post(
        "/team/login",
        data={"csrf": token.group(1), "login": "demo", "password": PASSWORD},
        allow_redirects=False,
    )
    html = await (await c.get("/team")).text()
    csrf = re.search(r'data-csrf="([^"]+)"', html)
    assert csrf and 'id="duty"' in html
    return {"X-CSRF-Token": csrf.group(1)}


async def her_request(runtime: Any) -> int:
    n = 0

    async def say(**kw: Any) -> list[Outgoing]:
        nonlocal n
        n += 1
        return await runtime.engine.handle(
            Incoming(channel="web", address="her-http-0000000000000001", message_id=str(n), **kw)
        )

    def press(replies: list[Outgoing], label: str) -> str:
        return next(b.payload for m in replies for b in m.buttons if b.label == label)

    replies = await say(text="tôi muốn nói chuyện với người")
    replies = await say(payload=press(replies, "Đồng ý"))
    if any(b.label == "Không, bình thường" for m in replies for b in m.buttons):
        replies = await say(payload=press(replies, "Không, bình thường"))
    replies = await say(payload=press(replies, "Bỏ qua"))
    replies = await say(payload=press(replies, "Bạo lực trong gia đình"))
    replies = await say(payload=press(replies, "Đồng ý chia sẻ"))
    await say(payload=press(replies, "Chỉ tin ngắn"))
    from bot.console.desk import Desk

    state = await Desk(runtime.engine.handoff).state("demo")
    return int(state["queue"][-1]["id"])


async def test_duty_toggle_tip_and_transfer_over_http(
    client: TestClient[Any, Any], runtime: Any
) -> None:
    headers = await logged_in(client, runtime)
    state = await (await client.get("/team/api/state")).json()
    assert state["on_duty"] is True
    off = await client.post("/team/api/duty/off", json={}, headers=headers)
    assert off.status == 200 and "off duty" in (await off.json())["message"]
    assert (await (await client.get("/team/api/state")).json())["on_duty"] is False
    forged = await client.post("/team/api/duty/on", json={}, headers={"X-CSRF-Token": "x"})
    assert forged.status == 403
    assert (await client.post("/team/api/duty/on", json={}, headers=headers)).status == 200

    request_id = await her_request(runtime)
    base = f"/team/api/requests/{request_id}"
    assert (await client.post(f"{base}/take", json={}, headers=headers)).status == 200
    chat = await (await client.get(base)).json()
    assert any("short, neutral" in line for line in chat["card"])
    assert [t["n"] for t in chat["tips"]][:3] == [1, 2, 3]
    sent = await client.post(f"{base}/tip", json={"n": "2"}, headers=headers)
    assert sent.status == 200
    chat = await (await client.get(base)).json()
    assert chat["messages"][-1]["kind"] == "member" and "113" in chat["messages"][-1]["text"]
    assert (await client.post(f"{base}/tip", json={"n": "x"}, headers=headers)).status == 400
    # The demo team has no colleague and no other team to transfer to.
    assert chat["transfer_to"] == []
    nowhere = await client.post(f"{base}/transfer", json={"to": "nowhere"}, headers=headers)
    assert nowhere.status == 409
