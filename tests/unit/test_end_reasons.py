"""The one end-reason classifier: every signal (and every exception a read can raise) maps to exactly
one reason of the closed list, and each reason to the request outcome. Rows derived from the design's
definitions of the six reasons."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import typing
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.extract.end_reasons import EndSignal, end_reason, outcome_error_type

# The HTTP library the installed SDK reads with: `httpx2` from anthropic 1.0 on, `httpx` before.
httpx = pytest.importorskip("httpx2") if importlib.util.find_spec("httpx2") else pytest.importorskip("httpx")


class _ErrorEventRaised(Exception):
    """What the SDK raises for an `event: error`: an API error carrying the event's body."""

    def __init__(self, body: Any) -> None:
        super().__init__("stream error")
        self.body = body


_OVERLOADED = _ErrorEventRaised({"type": "error", "error": {"type": "overloaded_error", "message": "x"}})
_REQUEST = httpx.Request("POST", "https://api.anthropic.com/v1/messages")


def test_the_reasons_are_a_closed_list_of_six() -> None:
    assert typing.get_args(semconv.EndReason) == semconv.END_REASONS
    assert len(semconv.END_REASONS) == 6


@pytest.mark.parametrize(
    ("signal", "kwargs", "reason"),
    [
        ("message_stop", {}, "complete"),
        ("message_stop", {"enforced": True}, "complete"),  # message_stop arrived first: it wins
        ("error_event", {}, "error"),
        ("malformed_event", {}, "error"),
        ("body_ended", {}, "unexpected_close"),
        ("caller_closed", {}, "cancelled"),
        ("dropped", {}, "abandoned"),
        ("dropped", {"cancelling": True}, "cancelled"),
        ("sdk_closed", {}, "abandoned"),
        ("sdk_closed", {"cancelling": True}, "cancelled"),
        ("idle", {}, "timeout"),
        ("read_failed", {"enforced": True, "error": httpx.ReadError("closed by us")}, "timeout"),
        ("sdk_ended", {"enforced": True}, "timeout"),
        ("sdk_ended", {"stopped": True}, "complete"),
        ("sdk_ended", {}, "unexpected_close"),
        ("sdk_ended", {"error": httpx.ReadTimeout("slow")}, "timeout"),
        ("read_failed", {}, "unexpected_close"),  # no exception object: the read simply stopped
    ],
)
def test_each_signal_maps_to_one_reason(signal: EndSignal, kwargs: dict[str, Any], reason: str) -> None:
    assert end_reason(signal, **kwargs) == reason


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ReadTimeout("idle read", request=_REQUEST), "timeout"),
        (httpx.RemoteProtocolError("peer closed connection", request=_REQUEST), "unexpected_close"),
        (httpx.ReadError("connection reset", request=_REQUEST), "unexpected_close"),
        (ConnectionResetError(), "unexpected_close"),
        (TimeoutError(), "timeout"),
        (json.JSONDecodeError("Expecting value", "x", 0), "error"),
        (_OVERLOADED, "error"),
        (asyncio.CancelledError(), "cancelled"),
        (KeyboardInterrupt(), "cancelled"),
        (GeneratorExit(), "abandoned"),
        (RuntimeError("the app's own bug while iterating"), "unexpected_close"),
    ],
)
def test_each_exception_of_a_failed_read_maps_to_one_reason(error: BaseException, reason: str) -> None:
    assert end_reason("read_failed", error) == reason
    assert end_reason("sdk_ended", error) == reason


@pytest.mark.parametrize(
    ("reason", "error", "error_type", "outcome"),
    [
        ("complete", None, None, None),
        ("cancelled", asyncio.CancelledError(), None, None),
        ("abandoned", None, None, None),
        ("error", None, "overloaded_error", "overloaded_error"),
        ("error", None, "malformed_response", "malformed_response"),
        ("error", _OVERLOADED, None, "overloaded_error"),
        ("error", None, None, "api_error"),
        ("timeout", None, None, "timeout"),
        ("timeout", httpx.ReadError("closed by us"), None, "timeout"),
        ("unexpected_close", None, None, "connection_error"),
        ("unexpected_close", httpx.RemoteProtocolError("dropped"), None, "connection_error"),
    ],
)
def test_each_reason_gives_the_request_outcome(
    reason: semconv.EndReason, error: BaseException | None, error_type: str | None, outcome: str | None
) -> None:
    assert outcome_error_type(reason, error, error_type) == outcome
