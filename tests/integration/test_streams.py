"""Every stream ends with exactly one reason, sync and async, both stream APIs, real SDK over the fake.

The fake streams one text delta per output token (12 by default) and, for the faults that cut a
stream short, does so after 3 deltas. Every test also checks one span per stream and that the
active and stalled gauges are back to 0.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

import anthropic
import pytest
from anthropic_otel import AnthropicInstrumentor, partial_text
from anthropic_otel.fake import FakeAnthropic, reply_text

from tests.polling import wait_for

from . import sdk

MESSAGES = [{"role": "user", "content": "hello"}]
API = pytest.mark.parametrize("api", ["create", "helper"])


def _kwargs(fault: str | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": sdk.MODEL, "max_tokens": 64, "messages": MESSAGES}
    if fault:
        kwargs["extra_headers"] = {"x-fake-faults": fault}
    return kwargs


def read_stream(c: Any, api: str, fault: str | None = None, stop_after: int | None = None) -> tuple[str, Any]:
    """Read a stream the way an app would; returns (text, exception or None)."""
    kwargs = _kwargs(fault)
    texts: list[str] = []

    def sync_read() -> None:
        if api == "create":
            stream = c.messages.create(stream=True, **kwargs)
            with stream:
                for event in stream:
                    if event.type == "content_block_delta":
                        texts.append(event.delta.text)
                        if stop_after is not None and len(texts) >= stop_after:
                            break
        else:
            with c.messages.stream(**kwargs) as stream:
                for text in stream.text_stream:
                    texts.append(text)
                    if stop_after is not None and len(texts) >= stop_after:
                        break

    async def async_read() -> None:
        if api == "create":
            stream = await c.messages.create(stream=True, **kwargs)
            async with stream:
                async for event in stream:
                    if event.type == "content_block_delta":
                        texts.append(event.delta.text)
                        if stop_after is not None and len(texts) >= stop_after:
                            break
        else:
            async with c.messages.stream(**kwargs) as stream:
                async for text in stream.text_stream:
                    texts.append(text)
                    if stop_after is not None and len(texts) >= stop_after:
                        break

    try:
        if isinstance(c, anthropic.AsyncAnthropic):
            asyncio.run(async_read())
        else:
            sync_read()
    except Exception as err:
        return "".join(texts), err
    return "".join(texts), None


def assert_one_stream(telemetry: Any, reason: str) -> None:
    points = telemetry.points("anthropic.streams")
    assert [(p.attributes["anthropic.stream.end_reason"], p.value) for p in points] == [(reason, 1)]
    assert telemetry.value("anthropic.streams.active") == 0
    assert telemetry.value("anthropic.streams.stalled") == 0
    spans = telemetry.spans()
    assert len(spans) == 1, [s.name for s in spans]
    assert spans[0].attributes["anthropic.stream.end_reason"] == reason


@API
def test_complete(telemetry: Any, is_async: bool, api: str) -> None:
    fake = FakeAnthropic()
    text, err = read_stream(sdk.client(fake, is_async), api)
    assert err is None and text == reply_text(12)
    assert_one_stream(telemetry, "complete")
    span = telemetry.spans()[0]
    assert "anthropic.stream.partial_output_tokens" not in span.attributes
    # message_start, ping, content_block_start, 12 deltas, content_block_stop, message_delta, message_stop
    assert span.attributes["anthropic.stream.events"] == 18
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == 1
    assert telemetry.value("gen_ai.client.operation.time_to_first_chunk") == 1


@API
def test_error_event_mid_stream(telemetry: Any, is_async: bool, api: str) -> None:
    fake = FakeAnthropic()
    text, err = read_stream(sdk.client(fake, is_async), api, "error_event")
    assert isinstance(err, anthropic.APIStatusError) and err.status_code == 200
    assert text == reply_text(3)
    assert_one_stream(telemetry, "error")
    assert telemetry.value("anthropic.requests", error__type="overloaded_error") == 1
    assert telemetry.spans()[0].attributes["anthropic.stream.partial_output_tokens"] == 3


@API
def test_connection_dropped(telemetry: Any, is_async: bool, api: str) -> None:
    fake = FakeAnthropic()
    text, err = read_stream(sdk.client(fake, is_async), api, "drop_mid_stream")
    assert err is not None and type(err).__name__ == "RemoteProtocolError"
    assert text == reply_text(3)
    assert_one_stream(telemetry, "unexpected_close")
    assert telemetry.value("anthropic.requests", error__type="connection_error") == 1


@API
def test_clean_close_before_message_stop(telemetry: Any, is_async: bool, api: str) -> None:
    """The SDK raises nothing here: only the instrumentation can tell the stream was cut short."""
    fake = FakeAnthropic()
    text, err = read_stream(sdk.client(fake, is_async), api, "close_before_stop")
    assert err is None and text == reply_text(3)
    assert_one_stream(telemetry, "unexpected_close")
    # Tokens from the last usage seen (message_start): input exact, output a lower bound.
    assert telemetry.value("anthropic.tokens", anthropic__token__type="input") == 2
    assert telemetry.value("anthropic.tokens", anthropic__token__type="output") == 1


@API
def test_read_timeout(telemetry: Any, is_async: bool, api: str) -> None:
    fake = FakeAnthropic()
    text, err = read_stream(sdk.client(fake, is_async, timeout=0.3), api, "hang")
    assert err is not None and type(err).__name__ == "ReadTimeout"
    assert text == reply_text(3)
    assert_one_stream(telemetry, "timeout")
    assert telemetry.value("anthropic.requests", error__type="timeout") == 1


@API
def test_caller_closes_early(telemetry: Any, is_async: bool, api: str) -> None:
    fake = FakeAnthropic()
    text, err = read_stream(sdk.client(fake, is_async), api, stop_after=2)
    assert err is None and text == reply_text(2)
    assert_one_stream(telemetry, "cancelled")
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == 1


def test_asyncio_task_cancelled(telemetry: Any) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, True, timeout=30)

    async def reader(started: asyncio.Event) -> None:
        stream = await c.messages.create(stream=True, **_kwargs("hang"))
        async for event in stream:
            if event.type == "content_block_delta":
                started.set()

    async def main() -> None:
        started = asyncio.Event()
        task = asyncio.create_task(reader(started))
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    fake.close()
    # On SDKs that end their own span when the response closes, the end is recorded by the watchdog.
    wait_for(lambda: bool(telemetry.points("anthropic.streams")), 5.0)
    assert_one_stream(telemetry, "cancelled")


def test_abandoned_stream_found_at_garbage_collection(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async)

    def sync_drop() -> None:
        stream = c.messages.create(stream=True, **_kwargs())
        for i, _event in enumerate(stream):
            if i == 4:
                break  # dropped without close(): the app forgot it

    async def async_drop() -> None:
        stream = await c.messages.create(stream=True, **_kwargs())
        i = 0
        async for _event in stream:
            i += 1
            if i == 4:
                break

    if is_async:
        asyncio.run(async_drop())
    else:
        sync_drop()
    gc.collect()
    # Ends found by the garbage collector are recorded by the watchdog thread, not inside the collection.
    wait_for(lambda: bool(telemetry.points("anthropic.streams")), 5.0)
    assert_one_stream(telemetry, "abandoned")


def test_never_iterated_stream_is_abandoned(telemetry: Any) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    c.messages.create(stream=True, **_kwargs())
    gc.collect()
    # Ends found by the garbage collector are recorded by the watchdog thread, not inside the collection.
    wait_for(lambda: bool(telemetry.points("anthropic.streams")), 5.0)
    assert_one_stream(telemetry, "abandoned")


def test_garbage_collection_records_no_metric_inside_the_collection(
    telemetry: Any, watchdog_held: None
) -> None:
    """A collection can run inside the metrics SDK's locks (it did, in a reader's collect): recording
    from a finalizer there deadlocks the process. The end is queued; the watchdog records it."""
    from anthropic_otel.state import watchdog

    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    c.messages.create(stream=True, **_kwargs())
    gc.collect()
    assert telemetry.points("anthropic.streams") == []
    assert watchdog._collected.qsize() == 1
    watchdog.record_collected_ends()
    assert_one_stream(telemetry, "abandoned")


def test_uninstrument_ends_open_streams_so_no_span_is_left_open(telemetry: Any) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    stream = c.messages.create(stream=True, **_kwargs())
    next(iter(stream))
    AnthropicInstrumentor().uninstrument()
    stream.close()  # the SDK ends its own span when the app closes; ours (older SDKs) ended above
    assert_one_stream(telemetry, "abandoned")
    telemetry.instrument()


def _hanging_reader(c: Any, is_async: bool, api: str, box: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        box["result"] = read_stream(c, api, "hang")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@API
def test_hung_stream_is_visible_while_it_hangs(telemetry: Any, is_async: bool, api: str) -> None:
    telemetry.reinstrument(stream_idle_timeout_s=0.5)
    fake = FakeAnthropic()
    box: dict[str, Any] = {}
    thread = _hanging_reader(sdk.client(fake, is_async, timeout=60), is_async, api, box)
    wait_for(lambda: telemetry.value("anthropic.streams.stalled") == 1, 2.0)
    assert thread.is_alive()  # observe-only: the caller is still blocked
    assert telemetry.value("anthropic.streams.active") == 1
    fake.close()  # the server finally closes the connection
    thread.join(5)
    assert not thread.is_alive()
    assert box["result"] == (reply_text(3), None)
    assert_one_stream(telemetry, "unexpected_close")


@API
def test_enforced_idle_timeout_ends_the_callers_loop(telemetry: Any, is_async: bool, api: str) -> None:
    telemetry.reinstrument(stream_idle_timeout_s=0.5, stream_idle_enforce=True)
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, timeout=60)
    box: dict[str, Any] = {}
    started = time.monotonic()
    thread = _hanging_reader(c, is_async, api, box)
    thread.join(2.0)
    assert not thread.is_alive(), "the caller's loop must end within 2 s"
    assert time.monotonic() - started < 2.0
    text, _err = box["result"]
    assert text == reply_text(3)
    assert_one_stream(telemetry, "timeout")
    fake.close()


def test_partial_text_of_a_dropped_stream(telemetry: Any) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    stream = c.messages.create(stream=True, **_kwargs("drop_mid_stream"))
    with pytest.raises(Exception, match="peer closed"):
        for _event in stream:
            pass
    assert partial_text(stream) == reply_text(3)
    with c.messages.stream(**_kwargs()) as helper:
        helper.until_done()
        assert partial_text(helper) == reply_text(12)
    assert partial_text(object()) == ""


def test_kept_text_is_joined_capped_and_released_with_the_stream(
    telemetry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """partial_text() keeps text-delta events joined into blocks, up to a bound, and lets them go
    with the stream object."""
    import weakref

    from anthropic_otel.state import stream as stream_states

    monkeypatch.setattr(stream_states, "MAX_KEPT_CHARS", 2 * 1024)
    fake = FakeAnthropic(output_tokens=1000)
    c = sdk.client(fake, False)
    stream = c.messages.create(stream=True, **{**_kwargs(), "max_tokens": 5000})
    for _event in stream:
        pass
    state = stream.response._anthropic_otel_stream
    # Whole blocks of KEPT_BLOCK events, until the first block past the bound: nothing kept after it.
    assert state.kept is None
    block_chars = len(state.kept_blocks[0])
    assert len(state.kept_blocks) == -(-2 * 1024 // block_chars)
    kept_deltas = stream_states.KEPT_BLOCK * len(state.kept_blocks)
    assert partial_text(stream) == reply_text(1000)[: len(reply_text(kept_deltas))]
    assert state.deltas == 1000
    gone = weakref.ref(state)
    del stream, state
    gc.collect()
    wait_for(lambda: gone() is None, 5.0)
