"""In-process transports that serve a `FakeAnthropic` to `httpx` (anthropic SDK < 1.0) or its fork
`httpx2` (SDK >= 1.0), sync and async, streaming the body chunk by chunk so that drops, hangs and read
timeouts happen mid-iteration as on a real socket; the HTTP library is imported lazily because a given
environment has only one of them, and `make_client` builds a real `anthropic` client wired to the fake."""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.util
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .engine import Abort, Chunk, FakeAnthropic, Hang, Pause

LIBS = ("httpx2", "httpx")
# The messages real httpx uses for these situations, so logs read the same as in production.
DROP_MESSAGE = "peer closed connection without sending complete message body (incomplete chunked read)"
RESET_MESSAGE = "Server disconnected without sending a response."
TIMEOUT_MESSAGE = "timed out"
_EXTENSIONS = {"http_version": b"HTTP/1.1"}


@functools.cache
def resolve_lib(lib: str = "auto") -> str:
    """`"httpx"` or `"httpx2"`; `"auto"` picks the one the installed `anthropic` SDK imports."""
    if lib in LIBS:
        return lib
    if lib != "auto":
        raise ValueError(f"lib must be 'auto', 'httpx' or 'httpx2', not {lib!r}")
    try:
        base_client = importlib.import_module("anthropic._base_client")
    except ImportError:
        base_client = None
    for name in LIBS:
        if base_client is not None and hasattr(base_client, name):
            return name
    for name in LIBS:
        if importlib.util.find_spec(name) is not None:
            return name
    raise ImportError("neither httpx2 nor httpx is installed")


def _read_timeout(request: Any) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        return float(value) if value is not None else None
    return None


