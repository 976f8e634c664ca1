"""A response the SDK cannot read (a body or a stream event that is not JSON) is the server's fault.

Both SDK generations raise `json.JSONDecodeError` to the app for it (an `event: error` whose data
is not JSON raises the SDK's status error instead). The call is recorded as a failed request with
`error.type=malformed_response`; the instrumentation counts no internal error and logs nothing.
"""

from __future__ import annotations

import gc
import json
import logging
from typing import Any, Callable

import anthropic
import pytest
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake.engine import FakeResponse

from tests.polling import wait_for

from . import sdk

MESSAGES = [{"role": "user", "content": "hello"}]
MALFORMED = "malformed_response"


class _CutEventFake(FakeAnthropic):
    """The fake API with the data line of every `event` cut in half, so it is not JSON. (The fake's
    own `malformed_json` fault cuts a content delta; usage and error events need this.)"""

    def __init__(self, event: str) -> None:
        super().__init__()
        self.prefix = f"event: {event}\n".encode()

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> FakeResponse:
        resp = super().handle(method, path, headers, body)
        resp.chunks = iter([self._cut(c) if isinstance(c, bytes) else c for c in resp.chunks])
        return resp

    def _cut(self, chunk: bytes) -> bytes:
        if not chunk.startswith(self.prefix):
            return chunk
        head, _, data = chunk.rstrip(b"\n").partition(b"\ndata: ")
        return head + b"\ndata: " + data[: len(data) // 2] + b"\n\n"


def _quiet(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Records of this package's loggers at WARNING or above, or carrying a traceback."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("anthropic_otel") and (r.levelno >= logging.WARNING or r.exc_info)
    ]


def _assert_malformed_request(telemetry: Any, stream: bool) -> None:
    assert telemetry.points("anthropic_otel.internal_errors") == []
    assert [(dict(p.attributes), p.value) for p in telemetry.points("anthropic.requests")] == [
        (
            {
                "gen_ai.request.model": sdk.MODEL,
                "anthropic.request.outcome": "error",
                "error.type": MALFORMED,
                "anthropic.request.stream": stream,
            },
            1,
        )
    ]
    assert telemetry.value("gen_ai.client.operation.duration", error__type=MALFORMED) == 1
    # The HTTP attempt itself succeeded: one attempt, status 200, no error type.
    assert [(dict(p.attributes), p.value) for p in telemetry.points("anthropic.attempts")] == [
        ({"gen_ai.request.model": sdk.MODEL, "http.response.status_code": 200}, 1)
    ]
    (span,) = telemetry.spans()
    if span.name.startswith("chat "):  # our span (the SDK's own span is the SDK's to describe)
        assert span.attributes["error.type"] == MALFORMED
        assert span.status.description == MALFORMED


def test_non_json_body(
    telemetry: Any, caplog: pytest.LogCaptureFixture, is_async: bool, sdk_tracing: bool
) -> None:
    c = sdk.client(FakeAnthropic(), is_async, sdk_tracing, max_retries=0)
    with caplog.at_level(logging.DEBUG, logger="anthropic_otel"), pytest.raises(json.JSONDecodeError):
        sdk.create(c, messages=MESSAGES, extra_headers={"x-fake-faults": "malformed_json"})
    assert _quiet(caplog) == []
    _assert_malformed_request(telemetry, stream=False)


STREAM_CALLS: dict[str, Callable[..., Any]] = {
    "create-stream": sdk.create_stream_events,
    "messages-stream": sdk.stream_text,
}


@pytest.mark.parametrize("event", ["message_start", "message_delta", "error"])
@pytest.mark.parametrize("call", list(STREAM_CALLS))
def test_non_json_stream_event_we_read(
    telemetry: Any,
    caplog: pytest.LogCaptureFixture,
    is_async: bool,
    sdk_tracing: bool,
    call: str,
    event: str,
) -> None:
    c = sdk.client(_CutEventFake(event), is_async, sdk_tracing, max_retries=0)
    headers = {"x-fake-faults": "error_event"} if event == "error" else {}
    # An `event: error` is raised as the SDK's status error, whatever its data; other events as the parse error.
    expected = anthropic.APIStatusError if event == "error" else json.JSONDecodeError
    with caplog.at_level(logging.DEBUG, logger="anthropic_otel"), pytest.raises(expected):
        STREAM_CALLS[call](c, messages=MESSAGES, extra_headers=headers)
    assert _quiet(caplog) == []
    assert telemetry.value("anthropic.streams", anthropic__stream__end_reason="error") == 1
    assert len(telemetry.points("anthropic.streams")) == 1
    _assert_malformed_request(telemetry, stream=True)


@pytest.mark.skipif(not sdk.SDK_TRACES, reason="this SDK version has no tracing of its own")
def test_non_json_content_delta_with_sdk_tracing(
    telemetry: Any, caplog: pytest.LogCaptureFixture, is_async: bool
) -> None:
    # Content deltas are not parsed by us (per-event cost): the SDK's own end of its span says why.
    c = sdk.client(FakeAnthropic(), is_async, max_retries=0)
    with caplog.at_level(logging.DEBUG, logger="anthropic_otel"), pytest.raises(json.JSONDecodeError):
        sdk.create_stream_events(c, messages=MESSAGES, extra_headers={"x-fake-faults": "malformed_json"})
    assert _quiet(caplog) == []
    assert telemetry.value("anthropic.streams", anthropic__stream__end_reason="error") == 1
    _assert_malformed_request(telemetry, stream=True)


def test_non_json_content_delta_without_sdk_tracing(telemetry: Any, is_async: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async, sdk_tracing=False, max_retries=0)
    with pytest.raises(json.JSONDecodeError):
        sdk.create_stream_events(c, messages=MESSAGES, extra_headers={"x-fake-faults": "malformed_json"})
    gc.collect()
    wait_for(lambda: telemetry.value("anthropic.streams") == 1)
    assert telemetry.value("anthropic.streams", anthropic__stream__end_reason="error") == 1
    _assert_malformed_request(telemetry, stream=True)
