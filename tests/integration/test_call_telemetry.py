"""Tokens, cost and spans for real SDK calls over the fake API: sync/async, stream/not, SDK tracing on/off.

Hand derivation (fake tokenizer: ceil(len(text) / 4) per text block; default reply 12 tokens):
system = 400 chars -> 100 tokens, marked as a 5m cache breakpoint; user "hello" -> 2 tokens.
Call 1 writes the 100-token prefix, call 2 reads it. Prices of claude-sonnet-4-6: $3 / $15 per MTok,
so per token input 3e-6, output 15e-6, 5m write 3.75e-6, read 0.3e-6.
"""

from __future__ import annotations

from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic

from . import sdk

SYSTEM = [{"type": "text", "text": "S" * 400, "cache_control": {"type": "ephemeral"}}]
MESSAGES = [{"role": "user", "content": "hello"}]

MODES = ["create", "create_stream", "stream_helper"]


def call(c: Any, mode: str, **kwargs: Any) -> None:
    kwargs.setdefault("system", SYSTEM)
    kwargs.setdefault("messages", MESSAGES)
    if mode == "create":
        sdk.create(c, **kwargs)
    elif mode == "create_stream":
        events = sdk.create_stream_events(c, **kwargs)
        assert events[-1] == "message_stop"
    else:
        assert sdk.stream_text(c, **kwargs).startswith("This is a fake reply")


@pytest.mark.parametrize("mode", MODES)
def test_cache_write_then_read(telemetry: Any, mode: str, is_async: bool, sdk_tracing: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, sdk_tracing)
    call(c, mode)
    call(c, mode)

    m = sdk.MODEL
    tokens = "anthropic.tokens"
    assert telemetry.value(tokens, gen_ai__request__model=m, anthropic__token__type="input") == 4
    assert telemetry.value(tokens, gen_ai__request__model=m, anthropic__token__type="output") == 24
    assert telemetry.value(tokens, gen_ai__request__model=m, anthropic__token__type="cache_write_5m") == 100
    assert telemetry.value(tokens, gen_ai__request__model=m, anthropic__token__type="cache_read") == 100
    assert telemetry.value(tokens, anthropic__token__type="cache_write_1h") == 0

    cost = "anthropic.cost.usd"
    assert telemetry.value(cost, anthropic__token__type="input") == pytest.approx(4 * 3e-6, rel=1e-9)
    assert telemetry.value(cost, anthropic__token__type="output") == pytest.approx(24 * 15e-6, rel=1e-9)
    assert telemetry.value(cost, anthropic__token__type="cache_write_5m") == pytest.approx(
        100 * 3.75e-6, rel=1e-9
    )
    assert telemetry.value(cost, anthropic__token__type="cache_read") == pytest.approx(100 * 0.3e-6, rel=1e-9)
    # Without caching: all 204 input tokens at 3e-6 plus the same output.
    assert telemetry.value("anthropic.cost.uncached.usd") == pytest.approx(204 * 3e-6 + 24 * 15e-6, rel=1e-9)

    # gen_ai.client.token.usage: input includes the cache (102 per call), two samples per type.
    usage = "gen_ai.client.token.usage"
    assert telemetry.histogram_sum(usage, gen_ai__token__type="input") == 204
    assert telemetry.histogram_sum(usage, gen_ai__token__type="output") == 24
    assert telemetry.value(usage, gen_ai__token__type="input") == 2
    assert telemetry.value("gen_ai.client.operation.duration", gen_ai__request__model=m) == 2
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == 2
    streamed = mode != "create"
    assert telemetry.value("anthropic.requests", anthropic__request__stream=streamed) == 2
    assert telemetry.value("gen_ai.client.operation.time_to_first_chunk") == (2 if streamed else 0)

    spans = telemetry.spans()
    assert len(spans) == 2, [s.name for s in spans]
    first, second = spans
    scope = "com.anthropic.sdk.python" if (sdk.SDK_TRACES and sdk_tracing) else "anthropic_otel"
    assert {s.instrumentation_scope.name for s in spans} == {scope}
    assert first.attributes["gen_ai.usage.input_tokens"] == 102
    assert first.attributes["gen_ai.usage.output_tokens"] == 12
    assert first.attributes["gen_ai.usage.cache_write.input_tokens"] == 100
    assert first.attributes["gen_ai.usage.cache_read.input_tokens"] == 0
    assert first.attributes["anthropic.cache.hit_ratio"] == 0.0
    assert second.attributes["gen_ai.usage.cache_read.input_tokens"] == 100
    assert second.attributes["anthropic.cache.hit_ratio"] == 1.0
    assert second.attributes["anthropic.cost.usd"] == pytest.approx(
        2 * 3e-6 + 12 * 15e-6 + 100 * 0.3e-6, rel=1e-9
    )


