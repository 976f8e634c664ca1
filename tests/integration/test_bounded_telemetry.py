"""What a server sends can never break the export or blow up the series, through the real SDK.

A usage count of 2**63 (no real response has one) once made every later OTLP export fail for
good: the cumulative token counter no longer fits the int64 an OTLP sum point carries. A
500-character `error.type` became a metric attribute value as it was. Both come from the fake API
with a scripted body (`scripted_fake.ScriptedFake`).

Hand derivation (fake tokenizer: ceil(len(text) / 4)): "hello" is 2 input tokens, the default reply
12 output tokens; claude-sonnet-4-6 costs $3 / $15 per MTok, so a normal call costs
2 * 3e-6 + 12 * 15e-6 = 186e-6 USD.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

from . import sdk
from .scripted_fake import ScriptedFake

MESSAGES = [{"role": "user", "content": "hello"}]
NORMAL_CALLS = 5


def _call(c: Any, mode: str) -> None:
    if mode == "create":
        sdk.create(c, messages=MESSAGES)
    else:
        assert sdk.create_stream_events(c, messages=MESSAGES)[-1] == "message_stop"


def _encoded_bytes(telemetry: Any) -> int:
    """Encode everything collected as one OTLP metrics request, as an OTLP exporter would."""
    return len(encode_metrics(telemetry.reader.get_metrics_data()).SerializeToString())


@pytest.mark.parametrize("mode", ["create", "create_stream"])
def test_absurd_usage_is_left_out_and_export_keeps_working(
    telemetry: Any, mode: str, is_async: bool, sdk_tracing: bool
) -> None:
    fake = ScriptedFake()
    fake.usage_overrides.append({"input_tokens": 2**63})
    c = sdk.client(fake, is_async, sdk_tracing)
    _call(c, mode)
    assert fake.records()[0].status == 200
    assert _encoded_bytes(telemetry) > 0
    for _ in range(NORMAL_CALLS):
        _call(c, mode)
    assert _encoded_bytes(telemetry) > 0

    tokens = "anthropic.tokens"
    assert telemetry.value(tokens, anthropic__token__type="input") == NORMAL_CALLS * 2
    assert telemetry.value(tokens, anthropic__token__type="output") == NORMAL_CALLS * 12
    assert telemetry.value(tokens) == NORMAL_CALLS * 14
    assert telemetry.value("anthropic.cost.usd") == pytest.approx(NORMAL_CALLS * 186e-6, rel=1e-9)
    assert telemetry.value("anthropic.cost.uncached.usd") == pytest.approx(NORMAL_CALLS * 186e-6, rel=1e-9)
    usage = "gen_ai.client.token.usage"
    assert telemetry.value(usage, gen_ai__token__type="input") == NORMAL_CALLS
    assert telemetry.histogram_sum(usage, gen_ai__token__type="input") == NORMAL_CALLS * 2
    # The call itself succeeded: its outcome is recorded as it was, the usage is counted as malformed.
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == NORMAL_CALLS + 1
    assert telemetry.value("anthropic.usage.malformed", gen_ai__request__model=sdk.MODEL) == 1
    assert telemetry.points("anthropic_otel.internal_errors") == []

    spans = telemetry.spans()
    assert len(spans) == NORMAL_CALLS + 1
    assert spans[0].attributes["anthropic.usage.malformed"] is True
    assert "anthropic.cost.usd" not in spans[0].attributes
    assert all("anthropic.usage.malformed" not in s.attributes for s in spans[1:])
    assert spans[1].attributes["anthropic.cost.usd"] == pytest.approx(186e-6, rel=1e-9)


def test_export_after_a_thousand_normal_calls(telemetry: Any) -> None:
    """The report's case: one absurd response, then 1,000 normal calls; every export encodes."""
    fake = ScriptedFake()
    fake.usage_overrides.append({"input_tokens": 2**63, "cache_read_input_tokens": 2**64})
    c = sdk.client(fake, False, max_retries=0)
    for _ in range(1001):
        sdk.create(c, messages=MESSAGES)
    assert _encoded_bytes(telemetry) > 0
    assert telemetry.value("anthropic.tokens", anthropic__token__type="input") == 1000 * 2
    assert telemetry.value("anthropic.tokens", anthropic__token__type="cache_read") == 0
    assert telemetry.value("anthropic.usage.malformed") == 1


LONG_TYPE = "x" * 500


def test_unknown_server_error_type_becomes_other(telemetry: Any, is_async: bool) -> None:
    fake = ScriptedFake()
    fake.error_type = LONG_TYPE
    c = sdk.client(fake, is_async, max_retries=1)
    with pytest.raises(anthropic.InternalServerError) as raised:
        sdk.create(c, messages=MESSAGES, extra_headers={"x-fake-faults": "500,500"})
    assert raised.value.body["error"]["type"] == LONG_TYPE  # the app still sees what the server sent

    assert telemetry.value("anthropic.attempts", http__response__status_code=500, error__type="_OTHER") == 2
    assert (
        telemetry.value("anthropic.requests", anthropic__request__outcome="error", error__type="_OTHER") == 1
    )
    assert telemetry.value("gen_ai.client.operation.duration", error__type="_OTHER") == 1
    recorded = {
        p.attributes.get("error.type")
        for name in ("anthropic.attempts", "anthropic.requests", "gen_ai.client.operation.duration")
        for p in telemetry.points(name)
    }
    assert recorded == {"_OTHER"}
    (span,) = telemetry.spans()
    assert [e.attributes["error.type"] for e in span.events if e.name == "anthropic.attempt"] == [
        "_OTHER"
    ] * 2


def test_unknown_error_type_in_a_stream_error_event_becomes_other(telemetry: Any, is_async: bool) -> None:
    fake = ScriptedFake()
    fake.error_type = LONG_TYPE
    c = sdk.client(fake, is_async)
    with pytest.raises(anthropic.APIStatusError):
        sdk.create_stream_events(c, messages=MESSAGES, extra_headers={"x-fake-faults": "error_event"})
    assert telemetry.value("anthropic.streams", anthropic__stream__end_reason="error") == 1
    assert (
        telemetry.value("anthropic.requests", anthropic__request__outcome="error", error__type="_OTHER") == 1
    )
    assert {p.attributes.get("error.type") for p in telemetry.points("anthropic.requests")} == {"_OTHER"}


def test_documented_error_type_is_kept(telemetry: Any) -> None:
    fake = ScriptedFake()
    fake.error_type = "timeout_error"  # documented (504), and not one the fake sends itself
    c = sdk.client(fake, False, max_retries=0)
    with pytest.raises(anthropic.InternalServerError):
        sdk.create(c, messages=MESSAGES, extra_headers={"x-fake-faults": "500"})
    assert telemetry.value("anthropic.requests", error__type="timeout_error") == 1
    assert telemetry.value("anthropic.attempts", error__type="timeout_error") == 1


def test_long_model_string_is_cut_in_metric_attributes(telemetry: Any) -> None:
    model = "ft:" + "m" * 400
    fake = ScriptedFake()
    c = sdk.client(fake, False)
    sdk.create(c, model=model, messages=MESSAGES)
    models = {p.attributes.get("gen_ai.request.model") for p in telemetry.points("anthropic.requests")}
    assert models == {model[:256]}
    assert telemetry.value("anthropic.tokens", gen_ai__request__model=model[:256]) == 14
