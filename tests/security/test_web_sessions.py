"""Attacks on the web chat's sessions, scripted against a real ``helpline run``.

He knows the bot's address and may have had her phone for a minute. He tries
to plant a session id of his choosing in her browser (or guess one), to keep
using a session id he copied, to read along on a second socket, and to open
her chat's socket from a page of his own. Defence: sessions are issued by the
server and never adopted; the id changes at consent and when the request is
made; one socket per session; Origin checked on ``/ws``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.scale.cluster import BotProcess
from tests.security.conftest import ATTACKER_IP, MEMBER_IP, helpline_env, started
from tests.security.webchat import Chat


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[BotProcess]:
    env = helpline_env(f"sqlite+aiosqlite:///{tmp_path / 'helpline.db'}", tmp_path)
    process = await started(env, tmp_path)
    try:
        yield process
    finally:
        await process.stop()


def base(process: BotProcess) -> str:
    return f"http://127.0.0.1:{process.port}"


async def test_a_session_id_the_server_did_not_issue_is_never_adopted(
    server: BotProcess,
) -> None:
    planted = "he-chose-this-session-id-0123456789abcdef"
    # He plants his id in a browser (hers, or his own to read what she gets).
    async with Chat(base(server), ATTACKER_IP) as attacker:
        attacker.set_cookie(planted)
        await attacker.connect()
        first = await attacker.receive()
        assert first == {"type": "error", "error": "no_session"}, first
        # The page would now ask for a fresh one: it is not his.
        await attacker.open_page()
        assert attacker.cookie() not in (None, planted)
        # Embedded page: a made-up token gets a fresh one back, never itself.
        attacker.http.cookie_jar.clear()
        await attacker.connect("/ws?embed=1")
        assert attacker.ws is not None
        await attacker.ws.send_json({"type": "session", "token": planted})
        handed = await attacker.receive()
        assert handed is not None and handed["type"] == "session"
        assert handed["token"] != planted


async def test_a_copied_session_id_stops_working_once_she_asks_for_the_team(
    server: BotProcess,
) -> None:
    async with Chat(base(server), MEMBER_IP) as her:
        await her.open_page()
        copied = her.cookie()
        assert copied
        await her.connect()
        await her.send({"type": "start"})
        await her.ask_for_team()
        await her.say("anh ấy đánh tôi tối qua")
        assert her.cookie() != copied, "her browser got a new session id"
        async with Chat(base(server), ATTACKER_IP) as attacker:
            attacker.set_cookie(copied)
            await attacker.connect()
            assert await attacker.receive() == {"type": "error", "error": "no_session"}
        # Her chat goes on with the new id, on a new socket too.
        await her.ws.close()  # type: ignore[union-attr]
        await her.connect()
        got = await her.say("vẫn là tôi")
        assert got[-1]["type"] == "ack", got


async def test_a_second_socket_on_her_session_closes_the_first_and_says_so(
    server: BotProcess,
) -> None:
    async with Chat(base(server), MEMBER_IP) as her:
        await her.open_page()
        await her.connect()
        await her.send({"type": "start"})
        async with Chat(base(server), ATTACKER_IP) as attacker:
            attacker.set_cookie(her.cookie() or "")
            await attacker.connect()
            told = await her.receive()
            assert told == {"type": "replaced"}, told
            assert await her.receive() is None, "her old socket is closed"
            # Only one socket now: a message for the session reaches one place.
            got = await attacker.say("xin chào")
            assert got[-1]["type"] == "ack"


async def test_websocket_from_another_sites_page_is_refused(server: BotProcess) -> None:
    import aiohttp

    async with Chat(base(server), MEMBER_IP, origin="https://evil.example") as her:
        await her.open_page()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await her.connect()
        assert refused.value.status == 403
    # The chat's own page (same origin) still connects.
    async with Chat(base(server), MEMBER_IP, origin=base(server)) as her:
        await her.open_page()
        await her.connect()
        got = await her.send({"type": "start"})
        assert got[-1]["type"] == "ack"


async def test_embed_script_never_repeats_the_host_header(server: BotProcess) -> None:
    async with Chat(base(server), ATTACKER_IP) as attacker:
        async with attacker.http.get(
            base(server) + "/embed.js", headers={"Host": "evil.example"}
        ) as resp:
            script = await resp.text()
    assert resp.status == 200
    assert "evil.example" not in script, "a cached script would send everyone to his site"


@pytest.fixture
async def behind_proxy(tmp_path: Path) -> AsyncIterator[BotProcess]:
    env = helpline_env(
        f"sqlite+aiosqlite:///{tmp_path / 'helpline.db'}",
        tmp_path,
        HELPLINE_PUBLIC_URL="https://chat.example.org",
        HELPLINE_TRUSTED_PROXIES="127.0.0.1",
    )
    process = await started(env, tmp_path)
    try:
        yield process
    finally:
        await process.stop()


async def test_behind_the_tls_proxy_cookies_are_secure_hsts_is_sent_and_embed_uses_the_origin(
    behind_proxy: BotProcess,
) -> None:
    proxy_headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    async with Chat(base(behind_proxy), MEMBER_IP) as her:
        async with her.http.get(base(behind_proxy) + "/", headers=proxy_headers) as resp:
            assert resp.status == 200
            cookie = resp.cookies["hl_sid"]
            assert cookie["secure"], "the session cookie must never travel over plain http"
            assert "max-age" in resp.headers.get("Strict-Transport-Security", "")
        async with her.http.get(
            base(behind_proxy) + "/embed.js", headers={"Host": "evil.example", **proxy_headers}
        ) as resp:
            script = await resp.text()
        assert '"https://chat.example.org"' in script and "evil.example" not in script
        # /ws from the public origin is accepted (the secure cookie stays
        # in the jar over plain http, so as the embedded page would).
        her.origin = "https://chat.example.org"
        await her.connect("/ws?embed=1")
        await her.ws.send_json({"type": "session"})  # type: ignore[union-attr]
        assert (await her.receive() or {}).get("type") == "session"
        assert (await her.send({"type": "start"}))[-1]["type"] == "ack"


async def test_after_she_erases_a_copied_session_id_opens_nothing(server: BotProcess) -> None:
    async with Chat(base(server), MEMBER_IP) as her:
        await her.open_page()
        copied = her.cookie()
        await her.connect()
        await her.send({"type": "start"})
        await her.say("/xoa")
        await her.tap("Xóa")
    async with Chat(base(server), ATTACKER_IP) as attacker:
        attacker.set_cookie(copied or "")
        await attacker.connect()
        assert await attacker.receive() == {"type": "error", "error": "no_session"}
