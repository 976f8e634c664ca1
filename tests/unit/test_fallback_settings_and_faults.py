"""The fallback window setting, the fallback reason of each failure, and the fake's per-model fault scripts."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.settings import Settings, load_settings
from anthropic_otel.state.hops import reason_of


def test_fallback_window_default_environment_and_keyword() -> None:
    assert Settings().fallback_window_s == 30.0
    assert load_settings({"ANTHROPIC_OTEL_FALLBACK_WINDOW_S": "5.5"}).fallback_window_s == 5.5
    assert (
        load_settings({"ANTHROPIC_OTEL_FALLBACK_WINDOW_S": "5.5"}, fallback_window_s=2).fallback_window_s
        == 2.0
    )


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_invalid_fallback_window_warns_once_and_uses_the_default(
    caplog: pytest.LogCaptureFixture, value: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        s = load_settings({"ANTHROPIC_OTEL_FALLBACK_WINDOW_S": value})
    assert s.fallback_window_s == 30.0
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "ANTHROPIC_OTEL_FALLBACK_WINDOW_S" in warning.getMessage() and repr(value) in warning.getMessage()


class _StatusError(Exception):
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


@pytest.mark.parametrize(
    ("error", "error_type", "reason"),
    [
        (None, "overloaded_error", "overloaded"),
        (None, "rate_limit_error", "rate_limited"),
        (None, "api_error", "server_error"),
        (None, "timeout", "timeout"),
        (None, "connection_error", "timeout"),
        (_StatusError(503), "_OTHER", "server_error"),  # another 5xx without the API's type
        (_StatusError(529), "InternalServerError", "overloaded"),
        (_StatusError(400), "invalid_request_error", None),
        (_StatusError(401), "authentication_error", None),
        (None, "ValueError", None),
    ],
)
def test_reason_of_each_failure(error: Any, error_type: str, reason: str | None) -> None:
    assert reason_of(error, error_type) == reason


def _status(fake: FakeAnthropic, model: str, script: str, retry: int) -> int:
    body = json.dumps({"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]})
    headers = {"x-fake-faults": script, "x-stainless-retry-count": str(retry)}
    return fake.handle("POST", "/v1/messages", headers, body.encode()).status


def test_fault_script_per_model() -> None:
    fake = FakeAnthropic()
    script = "claude-sonnet-5=529,529;claude-sonnet-4-6=429"
    assert [_status(fake, "claude-sonnet-5", script, n) for n in range(3)] == [529, 529, 200]
    assert [_status(fake, "claude-sonnet-4-6", script, n) for n in range(2)] == [429, 200]
    assert _status(fake, "claude-haiku-4-5", script, 0) == 200  # not named: no faults
    assert _status(fake, "claude-haiku-4-5", "claude-sonnet-5=529;oops", 0) == 400  # a part without '='
