"""The real `anthropic` SDK (whatever version is installed) against the fake API: in-process transports,
sync and async, every fault the instrumentation must survive, and one run over real HTTP via `serve`."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import anthropic
import pytest
from anthropic_otel.fake import FakeAnthropic, Fault
from anthropic_otel.fake.transport import resolve_lib

from tests.polling import wait_for

from .served import fake_over_http

HTTP = importlib.import_module(resolve_lib())  # httpx2 for SDK >= 1.0, httpx before
TEXT = "This is a fake reply. This is a fake reply."  # the default 12-token reply
HI = [{"role": "user", "content": "Hi"}]  # 2 chars -> 1 input token
ARGS: dict[str, Any] = {"model": "claude-test", "max_tokens": 100, "messages": HI}


def faults(spec: str) -> dict[str, Any]:
    return {"extra_headers": {"x-fake-faults": spec}}


async def await_for(predicate: Callable[[], bool], deadline_s: float = 2.0) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.005)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    f = FakeAnthropic()
    yield f
    f.close()


# -- plain calls -------------------------------------------------------------------------------------


def test_create_returns_message_with_usage(fake: FakeAnthropic) -> None:
    msg = fake.client().messages.create(**ARGS)
    assert isinstance(msg, anthropic.types.Message)
    assert msg.content[0].text == TEXT and msg.stop_reason == "end_turn"  # type: ignore[union-attr]
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (1, 12)
    assert fake.sent_statuses[200] == 1


def test_create_reports_cache_write_then_read(fake: FakeAnthropic) -> None:
    system = [{"type": "text", "text": "S" * 400, "cache_control": {"type": "ephemeral"}}]  # 100 tokens
    client = fake.client()
    first = client.messages.create(system=system, **ARGS)
    second = client.messages.create(system=system, **ARGS)
    assert (first.usage.cache_creation_input_tokens, first.usage.cache_read_input_tokens) == (100, 0)
    assert (second.usage.cache_creation_input_tokens, second.usage.cache_read_input_tokens) == (0, 100)
    assert first.usage.input_tokens == second.usage.input_tokens == 1


async def test_async_create_returns_message_with_usage(fake: FakeAnthropic) -> None:
    msg = await fake.async_client().messages.create(**ARGS)
    assert msg.content[0].text == TEXT
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (1, 12)


def test_stream_helper_text_and_final_usage(fake: FakeAnthropic) -> None:
    with fake.client().messages.stream(**ARGS) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == TEXT
    assert (final.usage.input_tokens, final.usage.output_tokens) == (1, 12)
    assert final.stop_reason == "end_turn"
    assert fake.log[0].stream is True


async def test_async_stream_helper_text_and_final_usage(fake: FakeAnthropic) -> None:
    async with fake.async_client().messages.stream(**ARGS) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == TEXT
    assert (final.usage.input_tokens, final.usage.output_tokens) == (1, 12)


def test_five_hundred_event_stream(fake: FakeAnthropic) -> None:
    stream = fake.client().messages.create(
        stream=True, **{**ARGS, "max_tokens": 1024}, extra_headers={"x-fake-output-tokens": "500"}
    )
    types = [event.type for event in stream]
    assert types.count("content_block_delta") == 500 and len(types) == 505  # ping is not surfaced


def test_count_tokens(fake: FakeAnthropic) -> None:
    client = fake.client()
    counter = getattr(client.messages, "count_tokens", None) or client.beta.messages.count_tokens
    result = counter(model="claude-test", messages=[{"role": "user", "content": "Hello there"}])
    assert result.input_tokens == 3  # ceil(11 / 4)
    assert fake.log[0].path == "/v1/messages/count_tokens"


# -- retries -----------------------------------------------------------------------------------------


def test_529_529_ok_succeeds_on_third_attempt(fake: FakeAnthropic) -> None:
    msg = fake.client(max_retries=2).messages.create(**ARGS, **faults("529,529,ok"))
    assert msg.usage.output_tokens == 12
    assert [(r.status, r.retry_count) for r in fake.log] == [(529, 0), (529, 1), (200, 2)]


async def test_async_529_529_ok_succeeds_on_third_attempt(fake: FakeAnthropic) -> None:
    msg = await fake.async_client(max_retries=2).messages.create(**ARGS, **faults("529,529,ok"))
    assert msg.usage.output_tokens == 12
    assert [(r.status, r.retry_count) for r in fake.log] == [(529, 0), (529, 1), (200, 2)]


def test_529_three_times_raises_status_error(fake: FakeAnthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        fake.client(max_retries=2).messages.create(**ARGS, **faults("529,529,529"))
    assert info.value.status_code == 529
    assert isinstance(info.value, anthropic.APIStatusError)
    assert fake.sent_statuses[529] == 3 and len(fake.log) == 3


def test_enqueued_faults_apply_across_calls(fake: FakeAnthropic) -> None:
    fake.enqueue(Fault.RATE_LIMITED, Fault.SERVER_ERROR)
    fake.client(max_retries=2).messages.create(**ARGS)
    assert [r.status for r in fake.log] == [429, 500, 200]


def test_timeout_fault_raises_api_timeout_error(fake: FakeAnthropic) -> None:
    with pytest.raises(anthropic.APITimeoutError):
        fake.client(max_retries=0).messages.create(**ARGS, **faults("timeout"))
    assert len(fake.log) == 1 and fake.log[0].status is None


def test_timeouts_are_retried(fake: FakeAnthropic) -> None:
    # No response means no retry-after-ms: the SDK backs off ~0.5 s, so one retry only.
    msg = fake.client(max_retries=1).messages.create(**ARGS, **faults("timeout,ok"))
    assert msg.usage.output_tokens == 12 and [r.status for r in fake.log] == [None, 200]


def test_connection_reset_raises_connection_error(fake: FakeAnthropic) -> None:
    with pytest.raises(anthropic.APIConnectionError) as info:
        fake.client(max_retries=0).messages.create(**ARGS, **faults("connection_reset"))
    assert not isinstance(info.value, anthropic.APITimeoutError)
    assert isinstance(info.value.__cause__, HTTP.RemoteProtocolError)


# -- stream faults -----------------------------------------------------------------------------------


def test_drop_mid_stream_raises_remote_protocol_error(fake: FakeAnthropic) -> None:
    received: list[str] = []
    with pytest.raises(HTTP.RemoteProtocolError):
        with fake.client().messages.stream(**ARGS, **faults("drop_mid_stream")) as stream:
            for text in stream.text_stream:
                received.append(text)
    assert "".join(received) == "This is a"  # three deltas arrived before the drop


async def test_async_drop_mid_stream_raises_remote_protocol_error(fake: FakeAnthropic) -> None:
    with pytest.raises(HTTP.RemoteProtocolError):
        async with fake.async_client().messages.stream(**ARGS, **faults("drop_mid_stream")) as stream:
            async for _ in stream.text_stream:
                pass


def test_drop_in_non_stream_body_is_a_connection_error(fake: FakeAnthropic) -> None:
    with pytest.raises(anthropic.APIConnectionError):
        fake.client(max_retries=0).messages.create(**ARGS, **faults("drop_mid_stream"))


def test_close_before_stop_ends_without_exception(fake: FakeAnthropic) -> None:
    with fake.client().messages.stream(**ARGS, **faults("close_before_stop")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "This is a"
    assert final.stop_reason is None and final.usage.output_tokens == 1  # only message_start's count


def test_error_event_raises_status_error(fake: FakeAnthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        with fake.client().messages.stream(**ARGS, **faults("error_event")) as stream:
            for _ in stream.text_stream:
                pass
    assert info.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert info.value.status_code == 200  # the error arrived inside a 200 stream


async def test_async_error_event_raises_status_error(fake: FakeAnthropic) -> None:
    with pytest.raises(anthropic.APIStatusError):
        async with fake.async_client().messages.stream(**ARGS, **faults("error_event")) as stream:
            async for _ in stream.text_stream:
                pass


def test_malformed_json_raises_decode_error(fake: FakeAnthropic) -> None:
    with pytest.raises(ValueError):
        fake.client().messages.create(**ARGS, **faults("malformed_json"))


def test_hang_released_by_closing_from_another_thread(fake: FakeAnthropic) -> None:
    stream = fake.client().messages.create(stream=True, **ARGS, **faults("hang"))
    closer = threading.Thread(target=lambda: (wait_for(lambda: fake.waiting == 1), stream.close()))
    start = time.monotonic()
    closer.start()
    types = [event.type for event in stream]  # blocks in the hang until the other thread closes
    closer.join()
    assert time.monotonic() - start < 2.0
    assert types == ["message_start", "content_block_start"] + ["content_block_delta"] * 3
    assert fake.waiting == 0


def test_hang_released_by_fake_close(fake: FakeAnthropic) -> None:
    stream = fake.client().messages.create(stream=True, **ARGS, **faults("hang"))
    closer = threading.Thread(target=lambda: (wait_for(lambda: fake.waiting == 1), fake.close()))
    closer.start()
    assert len(list(stream)) == 5
    closer.join()


def test_hang_released_by_read_timeout(fake: FakeAnthropic) -> None:
    start = time.monotonic()
    with pytest.raises(HTTP.ReadTimeout):
        with fake.client(timeout=0.3).messages.stream(**ARGS, **faults("hang")) as stream:
            for _ in stream.text_stream:
                pass
    assert 0.3 <= time.monotonic() - start < 2.0


def test_non_stream_hang_is_an_api_timeout(fake: FakeAnthropic) -> None:
    with pytest.raises(anthropic.APITimeoutError):
        fake.client(timeout=0.3, max_retries=0).messages.create(**ARGS, **faults("hang"))


async def test_async_hang_released_by_closing_the_stream(fake: FakeAnthropic) -> None:
    stream = await fake.async_client().messages.create(stream=True, **ARGS, **faults("hang"))

    async def consume() -> list[str]:
        return [event.type async for event in stream]

    task = asyncio.ensure_future(consume())
    await await_for(lambda: fake.waiting == 1)
    await stream.close()
    types = await asyncio.wait_for(task, 2.0)
    assert types[-1] == "content_block_delta" and len(types) == 5


async def test_async_hang_released_by_read_timeout(fake: FakeAnthropic) -> None:
    with pytest.raises(HTTP.ReadTimeout):
        async with fake.async_client(timeout=0.3).messages.stream(**ARGS, **faults("hang")) as stream:
            async for _ in stream.text_stream:
                pass


def test_slow_first_byte_delays_the_stream(fake: FakeAnthropic) -> None:
    start = time.monotonic()
    headers = {"x-fake-faults": "slow_first_byte", "x-fake-first-byte-delay": "0.2"}
    with fake.client().messages.stream(**ARGS, extra_headers=headers) as stream:
        assert "".join(stream.text_stream) == TEXT
    assert time.monotonic() - start >= 0.2


# -- over real HTTP ----------------------------------------------------------------------------------


def test_real_server_over_http() -> None:
    fake = FakeAnthropic()
    with fake_over_http(fake) as url:
        # Closed at the end: its pooled sockets, some cut by faults, must not be left to the collector.
        with anthropic.Anthropic(api_key="test", base_url=url, max_retries=2) as client:
            msg = client.messages.create(**ARGS)
            assert msg.content[0].text == TEXT and msg.usage.output_tokens == 12  # type: ignore[union-attr]
            with client.messages.stream(**ARGS) as stream:
                assert "".join(stream.text_stream) == TEXT
            assert client.messages.create(**ARGS, **faults("529,ok")).usage.output_tokens == 12
            with pytest.raises(HTTP.RemoteProtocolError):
                with client.messages.stream(**ARGS, **faults("drop_mid_stream")) as stream:
                    for _ in stream.text_stream:
                        pass
            with pytest.raises(anthropic.APIConnectionError):
                client.with_options(max_retries=0).messages.create(**ARGS, **faults("connection_reset"))
            quick = client.with_options(timeout=0.3, max_retries=0)
            with pytest.raises(anthropic.APITimeoutError):
                quick.messages.create(**ARGS, **faults("timeout"))
            start = time.monotonic()
            with pytest.raises(HTTP.ReadTimeout):
                with quick.messages.stream(**ARGS, **faults("hang")) as stream:
                    for _ in stream.text_stream:
                        pass
            assert time.monotonic() - start < 2.0
        assert [r.status for r in fake.log] == [200, 200, 529, 200, 200, None, None, 200]
