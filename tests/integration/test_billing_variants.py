"""Every way a call is billed, through the real SDK over the fake API: exact cost from the response's usage.

The fake reports the billing labels a request header asks for (`x-fake-service-tier`, `x-fake-speed`,
`x-fake-inference-geo`) in `usage`, in the JSON message and in the stream's `message_start`. Each
expected cost is worked out by hand below from the list prices (USD per million tokens) that
`pricing.py` cites, not from the package's table. A prompt of 4 x N characters is N tokens to the fake.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake.engine import (
    HEADER_INFERENCE_GEO,
    HEADER_OUTPUT_TOKENS,
    HEADER_SERVICE_TIER,
    HEADER_SPEED,
)

from . import sdk

OUTPUT = 200  # output tokens of every call here
# The SDK warns about Sonnet 4.5's end of life: the long-context band is still what its calls cost.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


@pytest.fixture(params=[False, True], ids=["json", "stream"])
def stream(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _prompt(tokens: int) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "x" * (4 * tokens)}]


def _call(
    is_async: bool,
    stream: bool,
    model: str,
    messages: list[dict[str, Any]],
    fake: FakeAnthropic | None = None,
    system: Any = None,
    **labels: str,
) -> None:
    fake = fake or FakeAnthropic()
    headers = {HEADER_OUTPUT_TOKENS: str(OUTPUT)}
    names = {
        "service_tier": HEADER_SERVICE_TIER,
        "speed": HEADER_SPEED,
        "inference_geo": HEADER_INFERENCE_GEO,
    }
    headers.update({names[field]: value for field, value in labels.items()})
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": 256,
        "extra_headers": headers,
    }
    if system is not None:
        kwargs["system"] = system
    c = sdk.client(fake, is_async)
    if stream:
        sdk.create_stream_events(c, **kwargs)
    else:
        sdk.create(c, **kwargs)


def _cost(telemetry: Any) -> float:
    return float(sum(p.value for p in telemetry.points("anthropic.cost.usd")))


def _assert_cost(telemetry: Any, usd: float) -> None:
    assert _cost(telemetry) == pytest.approx(usd, rel=1e-9)
    span = telemetry.spans()[-1]
    assert span.attributes[semconv.ANTHROPIC_COST_USD] == pytest.approx(usd, rel=1e-9)


VARIANTS = [
    # (id, model, prompt tokens, labels, USD by hand)
    # Sonnet 4.6 at $3 / $15: 1000 x 3 + 200 x 15 = 3000 + 3000 = 6000 / 1e6.
    (
        "standard",
        "claude-sonnet-4-6",
        1000,
        {"service_tier": "standard", "inference_geo": "not_available"},
        6000e-6,
    ),
    # Priority Tier draws capacity at list-price ratios: list price, 6000 / 1e6.
    ("priority", "claude-sonnet-4-6", 1000, {"service_tier": "priority"}, 6000e-6),
    # Batch: 50 % off input and output: (3000 + 3000) x 0.5 = 3000 / 1e6.
    ("batch", "claude-sonnet-4-6", 1000, {"service_tier": "batch"}, 3000e-6),
    # Fast mode on Opus 5.5 ($8 / $40, 2x of $4 / $20): 1000 x 8 + 200 x 40 = 8000 + 8000 = 16000 / 1e6.
    ("fast", "claude-opus-5-5", 1000, {"speed": "fast", "inference_geo": "global"}, 16000e-6),
    # `speed: standard` is list price: Opus 5.5 1000 x 4 + 200 x 20 = 8000 / 1e6.
    ("standard-speed", "claude-opus-5-5", 1000, {"speed": "standard"}, 8000e-6),
    # US-only inference 1.1x on Opus 4.6 ($5 / $25): (1000 x 5 + 200 x 25) x 1.1 = 10000 x 1.1 = 11000 / 1e6.
    ("inference-geo-us", "claude-opus-4-6", 1000, {"inference_geo": "us"}, 11000e-6),
    # Sonnet 5 at $2 / $10 (not the cancelled $3 / $15): 1000 x 2 + 200 x 10 = 4000 / 1e6.
    ("sonnet-5", "claude-sonnet-5", 1000, {}, 4000e-6),
    # Sonnet 4.5 over 200K input: input 2x ($6), output 1.5x ($22.50):
    # 250000 x 6 + 200 x 22.5 = 1500000 + 4500 = 1504500 / 1e6.
    ("long-context", "claude-sonnet-4-5", 250_000, {}, 1_504_500e-6),
    # Exactly 200K is not over the threshold: 200000 x 3 + 200 x 15 = 600000 + 3000 = 603000 / 1e6.
    ("long-context-threshold", "claude-sonnet-4-5", 200_000, {}, 603_000e-6),
    # Haiku 5.5 over 100K prompt tokens: every token 5x ($0.50 / $2.50):
    # 150000 x 0.5 + 200 x 2.5 = 75000 + 500 = 75500 / 1e6.
    ("haiku-5-5-long", "claude-haiku-5-5", 150_000, {}, 75_500e-6),
    # Batch, US-only and long context stack: Sonnet 4.5, 250000 x 3 x 2 x 0.5 x 1.1 = 825000,
    # 200 x 15 x 1.5 x 0.5 x 1.1 = 2475: 827475 / 1e6.
    ("stacked", "claude-sonnet-4-5", 250_000, {"service_tier": "batch", "inference_geo": "us"}, 827_475e-6),
]


@pytest.mark.parametrize(
    ("model", "tokens", "labels", "usd"),
    [pytest.param(*v[1:], id=v[0]) for v in VARIANTS],
)
def test_variant_cost(
    telemetry: Any, is_async: bool, stream: bool, model: str, tokens: int, labels: dict[str, str], usd: float
) -> None:
    _call(is_async, stream, model, _prompt(tokens), **labels)
    assert telemetry.value("anthropic.tokens", anthropic__token__type="input") == tokens
    assert telemetry.value("anthropic.tokens", anthropic__token__type="output") == OUTPUT
    _assert_cost(telemetry, usd)
    span = telemetry.spans()[-1]
    expected = {
        "service_tier": semconv.ANTHROPIC_RESPONSE_SERVICE_TIER,
        "speed": semconv.ANTHROPIC_RESPONSE_SPEED,
        "inference_geo": semconv.ANTHROPIC_RESPONSE_INFERENCE_GEO,
    }
    for field, attribute in expected.items():
        if field in labels:
            assert span.attributes[attribute] == labels[field]


def test_fable_5_1_cache_hits_are_not_the_multiplier(telemetry: Any, is_async: bool, stream: bool) -> None:
    fake = FakeAnthropic()
    system = [{"type": "text", "text": "s" * 4000, "cache_control": {"type": "ephemeral"}}]  # 1000 tokens
    messages = _prompt(2)
    _call(is_async, stream, "claude-fable-5-1", messages, fake, system)  # writes the 1000-token prefix
    _call(is_async, stream, "claude-fable-5-1", messages, fake, system)  # reads it
    assert telemetry.value("anthropic.tokens", anthropic__token__type="cache_write_5m") == 1000
    assert telemetry.value("anthropic.tokens", anthropic__token__type="cache_read") == 1000
    # Fable 5.1: input $10, 5m write $12.50, cache hit $0.25 (0.025x, not 0.1x = $1), output $50.
    # Write: 2 x 10 + 1000 x 12.5 + 200 x 50 = 20 + 12500 + 10000 = 22520
    # Read:  2 x 10 + 1000 x 0.25 + 200 x 50 = 20 + 250 + 10000 = 10270
    assert telemetry.value("anthropic.cost.usd", anthropic__token__type="cache_read") == pytest.approx(
        250e-6, rel=1e-9
    )
    assert _cost(telemetry) == pytest.approx((22520 + 10270) * 1e-6, rel=1e-9)
    assert telemetry.spans()[-1].attributes[semconv.ANTHROPIC_COST_USD] == pytest.approx(10270e-6, rel=1e-9)


def test_unknown_tier_counts_tokens_skips_cost_warns_once(
    telemetry: Any, is_async: bool, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(2):
        _call(is_async, stream, "claude-sonnet-4-6", _prompt(1000), service_tier="flex")
    assert telemetry.value("anthropic.tokens", anthropic__token__type="input") == 2000
    assert telemetry.value("anthropic.tokens", anthropic__token__type="output") == 2 * OUTPUT
    assert telemetry.points("anthropic.cost.usd") == []
    assert telemetry.points("anthropic.cost.uncached.usd") == []
    for span in telemetry.spans():
        assert semconv.ANTHROPIC_COST_USD not in span.attributes
        assert span.attributes[semconv.ANTHROPIC_RESPONSE_SERVICE_TIER] == "flex"
    warned = [r for r in caplog.records if r.name == semconv.LOGGER_UNKNOWN_PRICE]
    assert len(warned) == 1
    assert "usage.service_tier 'flex'" in warned[0].getMessage()


def test_fast_mode_without_a_price_skips_cost(
    telemetry: Any, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    # Fable 5.2 takes fast mode at a price the pricing pages we read do not give: no guess.
    _call(False, stream, "claude-fable-5-2", _prompt(1000), speed="fast")
    assert telemetry.value("anthropic.tokens", anthropic__token__type="input") == 1000
    assert telemetry.points("anthropic.cost.usd") == []
    warned = [r.getMessage() for r in caplog.records if r.name == semconv.LOGGER_UNKNOWN_PRICE]
    assert len(warned) == 1
    assert "usage.speed 'fast'" in warned[0]


def test_cost_away_from_standard_rates_by_billing(telemetry: Any, is_async: bool, stream: bool) -> None:
    _call(is_async, stream, "claude-sonnet-4-6", _prompt(1000))  # standard: anthropic.cost.usd only
    _call(is_async, stream, "claude-sonnet-4-6", _prompt(1000), inference_geo="us")
    _call(is_async, stream, "claude-opus-5", _prompt(1000), speed="fast")
    _call(is_async, stream, "claude-sonnet-4-6", _prompt(1000), service_tier="batch")
    got = {
        tuple(p.attributes[a] for a in semconv.ANTHROPIC_COST_BILLING.attributes): p.value
        for p in telemetry.points(semconv.ANTHROPIC_COST_BILLING.name)
    }
    # Sonnet 4.6 1000 x $3 + 200 x $15 = $6,000e-6: US-only 1.1x = 6,600e-6, batch 0.5x = 3,000e-6.
    # Opus 5 fast (2x): (1000 x $5 + 200 x $25) x 2 = 20,000e-6. The fake reports the region
    # `not_available` where none was asked for.
    assert got == {
        ("claude-sonnet-4-6", "standard", "standard", "us"): pytest.approx(6_600e-6, rel=1e-9),
        ("claude-opus-5", "standard", "fast", "not_available"): pytest.approx(20_000e-6, rel=1e-9),
        ("claude-sonnet-4-6", "batch", "standard", "not_available"): pytest.approx(3_000e-6, rel=1e-9),
    }
    # And in the total: 6,000 + 6,600 + 20,000 + 3,000.
    total = sum(p.value for p in telemetry.points(semconv.ANTHROPIC_COST.name))
    assert total == pytest.approx(35_600e-6, rel=1e-9)
