"""``helpline chat``: the same engine in a terminal.

On a TTY it is a small REPL (buttons numbered; type the number or the label).
With ``--json`` and piped input, each input line is one message and each bot
message is one JSON line ``{"turn", "text", "buttons"}``; turn 0 is the welcome.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import TextIO

from bot.interfaces import DeliveryError, Failure
from bot.messages import Button, Incoming, Outgoing
from bot.runtime import Runtime
from bot.store import users

CHANNEL = "terminal"


class TerminalSender:
    """Delivers outbox messages (team replies) to the open terminal."""

    channel = CHANNEL

    def __init__(self, printer: TerminalPrinter) -> None:
        self.printer = printer

    async def send(self, address: str, message: Outgoing) -> list[str]:
        if address != self.printer.address:
            raise DeliveryError(
                Failure.CONNECTION, "that terminal session is not open", retry_after=30.0
            )
        self.printer.show(message)
        return [secrets.token_hex(4)]


class TerminalPrinter:
    def __init__(self, address: str, *, as_json: bool, out: TextIO) -> None:
        self.address = address
        self.as_json = as_json
        self.out = out
        self.turn = 0
        self.buttons: list[Button] = []

    def show(self, message: Outgoing) -> None:
        if message.buttons:
            self.buttons = list(message.buttons)
        if self.as_json:
            line = {
                "turn": self.turn,
                "text": message.text,
                "buttons": [{"label": b.label, "payload": b.payload} for b in message.buttons],
            }
            self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            self.out.write("\n" + message.text + "\n")
            for i, b in enumerate(message.buttons, 1):
                self.out.write(f"  [{i}] {b.label}\n")
        self.out.flush()

    def choose(self, line: str) -> Incoming:
        """A typed line: a button (by number, label or payload) or free text."""
        stripped = line.strip()
        for i, b in enumerate(self.buttons, 1):
            if stripped in {b.label, b.payload} or (not self.as_json and stripped == str(i)):
                return Incoming(channel=CHANNEL, address=self.address, payload=b.payload)
        if stripped.startswith("/") and len(stripped) > 1:
            command = stripped[1:].split()[0].lower()
            return Incoming(
                channel=CHANNEL, address=self.address, payload=_command_payload(command)
            )
        return Incoming(channel=CHANNEL, address=self.address, text=line.rstrip("\n"))


def _command_payload(command: str) -> str:
    aliases = {
        "xoa": "erase",
        "xoá": "erase",
        "xóa": "erase",
        "erase": "erase",
        "start": "start",
        "menu": "menu",
        "help": "help",
        "stop": "stop",
        "lang": "lang",
        "privacy": "privacy",
    }
    return "cmd:" + aliases.get(command, command)


async def chat(
    runtime: Runtime, *, session: str | None, as_json: bool, stdin: TextIO, stdout: TextIO
) -> int:
    address = session or secrets.token_hex(16)
    printer = TerminalPrinter(address, as_json=as_json, out=stdout)
    runtime.senders[CHANNEL] = TerminalSender(printer)
    await runtime.start_background(outbox_poll=0.5)
    engine = runtime.engine
    try:
        if not await _known(runtime, address):
            for message in await engine.handle(
                Incoming(channel=CHANNEL, address=address, payload="cmd:start")
            ):
                printer.show(message)
        elif not as_json:
            stdout.write("(conversation resumed)\n")
        loop = asyncio.get_running_loop()
        while True:
            if not as_json:
                stdout.write("> ")
                stdout.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            if not line.strip():
                continue
            printer.turn += 1
            for message in await engine.handle(printer.choose(line)):
                printer.show(message)
            if runtime.worker is not None:
                await runtime.worker.drain_once()
    finally:
        await runtime.close()
    return 0


async def _known(runtime: Runtime, address: str) -> bool:
    keys = runtime.keyring.candidate_user_keys(CHANNEL, address)
    async with runtime.db.transaction() as s:
        return await users.any_known(s, keys)
