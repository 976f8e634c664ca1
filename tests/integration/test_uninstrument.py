"""`uninstrument()` restores the SDK, including clients created while instrumented."""

from __future__ import annotations

from typing import Any

import anthropic._base_client as base
import anthropic._streaming as streaming
from anthropic_otel import AnthropicInstrumentor
from anthropic_otel.fake import FakeAnthropic

from . import sdk

MESSAGES = [{"role": "user", "content": "hello"}]


def _patched() -> list[str]:
    targets = [
        (base.SyncAPIClient, "request"),
        (base.AsyncAPIClient, "request"),
        (base.SyncAPIClient, "__init__"),
        (base.AsyncAPIClient, "__init__"),
        (streaming.Stream, "_iter_events"),
        (streaming.AsyncStream, "_iter_events"),
    ]
    return [f"{cls.__name__}.{name}" for cls, name in targets if hasattr(vars(cls)[name], "__wrapped__")]


def test_uninstrument_restores_everything(telemetry: Any) -> None:
    fake = FakeAnthropic()
    sync_client = sdk.client(fake, False)
    async_client = sdk.client(fake, True)
    assert _patched() != []

    AnthropicInstrumentor().uninstrument()
    assert _patched() == []
    # Clients created while instrumented still work and record nothing.
    sdk.create(sync_client, messages=MESSAGES)
    sdk.create(async_client, messages=MESSAGES)
    assert sdk.stream_text(sync_client, messages=MESSAGES).startswith("This is a fake reply")
    assert telemetry.points("anthropic.requests") == []
    assert telemetry.spans() == [] or all(
        s.instrumentation_scope.name != "anthropic_otel" for s in telemetry.spans()
    )
    assert all("anthropic.cost.usd" not in (s.attributes or {}) for s in telemetry.spans())

    # And instrumenting again picks those same clients up.
    telemetry.instrument()
    sdk.create(sync_client, messages=MESSAGES)
    assert telemetry.value("anthropic.requests") == 1


def test_middleware_is_added_once_per_client(telemetry: Any) -> None:
    if not hasattr(base.SyncAPIClient, "middleware"):
        import pytest

        pytest.skip(f"anthropic {sdk.SDK_VERSION} has no client middleware (legacy path)")
    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    derived = c.with_options(timeout=5)
    from anthropic_otel.hooks.middleware import OtelMiddleware

    assert sum(isinstance(m, OtelMiddleware) for m in c.middleware) == 1
    assert sum(isinstance(m, OtelMiddleware) for m in derived.middleware) == 1
    sdk.create(derived, messages=MESSAGES)
    assert telemetry.value("anthropic.requests") == 1
