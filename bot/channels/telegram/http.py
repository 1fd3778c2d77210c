"""PTB's requests over aiohttp's client instead of httpx.

A turn's sends went a third of their CPU through httpx/httpcore/anyio: per
request, httpcore asks every idle pooled connection whether it has expired
(a ``getpeername`` and a ``poll`` each) and writes headers and body in two
calls. aiohttp, already in the process for the webhook and Zalo, sends the
same form-encoded (or multipart) request for less. Same timeouts and the
same errors PTB raises (``TimedOut``, ``NetworkError``); proxies from the
environment are honoured as httpx did.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

#: As PTB's HTTPXRequest: seconds, and connections kept open to the Bot API.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_SIZE = 256


class AiohttpRequest(BaseRequest):
    """One aiohttp session per PTB request object (PTB uses one for
    ``getUpdates`` and one for everything else)."""

    def __init__(self, pool_size: int = POOL_SIZE, read_timeout: float | None = READ_TIMEOUT):
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                trust_env=True,
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = CONNECT_TIMEOUT if isinstance(connect_timeout, DefaultValue) else connect_timeout
        write = write_timeout
        if isinstance(write, DefaultValue):
            write = MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT
        # aiohttp has no write timeout of its own: the send of the body falls
        # under sock_read's clock only once it is sent, so bound the whole call.
        total = None
        if read is not None and write is not None and connect is not None:
            total = read + write + connect
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            data = request_data.json_parameters
            if files:
                form = aiohttp.FormData()
                for name, value in data.items():
                    form.add_field(name, value)
                for name, (filename, content, kind) in files.items():
                    form.add_field(name, content, filename=filename, content_type=kind)
                data = form
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as res:
                return res.status, await res.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