def test_one_hour_cache_and_no_cache(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async)
    system_1h = [{"type": "text", "text": "H" * 800, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    sdk.create(c, system=system_1h, messages=MESSAGES)
    sdk.create(c, messages=MESSAGES)  # no cache_control: no cache attributes, no hit ratio
    assert telemetry.value("anthropic.tokens", anthropic__token__type="cache_write_1h") == 200
    assert telemetry.value("anthropic.tokens", anthropic__token__type="cache_write_5m") == 0
    assert telemetry.value("anthropic.cost.usd", anthropic__token__type="cache_write_1h") == pytest.approx(
        200 * 6e-6, rel=1e-9
    )
    no_cache = telemetry.spans()[1]
    assert "anthropic.cache.hit_ratio" not in no_cache.attributes


def test_ab_test_on_system_prompt_is_mostly_writes(telemetry: Any) -> None:
    """Three system variants round-robin over 30 calls: 3 writes, 27 reads of 100 tokens each."""
    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    variants = [[{"type": "text", "text": ch * 400, "cache_control": {"type": "ephemeral"}}] for ch in "ABC"]
    for i in range(30):
        sdk.create(c, system=variants[i % 3], messages=MESSAGES)
    assert telemetry.value("anthropic.tokens", anthropic__token__type="cache_write_5m") == 300
    assert telemetry.value("anthropic.tokens", anthropic__token__type="cache_read") == 2700


def test_unknown_model_counts_tokens_skips_cost_and_logs_once(telemetry: Any, caplog: Any) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    with caplog.at_level("WARNING", logger="anthropic_otel.unknown_model"):
        sdk.create(c, model="claude-future-9", messages=MESSAGES)
        sdk.create(c, model="claude-future-9", messages=MESSAGES)
    assert telemetry.value("anthropic.tokens", gen_ai__request__model="claude-future-9") == 2 * (2 + 12)
    assert telemetry.points("anthropic.cost.usd") == []
    assert len([r for r in caplog.records if "claude-future-9" in r.getMessage()]) == 1


def test_beta_messages_are_instrumented(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async)
    sdk.run(c.beta.messages.create(model=sdk.MODEL, max_tokens=64, messages=MESSAGES))
    assert telemetry.value("anthropic.tokens", anthropic__token__type="input") == 2
    assert telemetry.value("anthropic.tokens", anthropic__token__type="output") == 12
    assert len(telemetry.spans()) == 1


def test_count_tokens_is_not_a_billed_call(telemetry: Any) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    if not hasattr(c.messages, "count_tokens"):
        pytest.skip(f"anthropic {sdk.SDK_VERSION} has no messages.count_tokens")
    c.messages.count_tokens(model=sdk.MODEL, messages=MESSAGES)
    assert telemetry.points("anthropic.requests") == []
    assert telemetry.points("anthropic.tokens") == []


def test_failed_call_records_error_type(telemetry: Any, is_async: bool, sdk_tracing: bool) -> None:
    import anthropic

    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, sdk_tracing, max_retries=0)
    with pytest.raises(anthropic.BadRequestError):
        sdk.create(c, messages=MESSAGES, extra_headers={"x-fake-faults": "400"})
    assert (
        telemetry.value(
            "anthropic.requests", anthropic__request__outcome="error", error__type="invalid_request_error"
        )
        == 1
    )
    assert telemetry.value("gen_ai.client.operation.duration", error__type="invalid_request_error") == 1
    assert telemetry.points("anthropic.tokens") == []
    spans = telemetry.spans()
    assert len(spans) == 1
    assert spans[0].status.is_ok is False
