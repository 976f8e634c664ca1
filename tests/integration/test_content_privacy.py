"""No prompt or output text leaves the process unless ANTHROPIC_OTEL_CAPTURE_CONTENT=true.

A canary string in the system prompt and the user message is searched for in everything the
in-memory exporters received (span names, attributes, events; metric attributes) and in every log
record of this package's loggers; the fake's reply text is searched for too.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from anthropic_otel import AnthropicInstrumentor
from anthropic_otel.fake import FakeAnthropic

from . import sdk

CANARY = "CANARY-7f3a9b"
REPLY = "This is a fake reply"
SYSTEM = [{"type": "text", "text": f"{CANARY} system " * 20, "cache_control": {"type": "ephemeral"}}]
MESSAGES = [{"role": "user", "content": f"user says {CANARY}"}]


def _exported_text(telemetry: Any) -> str:
    parts: list[str] = []
    for span in telemetry.spans():
        parts.append(span.name)
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


@pytest.mark.parametrize("sdk_tracing", [True, False], ids=["sdk-tracing", "no-sdk-tracing"])
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


@pytest.mark.parametrize("sdk_tracing", [True, False], ids=["sdk-tracing", "no-sdk-tracing"])
def test_content_in_span_events_when_capture_is_on(telemetry: Any, sdk_tracing: bool) -> None:
    AnthropicInstrumentor().uninstrument()
    AnthropicInstrumentor().instrument(
        meter_provider=telemetry.meter_provider,
        tracer_provider=telemetry.tracer_provider,
        capture_content=True,
    )
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
