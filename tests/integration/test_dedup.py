"""Duplicate requests through the real SDK over the fake API: what is a duplicate, what is not.

The default store (memory) answers when the call starts, so every count here is exact at once.
A duplicate's billed tokens are what its own response's usage says: all input (cache included)
plus output.
"""

from __future__ import annotations

from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic

from . import sdk

REQUEST: dict[str, Any] = {
    "system": "Classify the ticket as billing, shipping or other.",
    "messages": [{"role": "user", "content": "My parcel never arrived."}],
}


def billed(message: Any) -> int:
    u = message.usage
    return int(
        u.input_tokens
        + (u.cache_creation_input_tokens or 0)
        + (u.cache_read_input_tokens or 0)
        + u.output_tokens
    )


def duplicates(telemetry: Any) -> list[tuple[dict[str, Any], float]]:
    return [(dict(p.attributes), p.value) for p in telemetry.points("anthropic.duplicates")]


def duplicate_tokens(telemetry: Any) -> list[tuple[dict[str, Any], float]]:
    return [(dict(p.attributes), p.value) for p in telemetry.points("anthropic.duplicates.tokens")]


def states_on_spans(telemetry: Any) -> list[Any]:
    return [s.attributes.get("anthropic.duplicate.state") for s in telemetry.spans()]


def test_the_same_request_sent_again_is_a_completed_duplicate(
    telemetry: Any, is_async: bool, sdk_tracing: bool
) -> None:
    c = sdk.client(FakeAnthropic(), is_async, sdk_tracing)
    sdk.create(c, **REQUEST)
    # Another user and a per-call header: neither changes the answer, so it is billed for nothing.
    again = sdk.create(c, metadata={"user_id": "u-2"}, extra_headers={"x-request-tag": "retry"}, **REQUEST)
    completed = {"gen_ai.request.model": sdk.MODEL, "anthropic.duplicate.state": "completed"}
    assert duplicates(telemetry) == [(completed, 1)]
    assert billed(again) > 0
    assert duplicate_tokens(telemetry) == [(completed, billed(again))]
    assert states_on_spans(telemetry) == [None, "completed"]


def test_sdk_retries_of_one_call_are_attempts_not_duplicates(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=2)
    sdk.create(c, extra_headers={"x-fake-faults": "overloaded,overloaded,ok"}, **REQUEST)
    assert len(fake.log) == 3
    assert telemetry.value("anthropic.attempts") == 3
    assert duplicates(telemetry) == []
    assert duplicate_tokens(telemetry) == []


def test_a_copy_sent_while_the_first_is_in_flight_is_an_in_flight_duplicate(telemetry: Any) -> None:
    c = sdk.client(FakeAnthropic(), False)
    first = c.messages.create(model=sdk.MODEL, max_tokens=64, stream=True, **REQUEST)  # open, not read yet
    copy = sdk.create(c, **REQUEST)
    in_flight = {"gen_ai.request.model": sdk.MODEL, "anthropic.duplicate.state": "in_flight"}
    assert duplicates(telemetry) == [(in_flight, 1)]
    assert duplicate_tokens(telemetry) == [(in_flight, billed(copy))]
    with first:
        for _event in first:
            pass
    # The first one completes afterwards: it was the original, never a duplicate.
    assert duplicates(telemetry) == [(in_flight, 1)]


def test_a_failed_call_sent_again_is_not_a_duplicate(telemetry: Any, is_async: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async, max_retries=0)
    with pytest.raises(Exception, match="overloaded"):
        sdk.create(c, extra_headers={"x-fake-faults": "overloaded"}, **REQUEST)
    sdk.create(c, **REQUEST)  # the app's own retry of a call that was never answered
    assert duplicates(telemetry) == []


def test_a_stream_that_dropped_is_not_remembered_as_completed(telemetry: Any) -> None:
    c = sdk.client(FakeAnthropic(), False)
    with pytest.raises(Exception, match="peer closed"):
        sdk.stream_text(c, extra_headers={"x-fake-faults": "drop_mid_stream"}, **REQUEST)
    sdk.stream_text(c, **REQUEST)
    assert duplicates(telemetry) == []


def test_streaming_or_not_is_the_same_request_but_stop_sequences_or_extra_body_are_not(
    telemetry: Any,
) -> None:
    c = sdk.client(FakeAnthropic(), False)
    sdk.stream_text(c, **REQUEST)
    sdk.create(c, **REQUEST)  # the same answer, delivered differently: a duplicate
    # Each may answer differently: not duplicates (extra_body is sent in the body, so it counts).
    sdk.create(c, stop_sequences=["END"], **REQUEST)
    sdk.create(c, extra_body={"top_k": 5}, **REQUEST)
    completed = {"gen_ai.request.model": sdk.MODEL, "anthropic.duplicate.state": "completed"}
    assert duplicates(telemetry) == [(completed, 1)]


def test_dedup_off_counts_nothing(telemetry: Any) -> None:
    telemetry.reinstrument(dedup="off")
    c = sdk.client(FakeAnthropic(), False)
    sdk.create(c, **REQUEST)
    sdk.create(c, **REQUEST)
    assert duplicates(telemetry) == []
    assert states_on_spans(telemetry) == [None, None]
