"""Why a call wrote to the prompt cache: segments of the cached prefix, seen or not, bounded."""

from __future__ import annotations

import weakref
from typing import Any

import pytest
from anthropic_otel.state import write_causes
from anthropic_otel.state.write_causes import WriteCauses, cached_segments

from tests.clock import Clock

CC = {"type": "ephemeral"}
TOOLS = [{"name": "lookup", "input_schema": {"type": "object"}, "cache_control": CC}]


def _system(text: str, marked: bool = True) -> list[dict[str, Any]]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if marked:
        block["cache_control"] = CC
    return [block]


def _body(system: Any = None, messages: Any = None, tools: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "m",
        "max_tokens": 5,
        "messages": messages or [{"role": "user", "content": "q"}],
    }
    if system is not None:
        body["system"] = system
    if tools is not None:
        body["tools"] = tools
    body.update(extra)
    return body


def _causes(segments: list[tuple[str, str, bool]]) -> list[tuple[str, bool]]:
    return [(cause, proven) for cause, _, proven in segments]


def test_the_prefix_ends_at_the_last_breakpoint() -> None:
    # Breakpoint on the system block: the user message after it is not part of the cached prefix.
    assert _causes(cached_segments(_body(_system("S")))) == [("new_system", False)]
    # Breakpoints on the tool and on the last message: three segments, a read proves only the tools.
    turn = [{"role": "user", "content": [{"type": "text", "text": "q", "cache_control": CC}]}]
    assert _causes(cached_segments(_body(_system("S", marked=False), turn, TOOLS))) == [
        ("new_tools", True),
        ("new_system", False),
        ("new_messages", False),
    ]


def test_automatic_caching_and_no_marker_cover_the_whole_prompt() -> None:
    # One breakpoint at the end: a read is the earlier turn's prefix, every segment but the last.
    automatic = _body(_system("S", marked=False), cache_control=CC)
    unmarked = _body(_system("S", marked=False))
    assert _causes(cached_segments(automatic)) == [("new_system", True), ("new_messages", False)]
    assert _causes(cached_segments(unmarked)) == [("new_system", True), ("new_messages", False)]


def test_digests_are_cumulative_and_ignore_the_markers() -> None:
    with_tools = cached_segments(_body(_system("S"), tools=TOOLS))[1][1]
    without_tools = cached_segments(_body(_system("S")))[0][1]
    assert with_tools != without_tools  # the system digest covers the tools before it
    moved = cached_segments(_body(_system("S", marked=False), [{"role": "user", "content": "q"}], TOOLS))
    marked_message = [{"role": "user", "content": [{"type": "text", "text": "q", "cache_control": CC}]}]
    again = cached_segments(_body(_system("S", marked=False), marked_message, TOOLS))
    assert moved[0][1] == again[0][1]  # the tools prefix is the same, wherever later markers sit
    assert len(with_tools) == 24  # a digest, never the text


def test_first_unseen_segment_names_the_cause_then_rewritten() -> None:
    causes = WriteCauses(window_s=3600.0, clock=Clock())
    a, b = _body(_system("A")), _body(_system("B"))
    assert causes.cache_written("m", a, read=False) == "new_system"
    assert causes.cache_written("m", b, read=False) == "new_system"
    assert causes.cache_written("m", a, read=False) == "rewritten"
    assert causes.cache_written("other-model", a, read=False) == "new_system"  # per model
    with_tools = _body(_system("A"), tools=TOOLS)
    assert causes.cache_written("m", with_tools, read=False) == "new_tools"
    turn = [{"role": "user", "content": [{"type": "text", "text": "q1", "cache_control": CC}]}]
    assert causes.cache_written("m", _body(_system("A"), turn, TOOLS), read=False) == "new_messages"


def test_a_read_proves_the_segments_up_to_the_first_breakpoint() -> None:
    causes = WriteCauses(window_s=3600.0, clock=Clock())
    turn = [{"role": "user", "content": [{"type": "text", "text": "q", "cache_control": CC}]}]
    body = _body(_system("written by another process"), turn)
    # It read the system prefix (never written here) and wrote the messages: the messages are new.
    assert causes.cache_written("m", body, read=True) == "new_messages"
    # Without the read, the unseen system prefix comes first.
    fresh = WriteCauses(window_s=3600.0, clock=Clock())
    assert fresh.cache_written("m", body, read=False) == "new_system"


def test_seen_prefixes_are_forgotten_after_the_window_from_their_last_write() -> None:
    clock = Clock(1000.0)
    causes = WriteCauses(window_s=600.0, clock=clock)
    a = _body(_system("A"))
    assert causes.cache_written("m", a, read=False) == "new_system"
    clock.now = 1000 + 600  # exactly the window: still seen
    assert causes.cache_written("m", a, read=False) == "rewritten"
    clock.now = 1600 + 600.5
    assert causes.cache_written("m", a, read=False) == "new_system"


def test_memory_is_bounded_per_model_and_in_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_causes, "MAX_PREFIXES_PER_MODEL", 3)
    monkeypatch.setattr(write_causes, "MAX_MODELS", 2)
    causes = WriteCauses(window_s=3600.0, clock=Clock())
    for i in range(5):
        causes.cache_written("m", _body(_system(f"S{i}")), read=False)
    # The 3 most recent (S2..S4) are kept: S4 is seen, S0 was pushed out.
    assert causes.cache_written("m", _body(_system("S4")), read=False) == "rewritten"
    assert causes.cache_written("m", _body(_system("S0")), read=False) == "new_system"
    causes.cache_written("x", _body(_system("S")), read=False)
    causes.cache_written("y", _body(_system("S")), read=False)  # a third model: the least recent (m) goes
    assert causes.cache_written("x", _body(_system("S")), read=False) == "rewritten"
    assert causes.cache_written("m", _body(_system("S0")), read=False) == "new_system"
    assert len(causes._seen) == 2


def test_a_forked_child_starts_empty_with_a_lock_of_its_own() -> None:
    causes = WriteCauses(window_s=3600.0, clock=Clock())
    a = _body(_system("A"))
    causes.cache_written("m", a, read=False)
    lock = causes._lock
    write_causes._reset_after_fork(weakref.ref(causes))  # what os.register_at_fork runs in the child
    assert causes._lock is not lock
    assert causes.cache_written("m", a, read=False) == "new_system"
