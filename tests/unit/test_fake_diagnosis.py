"""The fake API's cache diagnosis: computed from the requests it saw, in the API's shape.

Token counts (ceil(len / 4) per block): a 400-character system prompt is 100 tokens, "Hi" 1 token.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake import diagnosis as fake_diagnosis

from tests.corpus import sse_events

CC = {"type": "ephemeral"}
SYSTEM = [{"type": "text", "text": "S" * 400, "cache_control": CC}]
HI = {"role": "user", "content": "Hi"}
TOOL = {"name": "t", "input_schema": {"type": "object"}}


def _send(fake: FakeAnthropic, previous: str | None = None, **body: Any) -> dict[str, Any]:
    body.setdefault("model", "claude-test")
    body.setdefault("max_tokens", 10)
    body.setdefault("messages", [HI])
    body.setdefault("system", SYSTEM)
    body["diagnostics"] = {"previous_message_id": previous}
    resp = fake.handle("POST", "/v1/messages", {}, json.dumps(body).encode())
    assert resp.status == 200
    return json.loads(b"".join(c for c in resp.chunks if isinstance(c, bytes)))  # type: ignore[no-any-return]


def _reason(message: dict[str, Any]) -> Any:
    diagnostics = message["diagnostics"]
    return None if diagnostics is None else diagnostics["cache_miss_reason"]


def test_only_a_request_that_asks_gets_the_field() -> None:
    fake = FakeAnthropic()
    resp = fake.handle(
        "POST", "/v1/messages", {}, json.dumps({"model": "m", "max_tokens": 5, "messages": [HI]}).encode()
    )
    assert "diagnostics" not in json.loads(b"".join(c for c in resp.chunks if isinstance(c, bytes)))
    first = _send(fake)  # the first turn opts in without a previous message: nothing to compare
    assert first["diagnostics"] is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"model": "claude-other"}, {"type": "model_changed", "cache_missed_input_tokens": 100}),
        # The tool comes before the system prompt: the whole cached prefix (100) is after the change.
        ({"tools": [TOOL]}, {"type": "tools_changed", "cache_missed_input_tokens": 100}),
        (
            {"system": [{**SYSTEM[0], "text": "T" * 400}]},
            {"type": "system_changed", "cache_missed_input_tokens": 100},
        ),
        # The cached prefix ends with the system prompt, which matched: nothing of it was missed.
        (
            {"messages": [{"role": "user", "content": "Ho"}]},
            {"type": "messages_changed", "cache_missed_input_tokens": 0},
        ),
        ({"tool_choice": {"type": "none"}}, {"type": "unavailable"}),
        ({}, None),
        # Messages only appended: no divergence.
        ({"messages": [HI, {"role": "assistant", "content": "A"}, HI]}, None),
    ],
)
def test_the_first_divergence_in_cache_order(change: dict[str, Any], expected: Any) -> None:
    fake = FakeAnthropic()
    first = _send(fake)
    assert _reason(_send(fake, first["id"], **change)) == expected


def test_an_unknown_previous_message() -> None:
    fake = FakeAnthropic()
    assert _reason(_send(fake, "msg_unknown")) == {"type": "previous_message_not_found"}


def test_a_stream_carries_it_on_message_start() -> None:
    fake = FakeAnthropic()
    first = _send(fake)
    body = {
        "model": "claude-test",
        "max_tokens": 10,
        "stream": True,
        "system": [{**SYSTEM[0], "text": "T" * 400}],
        "messages": [HI],
        "diagnostics": {"previous_message_id": first["id"]},
    }
    resp = fake.handle("POST", "/v1/messages", {}, json.dumps(body).encode())
    raw = b"".join(c for c in resp.chunks if isinstance(c, bytes))
    name, data = sse_events(raw.decode())[0]
    assert name == "message_start"
    assert json.loads(data)["message"]["diagnostics"] == {
        "cache_miss_reason": {"type": "system_changed", "cache_missed_input_tokens": 100}
    }


def test_fingerprints_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_diagnosis, "MAX_FINGERPRINTS", 2)
    fake = FakeAnthropic()
    oldest = _send(fake)["id"]
    _send(fake)
    _send(fake)
    assert _reason(_send(fake, oldest)) == {"type": "previous_message_not_found"}
