"""Model fit on real SDK calls over the fake API: short-output calls on a model pricier than Haiku.

Prices (pricing.py, USD per million tokens): Sonnet 4.6 $3 in / $15 out, cache writes (5m) $3.75,
reads $0.30; Haiku 4.5 $1 / $5, writes $1.25, reads $0.10. The fake counts ceil(len(text) / 4)
tokens per text and `x-fake-output-tokens` sets the output tokens.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic

from . import sdk

SONNET = "claude-sonnet-4-6"
HAIKU = "claude-haiku-4-5"
CALLS = "anthropic.model_fit.calls"
COST = "anthropic.model_fit.cost.usd"
CHEAPER = "anthropic.model_fit.cheaper_cost.usd"
# 400 characters: 100 input tokens.
TICKET = "Classify this support ticket as billing, bug or other: my invoice is wrong. ".ljust(400, ".")


def _classify(c: Any, model: str = SONNET, output_tokens: int = 3, **kwargs: Any) -> Any:
    return sdk.create(
        c,
        model=model,
        max_tokens=200,
        extra_headers={"x-fake-output-tokens": str(output_tokens)},
        **kwargs,
    )


def _fit(telemetry: Any) -> tuple[float, float, float]:
    by = {"gen_ai__request__model": SONNET, "anthropic__model_fit__cheaper_model": HAIKU}
    return telemetry.value(CALLS, **by), telemetry.value(COST, **by), telemetry.value(CHEAPER, **by)


def test_ten_sonnet_classifications_counted_long_output_and_haiku_not(telemetry: Any, is_async: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async)
    for _ in range(10):
        m = _classify(c, messages=[{"role": "user", "content": TICKET}])
        assert (m.usage.input_tokens, m.usage.output_tokens) == (100, 3)
    # 65 output tokens: over the 64 threshold, not counted.
    assert (
        _classify(c, output_tokens=65, messages=[{"role": "user", "content": TICKET}]).usage.output_tokens
        == 65
    )
    # Haiku is the cheaper model itself: not counted.
    _classify(c, model=HAIKU, messages=[{"role": "user", "content": TICKET}])

    calls, cost, cheaper = _fit(telemetry)
    # Per call: Sonnet 100 x $3e-6 + 3 x $15e-6 = $345e-6; Haiku 100 x $1e-6 + 3 x $5e-6 = $115e-6.
    assert calls == 10
    assert cost == pytest.approx(10 * 345e-6, rel=1e-9)
    assert cheaper == pytest.approx(10 * 115e-6, rel=1e-9)
    # Only the Sonnet series exists: the long call and the Haiku call left no point anywhere.
    assert [dict(p.attributes) for p in telemetry.points(CALLS)] == [
        {"gen_ai.request.model": SONNET, "anthropic.model_fit.cheaper_model": HAIKU}
    ]


def test_exactly_the_threshold_is_counted(telemetry: Any) -> None:
    c = sdk.client(FakeAnthropic(), False)
    _classify(c, output_tokens=64, messages=[{"role": "user", "content": TICKET}])
    # Sonnet 100 x 3e-6 + 64 x 15e-6 = 1,260e-6; Haiku 100 x 1e-6 + 64 x 5e-6 = 420e-6.
    calls, cost, cheaper = _fit(telemetry)
    assert (calls, cost, cheaper) == (1, pytest.approx(1260e-6, rel=1e-9), pytest.approx(420e-6, rel=1e-9))


def test_cache_tokens_priced_as_cache_tokens(telemetry: Any, is_async: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async)
    system = [{"type": "text", "text": TICKET, "cache_control": {"type": "ephemeral"}}]
    first = _classify(
        c, output_tokens=1, system=system, messages=[{"role": "user", "content": "Ticket #1: hi"}]
    )
    second = _classify(
        c, output_tokens=1, system=system, messages=[{"role": "user", "content": "Ticket #2: hi"}]
    )
    # 13 characters: 4 uncached input tokens; the 100-token system prompt written, then read.
    assert (first.usage.input_tokens, first.usage.cache_creation_input_tokens) == (4, 100)
    assert (second.usage.input_tokens, second.usage.cache_read_input_tokens) == (4, 100)

    calls, cost, cheaper = _fit(telemetry)
    # Write: Sonnet 4 x 3 + 100 x 3.75 + 1 x 15 = 402e-6; Haiku 4 x 1 + 100 x 1.25 + 1 x 5 = 134e-6.
    # Read:  Sonnet 4 x 3 + 100 x 0.30 + 1 x 15 = 57e-6;  Haiku 4 x 1 + 100 x 0.10 + 1 x 5 = 19e-6.
    assert calls == 2
    assert cost == pytest.approx(459e-6, rel=1e-9)
    assert cheaper == pytest.approx(153e-6, rel=1e-9)


def test_a_streamed_classification_counts_and_a_failed_call_does_not(telemetry: Any, is_async: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async)
    sdk.stream_text(
        c,
        model=SONNET,
        messages=[{"role": "user", "content": TICKET}],
        extra_headers={"x-fake-output-tokens": "3"},
    )
    with pytest.raises(Exception):  # noqa: B017 - the SDK's 400 error class differs by version
        _classify(c, messages=[{"role": "user", "content": TICKET}], extra_headers={"x-fake-faults": "400"})
    calls, cost, cheaper = _fit(telemetry)
    assert (calls, cost, cheaper) == (1, pytest.approx(345e-6, rel=1e-9), pytest.approx(115e-6, rel=1e-9))


def test_settings_move_the_threshold_and_the_cheaper_model(telemetry: Any) -> None:
    telemetry.reinstrument(model_fit_max_output_tokens=2, model_fit_cheaper_model="claude-sonnet-4-6")
    c = sdk.client(FakeAnthropic(), False)
    opus = "claude-opus-4-6"
    _classify(c, model=opus, output_tokens=2, messages=[{"role": "user", "content": TICKET}])
    _classify(c, model=opus, output_tokens=3, messages=[{"role": "user", "content": TICKET}])
    _classify(c, model=SONNET, output_tokens=2, messages=[{"role": "user", "content": TICKET}])
    by = {"gen_ai__request__model": opus, "anthropic__model_fit__cheaper_model": SONNET}
    # Opus 4.6 $5 / $25: 100 x 5 + 2 x 25 = 550e-6; Sonnet 100 x 3 + 2 x 15 = 330e-6. Only the first call.
    assert telemetry.value(CALLS) == 1
    assert telemetry.value(COST, **by) == pytest.approx(550e-6, rel=1e-9)
    assert telemetry.value(CHEAPER, **by) == pytest.approx(330e-6, rel=1e-9)


def test_an_unknown_cheaper_model_warns_once_and_turns_model_fit_off(
    telemetry: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        telemetry.reinstrument(model_fit_cheaper_model="claude-tiny-9")
    warnings = [r.getMessage() for r in caplog.records if "model fit is off" in r.getMessage()]
    assert len(warnings) == 1
    assert "ANTHROPIC_OTEL_MODEL_FIT_CHEAPER_MODEL='claude-tiny-9'" in warnings[0]
    assert "ANTHROPIC_OTEL_PRICES_FILE" in warnings[0]
    c = sdk.client(FakeAnthropic(), False)
    _classify(c, messages=[{"role": "user", "content": TICKET}])
    assert telemetry.points(CALLS) == []
    assert telemetry.value("anthropic.requests") == 1


def test_an_unknown_model_is_skipped(telemetry: Any) -> None:
    c = sdk.client(FakeAnthropic(), False)
    _classify(c, model="claude-mystery-1", messages=[{"role": "user", "content": TICKET}])
    assert telemetry.points(CALLS) == []


def test_a_fast_mode_call_is_compared_with_the_cheaper_model_at_standard_speed(
    telemetry: Any, is_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    c = sdk.client(FakeAnthropic(), is_async)
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        m = sdk.create(
            c,
            model="claude-opus-5",
            max_tokens=200,
            messages=[{"role": "user", "content": TICKET}],
            extra_headers={"x-fake-output-tokens": "3", "x-fake-speed": "fast"},
        )
    assert m.usage.speed == "fast"
    by = {"gen_ai__request__model": "claude-opus-5", "anthropic__model_fit__cheaper_model": HAIKU}
    # Opus 5 fast (2x): (100 x $5 + 3 x $25) x 2 = 1,150e-6. Haiku 4.5 has no fast mode: the same
    # tokens at its standard price, 100 x $1 + 3 x $5 = 115e-6, and no "no price multiplier" warning.
    assert telemetry.value(CALLS, **by) == 1
    assert telemetry.value(COST, **by) == pytest.approx(1_150e-6, rel=1e-9)
    assert telemetry.value(CHEAPER, **by) == pytest.approx(115e-6, rel=1e-9)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
