"""A client built before `instrument()` (at import time, before `opentelemetry-instrument` or a
later `instrument()`) is covered like any other: every HTTP attempt of its calls is counted, on
every SDK generation, sync and async, and a second client derived from it counts each attempt once.
"""

from __future__ import annotations

from typing import Any

from anthropic_otel import AnthropicInstrumentor
from anthropic_otel.fake import FakeAnthropic

from . import sdk

MESSAGES = [{"role": "user", "content": "hello"}]


def _reinstrument_around(telemetry: Any, build: Any) -> Any:
    """Build a client with instrumentation off, then turn it on."""
    AnthropicInstrumentor().uninstrument()
    built = build()
    telemetry.instrument()
    return built


def test_attempts_of_a_client_built_before_instrument(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = _reinstrument_around(telemetry, lambda: sdk.client(fake, is_async, max_retries=2))
    sdk.create(c, messages=MESSAGES, extra_headers={"x-fake-faults": "529,529,ok"})
    assert [r.status for r in fake.log] == [529, 529, 200]
    assert telemetry.value("anthropic.attempts", http__response__status_code=529) == 2
    assert telemetry.value("anthropic.attempts", http__response__status_code=200) == 1
    assert telemetry.value("anthropic.attempts") == 3
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == 1

    # Its second call, and a client derived from it, count each attempt once (never twice).
    sdk.create(c, messages=MESSAGES)
    sdk.create(c.with_options(max_retries=1), messages=MESSAGES)
    assert telemetry.value("anthropic.attempts") == 5
    assert telemetry.value("anthropic.requests") == 3


def test_a_client_built_before_instrument_and_used_after_uninstrument(telemetry: Any) -> None:
    fake = FakeAnthropic()
    c = _reinstrument_around(telemetry, lambda: sdk.client(fake, False))
    sdk.create(c, messages=MESSAGES)
    assert telemetry.value("anthropic.attempts") == 1
    AnthropicInstrumentor().uninstrument()
    sdk.create(c, messages=MESSAGES)  # the hook it received passes straight through now
    telemetry.instrument()
    sdk.create(c, messages=MESSAGES)
    assert len(fake.log) == 3
    assert telemetry.value("anthropic.attempts") == 2
