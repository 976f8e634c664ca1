"""Rate-limit headers parsed exactly: every family and kind, odd values, and the corpus's real headers."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from anthropic_otel.extract.ratelimit import RateLimit, exhausted_kind, rate_limits

from tests.corpus import load_corpus


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()


def test_every_family_and_kind() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "1000",
        "anthropic-ratelimit-requests-remaining": "999",
        "anthropic-ratelimit-requests-reset": "2026-12-05T10:00:01Z",
        "anthropic-ratelimit-input-tokens-limit": "450000",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": "2026-12-05T10:00:30+00:00",
        "anthropic-priority-output-tokens-limit": "90000",
        "anthropic-priority-output-tokens-remaining": "12",
        "anthropic-fast-tokens-remaining": "5",
        "content-type": "application/json",
        "anthropic-ratelimit-unknown-limit": "7",  # not a limit the API names: ignored
    }
    limits, bad = rate_limits(headers)
    assert bad == 0
    assert limits == [
        RateLimit("fast_tokens", None, 5, None),
        RateLimit("input_tokens", 450000, 0, _ts("2026-12-05T10:00:30Z")),
        RateLimit("priority_output_tokens", 90000, 12, None),
        RateLimit("requests", 1000, 999, _ts("2026-12-05T10:00:01Z")),
    ]
    assert _ts("2026-12-05T10:00:01Z") == 1796464801.0
    assert exhausted_kind(limits) == "input_tokens"


def test_httpx_headers_as_received_any_case_parse_like_a_dict() -> None:
    """The SDK hands over httpx's Headers, read as the bytes received: names in any case, odd values."""
    try:
        import httpx2 as httpx  # what anthropic >= 2 sends with
    except ImportError:
        import httpx  # type: ignore[no-redef]

    received = [
        ("Anthropic-RateLimit-Requests-Limit", "1000"),
        ("anthropic-ratelimit-requests-remaining", " 999 "),
        ("ANTHROPIC-RATELIMIT-REQUESTS-RESET", "2026-12-05T10:00:01Z"),
        ("anthropic-ratelimit-tokens-remaining", "12x"),  # garbled: skipped and counted
        ("anthropic-organization-id", "org-1"),
        ("request-id", "req_1"),
    ]
    as_dict = {name.lower(): value for name, value in received}
    assert (
        rate_limits(httpx.Headers(received))
        == rate_limits(as_dict)
        == (
            [RateLimit("requests", 1000, 999, _ts("2026-12-05T10:00:01Z"))],
            1,
        )
    )


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("-1", "limit"),
        ("12.5", "remaining"),
        ("lots", "limit"),
        ("1" + "0" * 16, "remaining"),
        ("tomorrow", "reset"),
        ("2026-12-05T10:00:00", "reset"),
    ],
)
def test_a_value_that_does_not_parse_is_skipped_and_counted(value: str, field: str) -> None:
    headers = {"anthropic-ratelimit-tokens-limit": "100", "anthropic-ratelimit-tokens-remaining": "40"}
    headers[f"anthropic-ratelimit-tokens-{field}"] = value
    limits, bad = rate_limits(headers)
    assert bad == 1
    (limit,) = limits
    assert getattr(limit, "reset_time" if field == "reset" else field) is None


def test_an_epoch_reset_is_no_reset_and_no_error() -> None:
    limits, bad = rate_limits(
        {
            "anthropic-ratelimit-tokens-remaining": "5",
            "anthropic-ratelimit-tokens-reset": "1970-01-01T00:00:00Z",
        }
    )
    assert (limits, bad) == ([RateLimit("tokens", None, 5, None)], 0)


def test_a_429_is_explained_by_its_message_when_nothing_is_at_zero() -> None:
    limits, _ = rate_limits({"anthropic-ratelimit-input-tokens-remaining": "450000"})
    message = (
        "This request would exceed your organization's rate limit of 450,000 input tokens per minute (...)"
    )
    assert exhausted_kind(limits, message) == "input_tokens"
    assert exhausted_kind(limits, "something else") is None
    assert exhausted_kind([], "rate limit of 50 requests per minute") == "requests"


def test_the_corpus_headers() -> None:
    records = [r for r in load_corpus() if any(k.startswith("anthropic-ratelimit-") for k in r["headers"])]
    if not records:
        pytest.skip("the recorded corpus is absent: nothing to compare")
    for record in records:
        headers = record["headers"]
        limits, bad = rate_limits(headers)
        assert bad == 0, record["id"]
        for limit in limits:
            prefix = "anthropic-ratelimit-" + limit.kind.replace("_", "-")
            assert limit.limit == int(headers[prefix + "-limit"]), record["id"]
            assert limit.remaining == int(headers[prefix + "-remaining"]), record["id"]
            reset = headers[prefix + "-reset"]
            assert limit.reset_time == (None if reset.startswith("1970") else _ts(reset)), record["id"]
        if record["status"] == 429:
            message = json.loads(record["body"])["error"]["message"]
            assert exhausted_kind(limits, message) == "input_tokens", record["id"]
