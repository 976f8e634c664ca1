"""No prompt or output text leaves the process unless ANTHROPIC_OTEL_CAPTURE_CONTENT=true.

A canary string in the system prompt and the user message is searched for in everything the
in-memory exporters received (span names, attributes, events, status descriptions; metric
attributes) and in every log record of this package's loggers; the fake's reply text is searched
for too. The API's error messages can quote the request back: they count as content.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anthropic
import pytest
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake.engine import FakeResponse

from . import sdk

CANARY = "CANARY-7f3a9b"
REPLY = "This is a fake reply"
SYSTEM = [{"type": "text", "text": f"{CANARY} system " * 20, "cache_control": {"type": "ephemeral"}}]
MESSAGES = [{"role": "user", "content": f"user says {CANARY}"}]


def _exported_text(telemetry: Any) -> str:
    parts: list[str] = []
    for span in telemetry.spans():
        parts.append(span.name)
        parts.append(span.status.description or "")
        parts.append(json.dumps(dict(span.attributes or {}), default=str))
        for event in span.events:
            parts.append(event.name)
            parts.append(json.dumps(dict(event.attributes or {}), default=str))
    data = telemetry.reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    parts.append(json.dumps(dict(point.attributes), default=str))
    return "\n".join(parts)


def _traffic(sdk_tracing: bool) -> None:
    fake = FakeAnthropic()
    for is_async in (False, True):
        c = sdk.client(fake, is_async, sdk_tracing)
        sdk.create(c, system=SYSTEM, messages=MESSAGES)
        sdk.stream_text(c, system=SYSTEM, messages=MESSAGES)
        sdk.create_stream_events(c, system=SYSTEM, messages=MESSAGES)


def test_no_content_by_default(telemetry: Any, caplog: pytest.LogCaptureFixture, sdk_tracing: bool) -> None:
    with caplog.at_level(logging.DEBUG, logger="anthropic_otel"):
        _traffic(sdk_tracing)
    # The SDK's own debug log prints request bodies; only this package's loggers are ours to check.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("anthropic_otel"))
    exported = _exported_text(telemetry)
    assert len(telemetry.spans()) == 6
    assert CANARY not in exported
    assert REPLY not in exported
    assert CANARY not in ours and REPLY not in ours


def test_content_in_span_events_when_capture_is_on(telemetry: Any, sdk_tracing: bool) -> None:
    telemetry.reinstrument(capture_content=True)
    _traffic(sdk_tracing)
    spans = telemetry.spans()
    assert len(spans) == 6
    for span in spans:
        events = [e for e in span.events if e.name == "gen_ai.client.inference.operation.details"]
        assert len(events) == 1, span.name
        attrs = events[0].attributes
        assert CANARY in attrs["gen_ai.input.messages"]
        assert CANARY in attrs["gen_ai.system_instructions"]
        output = json.loads(attrs["gen_ai.output.messages"])
        assert output[0]["parts"][0]["content"].startswith(REPLY)
    # Metric attributes never carry content, capture or not.
    data = telemetry.reader.get_metrics_data()
    assert CANARY not in json.dumps(
        [
            dict(p.attributes)
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            for p in m.data.data_points
        ],
        default=str,
    )


class _QuotingFake(FakeAnthropic):
    """The fake API answering every call with a 400 whose message quotes the prompt back, as the
    real API's validation messages can (`bad input near: ...`)."""

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> FakeResponse:
        prompt = json.loads(body)["messages"][-1]["content"]
        error = {
            "type": "invalid_request_error",
            "message": f"bad input near: {prompt.partition(' with ')[2]}",
        }
        payload = json.dumps({"type": "error", "error": error}).encode()
        return FakeResponse(400, [("content-type", "application/json")], iter([payload]))


QUOTED = [{"role": "user", "content": f"please summarise: the merger with {CANARY} closes friday"}]


def _quoted_400(is_async: bool, sdk_tracing: bool) -> str:
    c = sdk.client(_QuotingFake(), is_async, sdk_tracing, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as raised:
        sdk.create(c, messages=QUOTED)
    return str(raised.value)


# SDK >= 1.14 with its tracing off, or older SDKs: the span is ours (the SDK's own span is the SDK's).
def test_error_status_on_our_span_names_the_error_type_not_the_message(
    telemetry: Any, is_async: bool
) -> None:
    message = _quoted_400(is_async, sdk_tracing=False)
    # The app still gets the API's message, prompt fragment included: only the telemetry leaves it out.
    assert f"bad input near: {CANARY} closes friday" in message
    spans = telemetry.spans()
    assert len(spans) == 1
    assert spans[0].status.status_code.name == "ERROR"
    assert spans[0].status.description == "invalid_request_error (HTTP 400)"
    assert spans[0].attributes["error.type"] == "invalid_request_error"
    assert CANARY not in _exported_text(telemetry)


@pytest.mark.skipif(not sdk.SDK_TRACES, reason="this SDK version has no tracing of its own")
def test_quoted_error_message_is_not_exported_from_the_sdk_span(telemetry: Any, is_async: bool) -> None:
    _quoted_400(is_async, sdk_tracing=True)
    assert [s.name for s in telemetry.spans()] == ["anthropic.messages.create"]
    assert CANARY not in _exported_text(telemetry)


def test_error_status_quotes_the_message_when_capture_is_on(telemetry: Any, is_async: bool) -> None:
    telemetry.reinstrument(capture_content=True)
    message = _quoted_400(is_async, sdk_tracing=False)
    (span,) = telemetry.spans()
    assert span.status.description == message
    assert f"{CANARY} closes friday" in span.status.description
