"""The API's cache-miss diagnosis read from a response: the reason's type, bounded to the documented values."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic_otel import semconv
from anthropic_otel.extract.cache_diagnosis import cache_miss_reason, event_cache_miss_reason


def _message(diagnostics: Any) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
        "diagnostics": diagnostics,
    }


@pytest.mark.parametrize("kind", semconv.CACHE_MISS_REASONS)
def test_each_documented_reason_is_kept(kind: str) -> None:
    reason: dict[str, Any] = {"type": kind}
    if kind not in ("previous_message_not_found", "unavailable"):
        reason["cache_missed_input_tokens"] = 100
    message = _message({"cache_miss_reason": reason})
    assert cache_miss_reason(message) == kind
    # The SDK's own object (typed on new SDKs; an unknown field kept as a dict on old ones).
    assert cache_miss_reason(anthropic.types.Message.model_validate(message)) == kind


@pytest.mark.parametrize(
    ("diagnostics", "expected"),
    [
        (None, None),  # not asked for, or nothing diverged
        ({"cache_miss_reason": None}, None),  # the comparison is still pending
        ({"cache_miss_reason": {"type": "cosmic_ray"}}, "_OTHER"),  # unknown: one bounded value
        ({"cache_miss_reason": {"type": 7}}, "_OTHER"),
        ({"cache_miss_reason": "system_changed"}, "_OTHER"),
    ],
)
def test_absent_pending_and_unknown(diagnostics: Any, expected: str | None) -> None:
    assert cache_miss_reason(_message(diagnostics)) == expected


def test_a_message_without_the_field() -> None:
    message = _message(None)
    del message["diagnostics"]
    assert cache_miss_reason(message) is None
    assert cache_miss_reason(anthropic.types.Message.model_validate(message)) is None


def test_stream_events() -> None:
    changed = {"cache_miss_reason": {"type": "tools_changed", "cache_missed_input_tokens": 5}}
    assert event_cache_miss_reason({"type": "message_start", "message": _message(changed)}) == "tools_changed"
    assert event_cache_miss_reason({"type": "message_start", "message": _message(None)}) is None
    assert event_cache_miss_reason({"type": "message_delta", "delta": {}, "usage": {}}) is None
    assert event_cache_miss_reason({"type": "message_delta", "diagnostics": changed}) == "tools_changed"
    assert (
        event_cache_miss_reason({"type": "message_delta", "delta": {"diagnostics": changed}})
        == "tools_changed"
    )
    assert event_cache_miss_reason(["not", "an", "event"]) is None
