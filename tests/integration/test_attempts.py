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


def _faults(script: str) -> dict[str, Any]:
    return {"extra_headers": {"x-fake-faults": script}}


def _events(telemetry: Any) -> list[dict[str, Any]]:
    (span,) = telemetry.spans()
    return [dict(e.attributes) for e in span.events if e.name == "anthropic.attempt"]


def _attempts(telemetry: Any, **attrs: Any) -> float:
    return telemetry.value("anthropic.attempts", **attrs)


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
            "anthropic.attempt.should_retry": True,  # the fake sends x-should-retry: true with a 529
        },
        {
            "anthropic.attempt.number": 1,
            "http.response.status_code": 529,
            "error.type": "overloaded_error",
            "anthropic.attempt.retry_after_s": 0.001,
            "anthropic.attempt.should_retry": True,  # the fake sends x-should-retry: true with a 529
        },
        {"anthropic.attempt.number": 2, "http.response.status_code": 200},
    ]
    assert telemetry.value("anthropic.retries.unacknowledged") == 0


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


def test_429_with_retry_after(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async)
    sdk.create(c, messages=MESSAGES, **_faults("429,ok"))
    assert _attempts(telemetry, http__response__status_code=429, error__type="rate_limit_error") == 1
    assert _attempts(telemetry, http__response__status_code=200) == 1
    first = _events(telemetry)[0]
    # The fake sends retry-after: 1 and retry-after-ms: 1; the millisecond header wins, as in the SDK.
    assert first["anthropic.attempt.retry_after_s"] == 0.001


def test_500_then_200(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async)
    sdk.create(c, messages=MESSAGES, **_faults("500,ok"))
    assert _attempts(telemetry, http__response__status_code=500, error__type="api_error") == 1
    assert _attempts(telemetry, http__response__status_code=200) == 1
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == 1


def test_400_is_not_retried(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=2)
    with pytest.raises(anthropic.BadRequestError):
        sdk.create(c, messages=MESSAGES, **_faults("400"))
    assert len(fake.log) == 1
    assert _attempts(telemetry) == 1
    assert _attempts(telemetry, http__response__status_code=400, error__type="invalid_request_error") == 1


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


def test_max_retries_zero(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=0)
    with pytest.raises(anthropic.APIStatusError):
        sdk.create(c, messages=MESSAGES, **_faults("529,ok"))
    assert len(fake.log) == 1
    assert _attempts(telemetry) == 1
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="error") == 1


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


SCRIPTS = ["529,529,ok", "529,529,529", "429,ok", "500,ok", "400", "timeout,ok", "connection_reset,ok"]


def _behaviour(is_async: bool, max_retries: int) -> list[Any]:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=max_retries)
    seen: list[Any] = []
    for script in SCRIPTS:
        before = len(fake.log)
        try:
            message = sdk.create(c, messages=MESSAGES, **_faults(script))
            seen.append(("ok", message.content[0].text, message.usage.output_tokens))
        except Exception as err:
            seen.append(("raised", type(err), str(err)))
        seen.append(("requests", len(fake.log) - before))
    return seen


@pytest.mark.parametrize("max_retries", [0, 2])
def test_behaviour_identical_to_uninstrumented_sdk(telemetry: Any, is_async: bool, max_retries: int) -> None:
    from anthropic_otel import AnthropicInstrumentor

    instrumented = _behaviour(is_async, max_retries)
    AnthropicInstrumentor().uninstrument()
    bare = _behaviour(is_async, max_retries)
    assert instrumented == bare
    assert telemetry.value("anthropic.requests") == len(SCRIPTS)


def test_vertex_client_attempts_by_status(telemetry: Any) -> None:
    """Vertex sends a different error body; status codes still classify (529 -> overloaded_error)."""
    vertex = pytest.importorskip("anthropic.lib.vertex")
    try:
        import httpx2 as httpx_lib
    except ImportError:
        import httpx as httpx_lib  # type: ignore[no-redef]
    fake = FakeAnthropic()
    statuses = iter([529, 200])

    def handler(request: Any) -> Any:
        status = next(statuses)
        if status == 529:
            body = b'{"error": {"code": 529, "message": "Overloaded", "status": "UNAVAILABLE"}}'
            return httpx_lib.Response(529, headers={"retry-after-ms": "1"}, content=body)
        ok = fake.handle(
            "POST",
            "/v1/messages",
            {},
            b'{"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hello"}]}',
        )
        return httpx_lib.Response(
            200, headers=dict(ok.headers), content=b"".join(c for c in ok.chunks if isinstance(c, bytes))
        )

    try:
        client = vertex.AnthropicVertex(
            region="us-east5",
            project_id="p",
            access_token="t",
            http_client=httpx_lib.Client(transport=httpx_lib.MockTransport(handler)),
            max_retries=2,
        )
    except Exception as err:  # pragma: no cover - depends on the SDK's optional Google deps
        pytest.skip(f"AnthropicVertex cannot be built here: {err}")
    client.messages.create(model="claude-sonnet-4-6@20250101", max_tokens=8, messages=MESSAGES)
    assert _attempts(telemetry, http__response__status_code=529, error__type="overloaded_error") == 1
    assert _attempts(telemetry, http__response__status_code=200) == 1
    assert telemetry.value("anthropic.requests", anthropic__request__outcome="success") == 1