@functools.cache
def _classes(libname: str) -> tuple[type[Any], type[Any]]:
    """Build (sync transport, async transport) classes for one HTTP library; they must subclass that
    library's base classes because its client asserts `isinstance` on the response stream."""
    lib = importlib.import_module(libname)
    # Typed Any: the exception classes take a keyword-only `request`.
    read_timeout_exc: Any = lib.ReadTimeout
    protocol_exc: Any = lib.RemoteProtocolError

    class SyncBody(lib.SyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(
            self, fake: FakeAnthropic, chunks: Iterator[Chunk], timeout: float | None, request: Any
        ) -> None:
            self._fake = fake
            self._chunks = chunks
            self._timeout = timeout
            self._request = request
            self._closed = False
            # Created only when a fault needs to wait: the hot path stays allocation-light.
            self._event: threading.Event | None = None

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self._chunks:
                if self._closed:
                    return
                if chunk.__class__ is bytes:
                    yield chunk
                elif isinstance(chunk, Pause):
                    if not self._wait(chunk.seconds):
                        return
                elif isinstance(chunk, Hang):
                    self._wait(None)
                    return
                else:
                    raise protocol_exc(DROP_MESSAGE, request=self._request)

        def _wait(self, seconds: float | None) -> bool:
            """Wait `seconds` (None: forever) bounded by the read timeout; False if closed meanwhile."""
            event = self._event = threading.Event()
            if self._closed:  # close() may have run before the event existed
                return False
            remove = self._fake.add_close_callback(event.set)
            try:
                limit = (
                    self._timeout
                    if seconds is None or (self._timeout is not None and self._timeout < seconds)
                    else seconds
                )
                released = event.wait(limit)
            finally:
                remove()
            if released:
                return False
            if seconds is None or (self._timeout is not None and self._timeout < seconds):
                raise read_timeout_exc(TIMEOUT_MESSAGE, request=self._request)
            return True

        def close(self) -> None:
            self._closed = True
            event = self._event
            if event is not None:
                event.set()

    class AsyncBody(lib.AsyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(
            self, fake: FakeAnthropic, chunks: Iterator[Chunk], timeout: float | None, request: Any
        ) -> None:
            self._fake = fake
            self._chunks = chunks
            self._timeout = timeout
            self._request = request
            self._closed = False
            self._event: asyncio.Event | None = None

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in self._chunks:
                if self._closed:
                    return
                if chunk.__class__ is bytes:
                    yield chunk
                elif isinstance(chunk, Pause):
                    if not await self._wait(chunk.seconds):
                        return
                elif isinstance(chunk, Hang):
                    await self._wait(None)
                    return
                else:
                    raise protocol_exc(DROP_MESSAGE, request=self._request)

        async def _wait(self, seconds: float | None) -> bool:
            event = self._event = asyncio.Event()
            if self._closed:
                return False
            loop = asyncio.get_running_loop()

            def wake() -> None:
                # `close()` may come from another thread; asyncio.Event is not thread-safe.
                try:
                    loop.call_soon_threadsafe(event.set)
                except RuntimeError:  # loop already closed: nobody is waiting any more
                    pass

            remove = self._fake.add_close_callback(wake)
            too_slow = seconds is None or (self._timeout is not None and self._timeout < seconds)
            limit = self._timeout if too_slow else seconds
            try:
                await asyncio.wait_for(event.wait(), limit)
                return False
            except asyncio.TimeoutError:
                if too_slow:
                    raise read_timeout_exc(TIMEOUT_MESSAGE, request=self._request) from None
                return True
            finally:
                remove()

        async def aclose(self) -> None:
            self._closed = True
            event = self._event
            if event is not None:
                event.set()

    def response(fake: FakeAnthropic, request: Any, body_cls: type[Any]) -> Any:
        fr = fake.handle(request.method, request.url.path, request.headers, request.content)
        if fr.abort is Abort.READ_TIMEOUT:
            raise read_timeout_exc(TIMEOUT_MESSAGE, request=request)
        if fr.abort is Abort.CONNECTION_RESET:
            raise protocol_exc(RESET_MESSAGE, request=request)
        body = body_cls(fake, fr.chunks, _read_timeout(request), request)
        return lib.Response(fr.status, headers=fr.headers, stream=body, extensions=_EXTENSIONS)

    class FakeTransport(lib.BaseTransport):  # type: ignore[misc,name-defined]
        """Serves a FakeAnthropic in-process (sync)."""

        def __init__(self, fake: FakeAnthropic) -> None:
            self.fake = fake

        def handle_request(self, request: Any) -> Any:
            request.read()
            return response(self.fake, request, SyncBody)

    class AsyncFakeTransport(lib.AsyncBaseTransport):  # type: ignore[misc,name-defined]
        """Serves a FakeAnthropic in-process (async)."""

        def __init__(self, fake: FakeAnthropic) -> None:
            self.fake = fake

        async def handle_async_request(self, request: Any) -> Any:
            await request.aread()
            return response(self.fake, request, AsyncBody)

    return FakeTransport, AsyncFakeTransport


def make_transport(fake: FakeAnthropic, lib: str = "auto") -> Any:
    """A `<lib>.BaseTransport` serving `fake` (lib: "auto", "httpx" or "httpx2")."""
    return _classes(resolve_lib(lib))[0](fake)


def make_async_transport(fake: FakeAnthropic, lib: str = "auto") -> Any:
    """A `<lib>.AsyncBaseTransport` serving `fake`."""
    return _classes(resolve_lib(lib))[1](fake)


def make_client(
    fake: FakeAnthropic, anthropic_cls: type[Any] | None = None, *, is_async: bool = False, **kwargs: Any
) -> Any:
    """A real `anthropic.Anthropic` / `AsyncAnthropic` (or `anthropic_cls`) whose HTTP client uses the fake.

    Defaults: api_key "test-key", base_url "http://fake.local"; everything else (max_retries, timeout,
    default_headers, ...) passes through. An explicit `http_client` wins over the fake transport."""
    import anthropic

    cls = anthropic_cls or (anthropic.AsyncAnthropic if is_async else anthropic.Anthropic)
    if "http_client" not in kwargs:
        # DefaultHttpxClient keeps the SDK's own defaults (timeouts, limits, redirects); it exists in every
        # SDK version this package supports (>= 0.40).
        if is_async:
            kwargs["http_client"] = anthropic.DefaultAsyncHttpxClient(transport=make_async_transport(fake))
        else:
            kwargs["http_client"] = anthropic.DefaultHttpxClient(transport=make_transport(fake))
    kwargs.setdefault("api_key", "test-key")
    kwargs.setdefault("base_url", "http://fake.local")
    return cls(**kwargs)
