"""The SDK's own fallbacks, counted once each: client-side refusal fallbacks (`BetaRefusalFallbackMiddleware`)
and server-side `fallbacks` (the response's `fallback` blocks), with the real SDK over the fake API.

The fake refuses (200, stop reason `refusal`) for the models named in `x-fake-refuse`; given a
`fallbacks` body field it serves the first entry that does not refuse, with one `fallback` block per hop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from anthropic_otel.fake import FakeAnthropic

from . import chains, sdk

try:
    from anthropic.lib.middleware import BetaRefusalFallbackMiddleware
except ImportError:  # SDKs before the refusal-fallback middleware and the fallbacks beta
    BetaRefusalFallbackMiddleware = None  # type: ignore[assignment,misc]

pytestmark = pytest.mark.skipif(
    BetaRefusalFallbackMiddleware is None,
    reason=f"anthropic {anthropic.__version__} has no refusal fallbacks (BetaRefusalFallbackMiddleware, beta `fallbacks`)",
)

OPUS, SONNET, HAIKU = "claude-opus-5", chains.SECOND, chains.THIRD
ENTRIES = [{"model": SONNET}, {"model": HAIKU}]
ARGS: dict[str, Any] = {"model": OPUS, "max_tokens": 64, "messages": chains.MESSAGES}
# Opus and Sonnet refuse, Haiku answers: two hops, Opus -> Sonnet -> Haiku.
TWO_REFUSALS = {"x-fake-refuse": f"{OPUS},{SONNET}"}
EXPECTED = {(OPUS, SONNET, "refusal"): 1, (SONNET, HAIKU, "refusal"): 1}


def _create(client: Any, **kwargs: Any) -> Any:
    result = client.beta.messages.create(**ARGS, **kwargs)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def _last_span(telemetry: Any) -> Any:
    (span,) = telemetry.spans()
    return span


def test_client_side_refusal_fallbacks(telemetry: Any, is_async: bool, sdk_tracing: bool) -> None:
    fake = FakeAnthropic()
    client = sdk.client(fake, is_async, sdk_tracing, middleware=[BetaRefusalFallbackMiddleware(ENTRIES)])
    message = _create(client, extra_headers=TWO_REFUSALS)
    # What the app sees: Haiku's answer after two seam blocks (made by the SDK, not counted again).
    assert message.model == HAIKU and message.stop_reason == "end_turn"
    assert [b.type for b in message.content] == ["fallback", "fallback", "text"]
    assert [(r.model, r.status) for r in fake.log] == [(OPUS, 200), (SONNET, 200), (HAIKU, 200)]
    assert chains.hops(telemetry) == EXPECTED
    span = _last_span(telemetry)
    assert span.attributes["anthropic.fallback.from_model"] == SONNET  # the last hop's
    assert span.attributes["anthropic.fallback.reason"] == "refusal"


def test_server_side_fallbacks(telemetry: Any, is_async: bool, sdk_tracing: bool) -> None:
    fake = FakeAnthropic()
    client = sdk.client(fake, is_async, sdk_tracing)
    message = _create(
        client, fallbacks=ENTRIES, betas=["server-side-fallback-2026-07-01"], extra_headers=TWO_REFUSALS
    )
    assert message.model == HAIKU
    assert [b.type for b in message.content] == ["fallback", "fallback", "text"]
    assert len(fake.log) == 1  # one request: the server walked the chain
    assert chains.hops(telemetry) == EXPECTED
    span = _last_span(telemetry)
    assert span.attributes["anthropic.fallback.from_model"] == SONNET
    assert span.attributes["anthropic.fallback.reason"] == "refusal"


def test_one_refusal_one_hop_and_a_plain_refusal_none(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    client = sdk.client(fake, is_async, middleware=[BetaRefusalFallbackMiddleware(ENTRIES)])
    assert _create(client, extra_headers={"x-fake-refuse": OPUS}).model == SONNET
    # Without any fallback configured, a refusal is the answer: no hop.
    plain = sdk.client(fake, is_async)
    assert _create(plain, extra_headers={"x-fake-refuse": OPUS}).stop_reason == "refusal"
    assert chains.hops(telemetry) == {(OPUS, SONNET, "refusal"): 1}


def test_every_model_refuses(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    client = sdk.client(fake, is_async, middleware=[BetaRefusalFallbackMiddleware(ENTRIES)])
    message = _create(client, extra_headers={"x-fake-refuse": f"{OPUS},{SONNET},{HAIKU}"})
    assert message.stop_reason == "refusal"
    # The middleware tried all three: two hops, each counted once, though no model answered.
    assert [r.model for r in fake.log] == [OPUS, SONNET, HAIKU]
    assert chains.hops(telemetry) == EXPECTED


def _stream(client: Any, **kwargs: Any) -> Any:
    if isinstance(client, anthropic.AsyncAnthropic):

        async def read() -> Any:
            async with client.beta.messages.stream(**ARGS, **kwargs) as stream:
                return await stream.get_final_message()

        return asyncio.run(read())
    with client.beta.messages.stream(**ARGS, **kwargs) as stream:
        return stream.get_final_message()


def test_client_side_refusal_fallbacks_on_a_stream(telemetry: Any, is_async: bool, sdk_tracing: bool) -> None:
    fake = FakeAnthropic()
    client = sdk.client(fake, is_async, sdk_tracing, middleware=[BetaRefusalFallbackMiddleware(ENTRIES)])
    message = _stream(client, extra_headers=TWO_REFUSALS)
    # The SDK splices the fallbacks' events onto the open stream, a `fallback` block at each seam:
    # those blocks are what is counted (the hop requests are sent while the app reads the stream).
    assert message.model == HAIKU and message.stop_reason == "end_turn"
    assert [b.type for b in message.content] == ["text", "fallback", "text", "fallback", "text"]
    assert [(r.model, r.status) for r in fake.log] == [(OPUS, 200), (SONNET, 200), (HAIKU, 200)]
    assert chains.hops(telemetry) == EXPECTED
    assert telemetry.value("anthropic.streams", anthropic__stream__end_reason="complete") == 1
    span = _last_span(telemetry)
    assert span.attributes["anthropic.fallback.from_model"] == SONNET
    assert span.attributes["anthropic.fallback.reason"] == "refusal"
