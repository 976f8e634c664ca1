"""The fake API's per-model rate-limit budget: remaining falls with what each answered request bills
within the minute window of the fake's clock, refills at the window's end, and a request past a limit
is a 429 worded as the API words it, with that limit's remaining 0 and retry-after to the reset.

Hand numbers used throughout: the clock starts at T = 1,800,000,000 s = 2027-01-15T08:00:00Z (a whole
minute), so the first window ends at 08:01:00Z. A prompt of 80 characters is 20 input tokens; the fake
replies 12 tokens unless `x-fake-output-tokens` says otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake.ratelimit_budget import Budget, RateLimits

from tests.clock import Clock

T = 1_800_000_000.0
RESET_1 = "2027-01-15T08:01:00Z"
RESET_2 = "2027-01-15T08:02:00Z"
PROMPT_20 = "x" * 80  # 20 tokens
KINDS = ("input_tokens", "output_tokens", "requests", "tokens")


def fake(clock: Clock, **limits: int) -> FakeAnthropic:
    return FakeAnthropic(clock=clock, ratelimits=RateLimits(**limits))


def send(
    f: FakeAnthropic,
    prompt: str = PROMPT_20,
    model: str = "claude-test",
    headers: dict[str, str] | None = None,
    path: str = "/v1/messages",
    **body: Any,
) -> tuple[int, dict[str, str], bytes]:
    req = {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": prompt}], **body}
    resp = f.handle("POST", path, headers or {}, json.dumps(req).encode())
    chunks = list(resp.chunks)
    return resp.status, dict(resp.headers), b"".join(c for c in chunks if isinstance(c, bytes))


def left(headers: dict[str, str]) -> dict[str, int]:
    return {k: int(headers[f"anthropic-ratelimit-{k.replace('_', '-')}-remaining"]) for k in KINDS}


def limits(headers: dict[str, str]) -> dict[str, int]:
    return {k: int(headers[f"anthropic-ratelimit-{k.replace('_', '-')}-limit"]) for k in KINDS}


def resets(headers: dict[str, str]) -> set[str]:
    return {headers[f"anthropic-ratelimit-{k.replace('_', '-')}-reset"] for k in KINDS}


def test_defaults_are_the_limits_the_fake_always_announced() -> None:
    assert (RateLimits().requests, RateLimits().input_tokens, RateLimits().output_tokens) == (
        4_000,
        2_000_000,
        400_000,
    )
    assert RateLimits().tokens == 2_400_000
    with pytest.raises(ValueError):
        RateLimits(requests=0)


def test_remaining_falls_within_the_window_and_refills_at_its_end() -> None:
    clock = Clock(T + 10)
    f = fake(clock, requests=5, input_tokens=100, output_tokens=40)  # tokens limit 140
    status, h1, _ = send(f)
    assert status == 200
    assert limits(h1) == {"input_tokens": 100, "output_tokens": 40, "requests": 5, "tokens": 140}
    # 100 - 20, 40 - 12, 5 - 1, 140 - 32
    assert left(h1) == {"input_tokens": 80, "output_tokens": 28, "requests": 4, "tokens": 108}
    assert resets(h1) == {RESET_1}
    clock.now = T + 59.9  # still the first window
    _, h2, _ = send(f, stream=True)  # streams are billed alike
    # 80 - 20, 28 - 12, 4 - 1, 108 - 32
    assert left(h2) == {"input_tokens": 60, "output_tokens": 16, "requests": 3, "tokens": 76}
    clock.now = T + 60  # the second window: full again, minus this request
    _, h3, _ = send(f)
    assert left(h3) == {"input_tokens": 80, "output_tokens": 28, "requests": 4, "tokens": 108}
    assert resets(h3) == {RESET_2}


def test_input_tokens_past_the_limit_are_a_429_that_charges_nothing() -> None:
    clock = Clock(T + 15)
    f = fake(clock, requests=5, input_tokens=100, output_tokens=40)
    status, headers, body = send(f, prompt="x" * 404)  # ceil(404 / 4) = 101 tokens > 100
    assert status == 429
    err = json.loads(body)["error"]
    assert err == {
        "type": "rate_limit_error",
        "message": "This request would exceed your organization's rate limit of 100 input tokens per minute (fake).",
    }
    # Nothing was charged; only the exceeded kind reads 0.
    assert left(headers) == {"input_tokens": 0, "output_tokens": 40, "requests": 5, "tokens": 140}
    assert resets(headers) == {RESET_1}
    assert headers["retry-after"] == "45"  # 08:01:00 - 08:00:15
    assert headers["x-should-retry"] == "true"
    assert f.records()[-1].status == 429
    _, after, _ = send(f)
    assert left(after) == {"input_tokens": 80, "output_tokens": 28, "requests": 4, "tokens": 108}


def test_output_tokens_then_requests_past_their_limits() -> None:
    clock = Clock(T)
    f = fake(clock, requests=2, input_tokens=100, output_tokens=40)
    status, h, body = send(f, headers={"x-fake-output-tokens": "41"})
    assert status == 429
    assert "rate limit of 40 output tokens per minute" in json.loads(body)["error"]["message"]
    assert left(h)["output_tokens"] == 0 and left(h)["input_tokens"] == 100
    assert h["retry-after"] == "60"
    assert [send(f)[0] for _ in range(3)] == [200, 200, 429]  # the third is the third request this minute
    _, h, body = send(f)
    assert "rate limit of 2 requests per minute" in json.loads(body)["error"]["message"]
    # 100 - 2 * 20, 40 - 2 * 12, requests 0 (spent and exceeded), 140 - 2 * 32
    assert left(h) == {"input_tokens": 60, "output_tokens": 16, "requests": 0, "tokens": 76}


def test_retry_after_rounds_up_to_a_whole_second() -> None:
    clock = Clock(T + 59.5)
    f = fake(clock, requests=1)
    send(f)
    assert send(f)[1]["retry-after"] == "1"  # 0.5 s to the reset


def test_each_model_has_its_own_budget() -> None:
    f = fake(Clock(T), requests=1)
    assert send(f, model="claude-a")[0] == 200
    assert send(f, model="claude-a")[0] == 429
    status, h, _ = send(f, model="claude-b")
    assert status == 200 and left(h)["requests"] == 0


def test_counting_tokens_charges_nothing() -> None:
    f = fake(Clock(T), requests=1)
    for _ in range(2):
        status, h, _ = send(f, path="/v1/messages/count_tokens")
        assert status == 200 and left(h)["requests"] == 1
    assert send(f)[0] == 200


def test_a_refused_request_writes_no_cache() -> None:
    f = fake(Clock(T), output_tokens=40)
    system = [{"type": "text", "text": "S" * 400, "cache_control": {"type": "ephemeral"}}]  # 100 tokens
    assert send(f, system=system, headers={"x-fake-output-tokens": "41"})[0] == 429
    _, _, body = send(f, system=system)
    usage = json.loads(body)["usage"]
    # Had the refused request written its prefix, this one would read 100 tokens instead of writing them.
    assert (usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]) == (0, 100)


def test_reset_refills_every_budget() -> None:
    f = fake(Clock(T), requests=1)
    send(f)
    f.reset()
    assert send(f)[0] == 200


def test_model_names_are_bounded() -> None:
    clock = Clock(T)
    budget = Budget(RateLimits(), clock)
    for i in range(1_000):
        budget.charge(f"m{i}", 1, 1)
    clock.now = T + 60  # every window ended: the next new name forgets them
    budget.charge("fresh", 1, 1)
    assert len(budget._windows) == 1


def test_without_limits_every_response_is_judged_alone() -> None:
    f = FakeAnthropic(clock=Clock(T))
    for _ in range(2):
        status, h, _ = send(f)
        assert status == 200
        assert left(h) == {
            "input_tokens": 2_000_000 - 20,
            "output_tokens": 400_000 - 12,
            "requests": 3_999,
            "tokens": 2_400_000 - 32,
        }
