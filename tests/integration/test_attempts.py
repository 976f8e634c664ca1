"""Every HTTP attempt counted, the SDK's own retries included, with the real SDK over the fake API.

The fake scripts one logical call per attempt with `x-fake-faults` (indexed by the SDK's
`x-stainless-retry-count`). Error responses carry `retry-after-ms: 1`, so retries sleep 1 ms;
failures without a response (timeout, reset) use the SDK's own 0.5-1 s backoff.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic_otel.fake import FakeAnthropic

from . import sdk

MESSAGES = [{"role": "user", "content": "hello"}]
ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
TRACING = pytest.mark.parametrize("sdk_tracing", [True, False], ids=["sdk-tracing", "no-sdk-tracing"])


def _faults(script: str) -> dict[str, Any]:
    return {"extra_headers": {"x-fake-faults": script}}


def _events(telemetry: Any) -> list[dict[str, Any]]:
    (span,) = telemetry.spans()
    return [dict(e.attributes) for e in span.events if e.name == "anthropic.attempt"]


def _attempts(telemetry: Any, **attrs: Any) -> float:
    return telemetry.value("anthropic.attempts", **attrs)


@TRACING
@ASYNC
def test_529_529_200(telemetry: Any, is_async: bool, sdk_tracing: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, sdk_tracing, max_retries=2)
    sdk.create(c, messages=MESSAGES, **_faults("529,529,ok"))
    assert [r.status for r in fake.log] == [529, 529, 200]
    assert _attempts(telemetry, http__response__status_code=529, error__type="overloaded_error") == 2
    assert _attempts(telemetry, http__response__status_code=200) == 1
    assert _attempts(telemetry) == 3
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == 1
    assert telemetry.value("anthropic.requests") == 1
    assert _events(telemetry) == [
        {
            "anthropic.attempt.number": 0,
            "http.response.status_code": 529,
            "error.type": "overloaded_error",
            "anthropic.attempt.retry_after_s": 0.001,
        },
        {
            "anthropic.attempt.number": 1,
            "http.response.status_code": 529,
            "error.type": "overloaded_error",
            "anthropic.attempt.retry_after_s": 0.001,
        },
        {"anthropic.attempt.number": 2, "http.response.status_code": 200},
    ]
    assert telemetry.value("anthropic.retries.unacknowledged") == 0


@ASYNC
def test_529_three_times_fails_the_request(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=2)
    with pytest.raises(anthropic.APIStatusError) as raised:
        sdk.create(c, messages=MESSAGES, **_faults("529,529,529"))
    assert raised.value.status_code == 529
    assert len(fake.log) == 3
    assert _attempts(telemetry, http__response__status_code=529, error__type="overloaded_error") == 3
    assert _attempts(telemetry) == 3
    assert (
        telemetry.value(
            "anthropic.requests", anthropic__request__outcome="error", error__type="overloaded_error"
        )
        == 1
    )
    assert telemetry.value("gen_ai.client.operation.duration", error__type="overloaded_error") == 1
    assert [e["http.response.status_code"] for e in _events(telemetry)] == [529, 529, 529]


@ASYNC
def test_429_with_retry_after(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async)
    sdk.create(c, messages=MESSAGES, **_faults("429,ok"))
    assert _attempts(telemetry, http__response__status_code=429, error__type="rate_limit_error") == 1
    assert _attempts(telemetry, http__response__status_code=200) == 1
    first = _events(telemetry)[0]
    # The fake sends retry-after: 1 and retry-after-ms: 1; the millisecond header wins, as in the SDK.
    assert first["anthropic.attempt.retry_after_s"] == 0.001


@ASYNC
def test_500_then_200(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async)
    sdk.create(c, messages=MESSAGES, **_faults("500,ok"))
    assert _attempts(telemetry, http__response__status_code=500, error__type="api_error") == 1
    assert _attempts(telemetry, http__response__status_code=200) == 1
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == 1


@ASYNC
def test_400_is_not_retried(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=2)
    with pytest.raises(anthropic.BadRequestError):
        sdk.create(c, messages=MESSAGES, **_faults("400"))
    assert len(fake.log) == 1
    assert _attempts(telemetry) == 1
    assert _attempts(telemetry, http__response__status_code=400, error__type="invalid_request_error") == 1


@TRACING
@ASYNC
@pytest.mark.parametrize(
    ("fault", "error_type"), [("timeout", "timeout"), ("connection_reset", "connection_error")]
)
def test_unacknowledged_failure_then_retry(
    telemetry: Any, is_async: bool, sdk_tracing: bool, fault: str, error_type: str
) -> None:
    """The body reached the server, no answer came back, the SDK sent it again: a possible double bill."""
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, sdk_tracing, max_retries=2)
    sdk.create(c, messages=MESSAGES, **_faults(f"{fault},ok"))
    assert len(fake.log) == 2
    failed = [
        p for p in telemetry.points("anthropic.attempts") if "http.response.status_code" not in p.attributes
    ]
    assert [(dict(p.attributes), p.value) for p in failed] == [
        ({"gen_ai.request.model": sdk.MODEL, "error.type": error_type}, 1)
    ]
    assert _attempts(telemetry, http__response__status_code=200) == 1
    assert telemetry.value("anthropic.retries.unacknowledged", error__type=error_type) == 1
    assert _events(telemetry) == [
        {"anthropic.attempt.number": 0, "error.type": error_type},
        {
            "anthropic.attempt.number": 1,
            "http.response.status_code": 200,
            "anthropic.attempt.retry_of_unacknowledged": True,
        },
    ]


@ASYNC
def test_max_retries_zero(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=0)
    with pytest.raises(anthropic.APIStatusError):
        sdk.create(c, messages=MESSAGES, **_faults("529,ok"))
    assert len(fake.log) == 1
    assert _attempts(telemetry) == 1
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="error") == 1


@ASYNC
def test_stream_attempts_and_overload_inside_a_200_stream(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=2)
    sdk.create_stream_events(c, messages=MESSAGES, **_faults("529,ok"))
    with pytest.raises(anthropic.APIStatusError):
        sdk.create_stream_events(c, messages=MESSAGES, **_faults("error_event"))
    assert _attempts(telemetry, http__response__status_code=529) == 1
    assert _attempts(telemetry, http__response__status_code=200) == 2
    # The overload inside the 200 stream fails the request with the API's error.type.
    assert (
        telemetry.value(
            "anthropic.requests", anthropic__request__outcome="error", error__type="overloaded_error"
        )
        == 1
    )


def test_seeded_529_rate_matches_what_the_fake_sent(telemetry: Any) -> None:
    """~10,000 attempts at a 2 % 529 rate: our count equals the fake's own bookkeeping exactly."""
    fake = FakeAnthropic(seed=20261125, fault_rates={"overloaded": 0.02}, keep_log=False)
    c = sdk.client(fake, False, max_retries=2)
    calls = 9_800
    failed = 0
    for _ in range(calls):
        try:
            c.messages.create(model=sdk.MODEL, max_tokens=8, messages=MESSAGES)
        except anthropic.APIStatusError:
            failed += 1
    sent_529 = fake.sent_statuses[529]
    total_sent = sum(fake.sent_statuses.values())
    assert total_sent >= 9_900 and 100 < sent_529 < 300
    assert _attempts(telemetry, http__response__status_code=529, error__type="overloaded_error") == sent_529
    assert _attempts(telemetry) == total_sent
    assert telemetry.value("anthropic.requests") == calls
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="error") == failed
