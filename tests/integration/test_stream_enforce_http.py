"""Enforced idle timeout over a real socket: the caller's loop ends soon after the server goes silent.

The fake API is served by uvicorn on localhost; it streams 3 text deltas, then goes silent for
`SILENCE_S` (15 s) before it ends the body. With a 0.5 s idle threshold and enforcement on, the
watchdog must end the stream `timeout` and unblock the caller's read within 2 s of the last delta,
sync and async, `messages.create(stream=True)` and `messages.stream()`: a blocked sync read on a
real connection only returns if the connection's socket is shut down, closing the response is not
enough. Run with `-s` to see the measured times.
"""

from __future__ import annotations

import asyncio
import importlib
import select
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic_otel import partial_text
from anthropic_otel.fake import FakeAnthropic, reply_text
from anthropic_otel.fake.transport import resolve_lib
from anthropic_otel.state._sockets import response_socket
from anthropic_otel.state.closing import closer

from . import sdk
from .served import fake_over_http

HTTP = importlib.import_module(resolve_lib())  # httpx2 for SDK >= 1.0, httpx before
SILENCE_S = 15.0  # the server's own silence: the old code kept the caller blocked this long
BOUND_S = 2.0  # the spec: the caller's loop ends within 2 s of the silence
ARGS: dict[str, Any] = {
    "model": sdk.MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hello"}],
    "extra_headers": {"x-fake-faults": "hang"},  # 3 deltas, then silence
}
API = pytest.mark.parametrize("api", ["create", "helper"])


@pytest.fixture
def base_url() -> Iterator[str]:
    """The fake API on a fresh localhost port; its hang ends by itself after SILENCE_S.

    Teardown does not wait for that silence: closing the fake releases a hang at once."""
    fake = FakeAnthropic()
    silence_ends = threading.Timer(SILENCE_S, fake.close)
    silence_ends.daemon = True
    silence_ends.start()
    try:
        with fake_over_http(fake) as url:  # its shutdown closes the fake first
            yield url
    finally:
        silence_ends.cancel()


@pytest.fixture
def enforcing(telemetry: Any) -> Any:
    telemetry.reinstrument(stream_idle_timeout_s=0.5, stream_idle_enforce=True)
    return telemetry


class Reading:
    """What the caller saw: text, when the last delta arrived, when its loop ended, what it raised."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.last_delta_at = 0.0
        self.ended_at = 0.0
        self.error: BaseException | None = None
        self.stream: Any = None

    def delta(self, text: str) -> None:
        self.texts.append(text)
        self.last_delta_at = time.monotonic()

    @property
    def after_silence_s(self) -> float:
        return self.ended_at - self.last_delta_at


def _read_sync(base_url: str, api: str) -> Reading:
    seen = Reading()
    with anthropic.Anthropic(api_key="test", base_url=base_url, max_retries=0, timeout=60) as client:
        try:
            if api == "create":
                with client.messages.create(stream=True, **ARGS) as stream:
                    seen.stream = stream
                    for event in stream:
                        if event.type == "content_block_delta":
                            seen.delta(event.delta.text)
            else:
                with client.messages.stream(**ARGS) as helper:
                    seen.stream = helper
                    for text in helper.text_stream:
                        seen.delta(text)
        except Exception as err:
            seen.error = err
        seen.ended_at = time.monotonic()
    return seen


async def _read_async(base_url: str, api: str) -> Reading:
    seen = Reading()
    async with anthropic.AsyncAnthropic(
        api_key="test", base_url=base_url, max_retries=0, timeout=60
    ) as client:
        try:
            if api == "create":
                stream = await client.messages.create(stream=True, **ARGS)
                seen.stream = stream
                async with stream:
                    async for event in stream:
                        if event.type == "content_block_delta":
                            seen.delta(event.delta.text)
            else:
                async with client.messages.stream(**ARGS) as helper:
                    seen.stream = helper
                    async for text in helper.text_stream:
                        seen.delta(text)
        except Exception as err:
            seen.error = err
        seen.ended_at = time.monotonic()
    return seen


@API
def test_enforced_idle_timeout_ends_the_callers_loop_over_http(
    enforcing: Any, base_url: str, is_async: bool, api: str
) -> None:
    seen = asyncio.run(_read_async(base_url, api)) if is_async else _read_sync(base_url, api)
    print(
        f"\n{anthropic.__version__} {'async' if is_async else 'sync'} {api}: loop ended"
        f" {seen.after_silence_s:.3f} s after the last delta, raising {type(seen.error).__name__}"
    )
    assert seen.after_silence_s < BOUND_S
    assert "".join(seen.texts) == reply_text(3)
    assert partial_text(seen.stream) == reply_text(3)
    # A broken read: the SDK lets the HTTP library's error through, as for a dropped connection.
    assert type(seen.error) is (HTTP.ReadError if is_async else HTTP.RemoteProtocolError), repr(seen.error)
    points = enforcing.points("anthropic.streams")
    assert [(p.attributes["anthropic.stream.end_reason"], p.value) for p in points] == [("timeout", 1)]
    assert enforcing.value("anthropic.streams.active") == 0
    assert enforcing.value("anthropic.streams.stalled") == 0
    spans = enforcing.spans()
    assert len(spans) == 1, [s.name for s in spans]
    assert spans[0].attributes["anthropic.stream.end_reason"] == "timeout"


def test_a_stream_read_to_its_end_leaves_its_pooled_connection_alone(telemetry: Any, base_url: str) -> None:
    """The watchdog can decide to enforce just as the body ends and its connection goes back to the
    pool for the next call: closing such a response must not shut that connection down."""
    with anthropic.Anthropic(api_key="test", base_url=base_url, max_retries=0) as client:
        with client.messages.create(stream=True, **{**ARGS, "extra_headers": {}}) as stream:
            assert len(list(stream)) == 2 + 12 + 3  # two starts, 12 deltas, three ends (no ping)
        sock = response_socket(stream.response)
        assert sock is not None
        closer(stream.response)()  # what the watchdog would run
        # Still connected and idle: a shut-down socket would read as at end of file at once.
        assert select.select([sock], [], [], 0) == ([], [], [])
        again = client.messages.create(stream=True, **{**ARGS, "extra_headers": {}})
        with again:
            assert response_socket(again.response) is sock  # the same pooled connection served it
            assert sum(1 for _ in again) == 17
