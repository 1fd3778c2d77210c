"""A small TCP proxy on 127.0.0.1 to put between the bot and its database,
so a test can make the database unreachable and bring it back.

Usage::

    async with TcpProxy("127.0.0.1", 5432) as proxy:   # listens on proxy.port
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/db"
        ...
        proxy.cut()       # every open connection is reset; new ones are refused
        proxy.pause()     # or: connections stay open but no byte goes through
        proxy.restore()   # back to normal
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

CHUNK = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self.mode = "open"  # "open" | "cut" | "paused"
        self.connections = 0  # accepted since start (diagnostics)
        self._server: asyncio.Server | None = None
        self._pipes: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._reset_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- faults -------------------------------------------------------------

    def cut(self) -> None:
        """The database is gone: reset every connection and refuse new ones."""
        self.mode = "cut"
        self._flowing.set()
        self._reset_all()

    def pause(self) -> None:
        """A network black hole: connections stay open, nothing goes through."""
        self.mode = "paused"
        self._flowing.clear()

    def restore(self) -> None:
        self.mode = "open"
        self._flowing.set()

    # -- plumbing -------------------------------------------------------------

    def _reset_all(self) -> None:
        for client, upstream in list(self._pipes):
            for writer in (client, upstream):
                _reset(writer)
        self._pipes.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.mode == "cut":
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        pair = (writer, up_writer)
        self._pipes.add(pair)
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        finally:
            self._pipes.discard(pair)
            for w in pair:
                with contextlib.suppress(Exception):
                    w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                await self._flowing.wait()
                if self.mode == "cut" or writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a crashed server or a dropped link looks."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    with contextlib.suppress(Exception):
        writer.transport.abort()


__all__ = ["TcpProxy"]
