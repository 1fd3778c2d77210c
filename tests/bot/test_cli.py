"""The two ways a newcomer meets the bot: `helpline chat --json` and `helpline run`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.conftest import free_port

CLEAN = {
    k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TELEGRAM_", "ZALO_"))
}


def run_chat(tmp_path: Path, lines: list[str], *extra: str) -> list[dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--json", *extra],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(CLEAN, XDG_DATA_HOME=str(tmp_path / "data")),  # the local secret goes here
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_chat_json_answers_each_line_with_turn_numbers(tmp_path: Path) -> None:
    out = run_chat(tmp_path, ["xin chào", "cứu tôi với, anh ta đang đánh tôi"])
    assert out[0]["turn"] == 0, "welcome before any input"
    assert {o["turn"] for o in out} == {0, 1, 2}
    for o in out:
        assert set(o) == {"turn", "text", "buttons"}
    emergency = [o for o in out if o["turn"] == 2]
    assert "113" in str(emergency[0]["text"])


def test_chat_json_button_by_label_and_session_kept(tmp_path: Path) -> None:
    first = run_chat(tmp_path, [], "--session", "demo")
    buttons = [b for o in first for b in o["buttons"]]  # type: ignore[attr-defined]
    assert buttons, "the welcome offers buttons"
    label = buttons[0]["label"]
    second = run_chat(tmp_path, [label], "--session", "demo")
    assert second and all(o["turn"] == 1 for o in second), "no second welcome for a kept session"
    assert second[0]["text"] != first[0]["text"]


async def test_run_serves_web_chat_on_the_configured_port(tmp_path: Path) -> None:
    port = free_port()
    env = dict(CLEAN, HELPLINE_HTTP_PORT=str(port), XDG_DATA_HOME=str(tmp_path / "data"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert f"http://127.0.0.1:{port}/" in line
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"http://127.0.0.1:{port}/") as resp:
                assert resp.status == 200
            async with http.ws_connect(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.send_json({"type": "message", "id": "1", "text": "chào bạn"})
                reply = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
                assert reply["type"] == "message" and reply["text"]
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 20) == 0, "clean shutdown on SIGTERM"
