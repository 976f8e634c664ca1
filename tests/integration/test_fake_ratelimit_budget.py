"""Draining the fake's rate-limit budget through the real SDK: the headroom gauges equal what the fake
sent, on the answers and on the 429 that refuses the request past the limit, and that 429's attempt
event names the limit it hit.

Hand numbers: limits 5 requests, 50 input tokens, 1,000 output tokens (tokens 1,050) per minute; the
clock at T + 30 s, T = 1,800,000,000 s (a whole minute), so every reset is T + 60. A prompt of 80
characters is 20 input tokens, each answer 12 output tokens. After two answers: input 50 - 40 = 10,
output 1,000 - 24 = 976, requests 5 - 2 = 3, tokens 1,050 - 64 = 986. The third request needs 20 input
tokens > 10 left: a 429 charging nothing, whose headers read input 0 and the rest unchanged.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake.ratelimit_budget import RateLimits

from tests.clock import Clock

from . import sdk

T = 1_800_000_000.0
PROMPT = [{"role": "user", "content": "x" * 80}]


def _gauges(telemetry: Any) -> dict[str, tuple[float, float, float]]:
    found: dict[str, dict[str, float]] = {}
    for name in ("limit", "remaining", "reset_time"):
        for point in telemetry.points(f"anthropic.ratelimit.{name}"):
            attrs = dict(point.attributes)
            if attrs["gen_ai.request.model"] == sdk.MODEL:
                found.setdefault(attrs["anthropic.ratelimit.kind"], {})[name] = point.value
    return {kind: (g["limit"], g["remaining"], g["reset_time"]) for kind, g in found.items()}


def test_draining_the_budget(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic(
        clock=Clock(T + 30), ratelimits=RateLimits(requests=5, input_tokens=50, output_tokens=1_000)
    )
    c = sdk.client(fake, is_async, max_retries=0)
    for _ in range(2):
        sdk.create(c, messages=PROMPT)
    reset = T + 60
    assert _gauges(telemetry) == {
        "input_tokens": (50, 10, reset),
        "output_tokens": (1_000, 976, reset),
        "requests": (5, 3, reset),
        "tokens": (1_050, 986, reset),
    }
    with pytest.raises(anthropic.RateLimitError):
        sdk.create(c, messages=PROMPT)
    assert _gauges(telemetry) == {
        "input_tokens": (50, 0, reset),
        "output_tokens": (1_000, 976, reset),
        "requests": (5, 3, reset),
        "tokens": (1_050, 986, reset),
    }
    events = [
        dict(e.attributes)
        for s in telemetry.spans()
        for e in s.events
        if e.name == "anthropic.attempt" and dict(e.attributes).get("http.response.status_code") == 429
    ]
    assert [e["anthropic.attempt.ratelimit_exhausted"] for e in events] == ["input_tokens"]
    assert [r.status for r in fake.records()] == [200, 200, 429]
