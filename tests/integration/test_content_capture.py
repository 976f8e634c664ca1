"""Content capture through the real SDK: each value capped to an exact length with a visible marker,
the SDK's "not given" sentinels never recorded, and the standard GenAI content switch honoured."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic

from . import sdk

EVENT = "gen_ai.client.inference.operation.details"
MARKER = "...[truncated]"
USER_PREFIX = '[{"role": "user", "content": "'  # 30 characters, then the text, then '"}]'


def _capture_on(telemetry: Any, **settings: Any) -> None:
    telemetry.reinstrument(**settings)


def _content(telemetry: Any) -> list[dict[str, Any]]:
    """The content event's attributes, one per span (every span must have exactly one)."""
    found = []
    for span in telemetry.spans():
        events = [dict(e.attributes) for e in span.events if e.name == EVENT]
        assert len(events) == 1, span.name
        found.append(events[0])
    return found


def _output_json(text: str) -> str:
    return json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": text}]}])


def test_a_five_million_character_prompt_is_cut_to_the_default_16384(telemetry: Any, is_async: bool) -> None:
    _capture_on(telemetry, capture_content=True)
    c = sdk.client(FakeAnthropic(), is_async)
    reply = sdk.create(c, messages=[{"role": "user", "content": "x" * 5_000_000}]).content[0].text
    (attrs,) = _content(telemetry)
    recorded = attrs["gen_ai.input.messages"]
    assert len(recorded) == 16384
    assert recorded == USER_PREFIX + "x" * (16384 - 30 - 14) + MARKER
    assert attrs["anthropic.content.truncated"] == ("gen_ai.input.messages",)
    assert attrs["gen_ai.output.messages"] == _output_json(reply)  # 110 characters: kept whole


def _three_ways(c: Any, **kwargs: Any) -> str:
    """A create, a messages.stream and a create(stream=True) call, all read to the end: the reply text."""
    reply = sdk.create(c, **kwargs).content[0].text
    assert sdk.stream_text(c, **kwargs) == reply
    assert sdk.create_stream_events(c, **kwargs)[-1] == "message_stop"
    return str(reply)


def test_every_value_capped_to_the_limit_from_the_environment(
    telemetry: Any, monkeypatch: pytest.MonkeyPatch, is_async: bool, sdk_tracing: bool
) -> None:
    monkeypatch.setenv("ANTHROPIC_OTEL_CAPTURE_CONTENT", "true")
    monkeypatch.setenv("ANTHROPIC_OTEL_CAPTURE_CONTENT_MAX_CHARS", "100")
    _capture_on(telemetry)
    c = sdk.client(FakeAnthropic(), is_async, sdk_tracing)
    reply = _three_ways(
        c,
        system="S" * 200,
        messages=[{"role": "user", "content": "x" * 200}],
        extra_headers={"x-fake-output-tokens": "40"},
    )
    recorded = _content(telemetry)
    assert len(recorded) == 3
    for attrs in recorded:
        assert attrs["gen_ai.input.messages"] == USER_PREFIX + "x" * 56 + MARKER
        assert attrs["gen_ai.system_instructions"] == '"' + "S" * 85 + MARKER
        assert attrs["gen_ai.output.messages"] == _output_json(reply)[:86] + MARKER
        assert attrs["anthropic.content.truncated"] == (
            "gen_ai.input.messages",
            "gen_ai.system_instructions",
            "gen_ai.output.messages",
        )
        assert all(len(attrs[k]) == 100 for k in attrs["anthropic.content.truncated"])


def test_values_within_the_limit_are_whole_and_not_marked(telemetry: Any, is_async: bool) -> None:
    # '[{"role": "user", "content": "' + 67 characters + '"}]' is exactly 100 characters.
    _capture_on(telemetry, capture_content=True, capture_content_max_chars=100)
    c = sdk.client(FakeAnthropic(), is_async)
    sdk.create(
        c, messages=[{"role": "user", "content": "y" * 67}], extra_headers={"x-fake-output-tokens": "1"}
    )
    (attrs,) = _content(telemetry)
    assert attrs["gen_ai.input.messages"] == USER_PREFIX + "y" * 67 + '"}]'
    assert "anthropic.content.truncated" not in attrs


def test_no_system_prompt_records_no_system_instructions(
    telemetry: Any, is_async: bool, sdk_tracing: bool
) -> None:
    _capture_on(telemetry, capture_content=True)
    c = sdk.client(FakeAnthropic(), is_async, sdk_tracing)
    _three_ways(c, messages=[{"role": "user", "content": "hi"}])
    recorded = _content(telemetry)
    assert len(recorded) == 3
    for attrs in recorded:
        assert set(attrs) == {"gen_ai.input.messages", "gen_ai.output.messages"}
        assert attrs["gen_ai.input.messages"] == '[{"role": "user", "content": "hi"}]'


@pytest.mark.parametrize(
    ("value", "captured"), [("true", True), ("SPAN_AND_EVENT", True), ("NO_CONTENT", False)]
)
def test_the_standard_genai_switch_turns_capture_on(
    telemetry: Any, monkeypatch: pytest.MonkeyPatch, value: str, captured: bool
) -> None:
    monkeypatch.delenv("ANTHROPIC_OTEL_CAPTURE_CONTENT", raising=False)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    _capture_on(telemetry)
    sdk.create(sdk.client(FakeAnthropic(), False), messages=[{"role": "user", "content": "hi"}])
    (span,) = telemetry.spans()
    assert [e.name for e in span.events if e.name == EVENT] == ([EVENT] if captured else [])
