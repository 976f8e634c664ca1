"""A raw ASGI app serving a `FakeAnthropic` over real HTTP: SSE bodies go out one chunked-encoding
chunk per event, pauses sleep, hangs wait for the client to disconnect (or the fake to close), and drops
abort the socket so the client sees a connection closed without the terminating chunk."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, MutableMapping
from typing import Any, Callable

from .engine import Abort, FakeAnthropic, Hang, Pause

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Dropped(Exception):
    """Raised to make the server close the connection when the socket cannot be aborted directly."""


class FakeASGIApp:
    """ASGI 3 application wrapping `fake`; `app = FakeASGIApp(FakeAnthropic())`."""

    def __init__(self, fake: FakeAnthropic) -> None:
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        fr = self.fake.handle(scope["method"], scope["path"], headers, bytes(body))

        if fr.abort is Abort.READ_TIMEOUT:
            # The server got the request and goes silent: the client's read timeout decides.
            await self._wait_released(receive)
            return
        if fr.abort is Abort.CONNECTION_RESET:
            await _drop(send)
            return

        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fr.headers]
        await send({"type": "http.response.start", "status": fr.status, "headers": raw_headers})
        for chunk in fr.chunks:
            if isinstance(chunk, bytes):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            elif isinstance(chunk, Pause):
                await asyncio.sleep(chunk.seconds)
            elif isinstance(chunk, Hang):
                await self._wait_released(receive)
                break
            else:
                await _drop(send)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _wait_released(self, receive: Receive) -> None:
        """Block until the client disconnects or the fake is closed, without polling."""
        loop = asyncio.get_running_loop()
        released = asyncio.Event()

        def wake() -> None:
            try:
                loop.call_soon_threadsafe(released.set)
            except RuntimeError:  # the server's loop is gone
                pass

        remove = self.fake.add_close_callback(wake)

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [asyncio.ensure_future(released.wait()), asyncio.ensure_future(disconnected())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            remove()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _drop(send: Send) -> None:
    """Abort the TCP connection mid-response.

    ASGI has no "abort" message, so reach uvicorn's protocol object behind its bound `send` and abort its
    transport (no final chunk, no 500); with another server, raising makes it close the connection."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise _Dropped("fake: connection dropped")
    transport.abort()
    # Let connection_lost run so the server marks the cycle disconnected and does not complain.
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(fake: FakeAnthropic) -> FakeASGIApp:
    """The ASGI app for `fake`."""
    return FakeASGIApp(fake)
