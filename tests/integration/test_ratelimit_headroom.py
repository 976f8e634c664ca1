"""Rate-limit headroom from the headers the fake API sends, through the real SDK: the gauges hold the
last value seen per model and kind; a 429's attempt event names the limit it hit and `x-should-retry`.

The fake announces input tokens 2,000,000 / output tokens 400,000 / requests 4,000 / tokens 2,400,000
per minute on every success, remaining = limit minus this response's own tokens (2,000,000 - total
input, 400,000 - output; tokens: the sum of both; requests always 3,999), reset one minute after the
response (whole seconds).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic, text_tokens

from . import sdk

KINDS = ("input_tokens", "output_tokens", "requests", "tokens")


def _gauges(telemetry: Any, model: str) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for name in ("limit", "remaining", "reset_time"):
        for point in telemetry.points(f"anthropic.ratelimit.{name}"):
            attrs = dict(point.attributes)
            if attrs["gen_ai.request.model"] == model:
                found.setdefault(attrs["anthropic.ratelimit.kind"], {})[name] = point.value
    return found


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
def test_gauges_equal_the_last_headers(telemetry: Any, is_async: bool, stream: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async)
    prompt = "How long is the headroom today?"
    before = time.time()
    for max_tokens in (64, 5):  # the second, shorter answer is the last one seen
        if stream:
            sdk.stream_text(
                c, model=sdk.MODEL, max_tokens=max_tokens, messages=[{"role": "user", "content": prompt}]
            )
        else:
            sdk.create(c, max_tokens=max_tokens, messages=[{"role": "user", "content": prompt}])
    after = time.time()
    total_in = text_tokens(prompt)
    out = 5  # the fake's default reply is 12 tokens; max_tokens 5 cuts it
    gauges = _gauges(telemetry, sdk.MODEL)
    assert sorted(gauges) == list(KINDS)
    assert {kind: (g["limit"], g["remaining"]) for kind, g in gauges.items()} == {
        "input_tokens": (2_000_000, 2_000_000 - total_in),
        "output_tokens": (400_000, 400_000 - out),
        "requests": (4_000, 3_999),
        "tokens": (2_400_000, 2_400_000 - total_in - out),
    }
    for kind in KINDS:
        assert int(before) + 60 <= gauges[kind]["reset_time"] <= after + 60
    assert telemetry.value("anthropic_otel.ratelimit.header_errors") == 0


def test_a_429_event_names_the_limit_and_should_retry(telemetry: Any, is_async: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async, max_retries=1)
    sdk.create(c, messages=[{"role": "user", "content": "hi"}], extra_headers={"x-fake-faults": "429,ok"})
    (span,) = [s for s in telemetry.spans() if any(e.name == "anthropic.attempt" for e in s.events)]
    first, second = [dict(e.attributes) for e in span.events if e.name == "anthropic.attempt"]
    assert first["http.response.status_code"] == 429
    assert first["anthropic.attempt.ratelimit_exhausted"] == "requests"  # "... 4,000 requests per minute"
    assert first["anthropic.attempt.should_retry"] is True
    assert (
        "anthropic.attempt.ratelimit_exhausted" not in second
        and "anthropic.attempt.should_retry" not in second
    )


def test_garbled_headers_are_counted_not_raised(telemetry: Any) -> None:
    from anthropic_otel import _runtime
    from anthropic_otel.state.call import start_call

    runtime = _runtime.current
    assert runtime is not None
    call = start_call(runtime, "/v1/messages", "post", {"model": "m"}, None, False, False)
    assert call is not None
    headers = {"anthropic-ratelimit-tokens-limit": "many", "anthropic-ratelimit-tokens-remaining": "3"}
    call.attempt_answered(200, headers, None)
    call.finish()
    assert telemetry.value("anthropic_otel.ratelimit.header_errors", gen_ai__request__model="m") == 1
    assert _gauges(telemetry, "m") == {"tokens": {"remaining": 3}}
