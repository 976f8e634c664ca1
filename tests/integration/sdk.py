"""Helpers to drive the real `anthropic` SDK over the fake API the same way sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
from anthropic_otel.fake import FakeAnthropic

SDK_VERSION = tuple(int(p) for p in anthropic.__version__.split(".")[:2])
# SDK >= 1.14 traces each call itself; `open_telemetry=False` turns that off per client.
SDK_TRACES = SDK_VERSION >= (1, 14)
MODEL = "claude-sonnet-4-6"


def client(fake: FakeAnthropic, is_async: bool, sdk_tracing: bool = True, **kwargs: Any) -> Any:
    if SDK_TRACES and not sdk_tracing:
        kwargs["open_telemetry"] = False
    return fake.async_client(**kwargs) if is_async else fake.client(**kwargs)


def run(value: Any) -> Any:
    """Await `value` if it is a coroutine (async client), else return it."""
    if asyncio.iscoroutine(value):
        return asyncio.run(value)
    return value


def create(c: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("max_tokens", 64)
    return run(c.messages.create(**kwargs))


def stream_text(c: Any, **kwargs: Any) -> str:
    """Read a whole `messages.stream(...)` and return its text."""
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("max_tokens", 64)
    if isinstance(c, anthropic.AsyncAnthropic):

        async def read() -> str:
            async with c.messages.stream(**kwargs) as stream:
                return "".join([t async for t in stream.text_stream])

        return str(asyncio.run(read()))
    with c.messages.stream(**kwargs) as stream:
        return "".join(stream.text_stream)


def create_stream_events(c: Any, **kwargs: Any) -> list[str]:
    """Iterate `messages.create(stream=True)` to the end and return the event types."""
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("max_tokens", 64)
    if isinstance(c, anthropic.AsyncAnthropic):

        async def read() -> list[str]:
            stream = await c.messages.create(stream=True, **kwargs)
            return [event.type async for event in stream]

        return list(asyncio.run(read()))
    return [event.type for event in c.messages.create(stream=True, **kwargs)]
