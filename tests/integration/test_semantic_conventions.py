"""The GenAI names we emit: the default metric set, the newest one under
`OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`, and the finish reason on every span.

Hand derivation (see test_call_telemetry): a 400-character cached system prompt is 100 tokens and
"hello" 2; the fake replies with 12 output tokens. Call 1 writes the prefix (2 uncached + 100
written = 102 input), call 2 reads it (2 + 100 read = 102): 204 input, 24 output, 100 read, 100 written.
"""

from __future__ import annotations

from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic

from . import sdk

SYSTEM = [{"type": "text", "text": "S" * 400, "cache_control": {"type": "ephemeral"}}]
MESSAGES = [{"role": "user", "content": "hello"}]
OPERATION = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": sdk.MODEL,
}
OLD_NAMES = (
    "gen_ai.client.token.usage",
    "gen_ai.client.operation.duration",
    "gen_ai.client.operation.time_to_first_chunk",
)
NEW_NAMES = (
    "gen_ai.client.inference.duration",
    "gen_ai.client.inference.time_to_first_chunk",
    "gen_ai.client.inference.operation.input_tokens",
    "gen_ai.client.inference.operation.output_tokens",
    "gen_ai.client.inference.usage.input_tokens",
    "gen_ai.client.inference.usage.output_tokens",
    "gen_ai.client.inference.usage.cache_read.input_tokens",
    "gen_ai.client.inference.usage.cache_write.input_tokens",
)


def _two_cached_calls(c: Any, stream: bool) -> None:
    for _ in range(2):
        if stream:
            assert sdk.create_stream_events(c, system=SYSTEM, messages=MESSAGES)[-1] == "message_stop"
        else:
            sdk.create(c, system=SYSTEM, messages=MESSAGES)


def _attributes(telemetry: Any, name: str) -> list[dict[str, Any]]:
    return [dict(p.attributes) for p in telemetry.points(name)]


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_opt_in_emits_the_newest_genai_metrics_and_not_the_old_ones(
    telemetry: Any, monkeypatch: pytest.MonkeyPatch, is_async: bool, stream: bool
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http, gen_ai_latest_experimental")
    telemetry.reinstrument()
    _two_cached_calls(sdk.client(FakeAnthropic(), is_async), stream)

    for name in OLD_NAMES:
        assert telemetry.points(name) == [], name
    with_modality = {**OPERATION, "gen_ai.token.modality": "unknown"}
    for name, tokens in [
        ("gen_ai.client.inference.usage.input_tokens", 204),
        ("gen_ai.client.inference.usage.output_tokens", 24),
        ("gen_ai.client.inference.usage.cache_read.input_tokens", 100),
        ("gen_ai.client.inference.usage.cache_write.input_tokens", 100),
    ]:
        assert _attributes(telemetry, name) == [with_modality], name
        assert telemetry.value(name) == tokens, name
    for name, tokens in [
        ("gen_ai.client.inference.operation.input_tokens", 204),
        ("gen_ai.client.inference.operation.output_tokens", 24),
    ]:
        assert _attributes(telemetry, name) == [OPERATION], name
        assert (telemetry.value(name), telemetry.histogram_sum(name)) == (2, tokens), name
    assert _attributes(telemetry, "gen_ai.client.inference.duration") == [OPERATION]
    assert telemetry.value("gen_ai.client.inference.duration") == 2
    assert telemetry.value("gen_ai.client.inference.time_to_first_chunk") == (2 if stream else 0)
    # Our own instruments do not change with the switch.
    assert telemetry.value("anthropic.tokens", anthropic__token__type="cache_read") == 100


def test_opt_in_records_a_failed_call_as_zero_tokens_with_its_error(
    telemetry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    telemetry.reinstrument(genai_latest=True)
    c = sdk.client(FakeAnthropic(), False)
    with pytest.raises(Exception, match="invalid_request_error"):
        sdk.create(c, messages=MESSAGES, extra_headers={"x-fake-faults": "400"})
    failed = {**OPERATION, "error.type": "invalid_request_error"}
    assert _attributes(telemetry, "gen_ai.client.inference.operation.input_tokens") == [failed]
    assert telemetry.value("gen_ai.client.inference.operation.input_tokens") == 1
    assert telemetry.histogram_sum("gen_ai.client.inference.operation.input_tokens") == 0
    assert telemetry.value("gen_ai.client.inference.usage.input_tokens") == 0
    assert _attributes(telemetry, "gen_ai.client.inference.usage.input_tokens") == [
        {**OPERATION, "gen_ai.token.modality": "unknown"}
    ]
    assert _attributes(telemetry, "gen_ai.client.inference.duration") == [failed]


def test_by_default_the_genai_metrics_keep_their_v1_41_names(telemetry: Any) -> None:
    _two_cached_calls(sdk.client(FakeAnthropic(), False), stream=True)
    for name in NEW_NAMES:
        assert telemetry.points(name) == [], name
    assert telemetry.histogram_sum("gen_ai.client.token.usage", gen_ai__token__type="input") == 204
    assert telemetry.histogram_sum("gen_ai.client.token.usage", gen_ai__token__type="output") == 24
    assert telemetry.value("gen_ai.client.operation.duration") == 2
    assert telemetry.value("gen_ai.client.operation.time_to_first_chunk") == 2


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_the_finish_reason_is_on_the_span_under_the_conventions_name(
    telemetry: Any, sdk_tracing: bool, stream: bool
) -> None:
    if sdk_tracing and not sdk.SDK_TRACES:
        pytest.skip(f"anthropic {sdk.SDK_VERSION} has no tracing of its own")
    _two_cached_calls(sdk.client(FakeAnthropic(), False, sdk_tracing), stream)
    spans = [s for s in telemetry.spans() if s.kind.name == "CLIENT"]
    assert len(spans) == 2
    for span in spans:
        assert span.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
