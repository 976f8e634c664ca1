"""Why each cache write happened, on real SDK calls over the fake API: `anthropic.cache.writes`.

Hand derivation (fake tokenizer: ceil(len / 4) per block; a tool counts by its canonical JSON, 67
characters plus its description: 333 more make 400, so 100 tokens). Every text below is 400
characters (100 tokens) or 40 (10 tokens). The tool's breakpoint is 1-hour, the others 5-minute.

1. tool T (1h), system S1, message u1 (each a breakpoint): nothing cached, 100 (1h) + 100 + 10
   written. This process saw nothing yet: the tools come first, `new_tools`, 210.
2. same tool and system, messages u1, a1, u2 (u2 a breakpoint): T and S1 read (200), the three
   messages written (30). The read proves the tools; S1 was written in 1; the messages are unseen:
   `new_messages`, 30.
3. the fake's clock moves 301 s: the 5-minute entries lapsed, the 1-hour one lives. Call 2 again:
   T read (100), S1 and the messages written again (100 + 30). Every segment was seen: `rewritten`,
   130.
4. one second later, system S2 and message u1 (a breakpoint): T read (100), S2 and u1 written
   (100 + 10). The system prefix is unseen: `new_system`, 110.

Written in all: 1h 100, 5m 110 + 30 + 130 + 110 = 380; 480 = 210 + 30 + 130 + 110 over the causes.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.fake import FakeAnthropic

from tests.clock import Clock

from . import sdk
from .ab_test import cached_system, send_ab_test

FIVE_MINUTES = {"type": "ephemeral"}
TOOL = {
    "name": "lookup",
    "description": "D" * 333,
    "input_schema": {"type": "object"},
    "cache_control": {"type": "ephemeral", "ttl": "1h"},
}
U1, A1, U2 = "q" * 40, "a" * 40, "r" * 40


def _marked(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text, "cache_control": FIVE_MINUTES}]


FIRST_TURN = [{"role": "user", "content": _marked(U1)}]
SECOND_TURN = [
    {"role": "user", "content": U1},
    {"role": "assistant", "content": A1},
    {"role": "user", "content": _marked(U2)},
]

MODES = ["create", "create_stream", "stream_helper"]


def _call(c: Any, mode: str, **kwargs: Any) -> None:
    kwargs["tools"] = [TOOL]
    if mode == "create":
        sdk.create(c, **kwargs)
    elif mode == "create_stream":
        assert sdk.create_stream_events(c, **kwargs)[-1] == "message_stop"
    else:
        assert sdk.stream_text(c, **kwargs).startswith("This is a fake reply")


def _causes_on_spans(telemetry: Any) -> list[Any]:
    return [
        span.attributes[semconv.ANTHROPIC_CACHE_WRITE_CAUSE]
        for span in telemetry.spans()
        if semconv.ANTHROPIC_CACHE_WRITE_CAUSE in (span.attributes or {})
    ]


@pytest.mark.parametrize("mode", MODES)
def test_each_cause_driven_and_summed_over_causes_equals_the_writes(
    telemetry: Any, mode: str, is_async: bool, sdk_tracing: bool
) -> None:
    clock = Clock()
    c = sdk.client(FakeAnthropic(clock=clock), is_async, sdk_tracing)
    _call(c, mode, system=cached_system("S1"), messages=FIRST_TURN)
    _call(c, mode, system=cached_system("S1"), messages=SECOND_TURN)
    clock.now += 301
    _call(c, mode, system=cached_system("S1"), messages=SECOND_TURN)
    clock.now += 1
    _call(c, mode, system=cached_system("S2"), messages=FIRST_TURN)

    writes = {
        cause: telemetry.value("anthropic.cache.writes", anthropic__cache__write_cause=cause)
        for cause in semconv.WRITE_CAUSES
    }
    assert writes == {"new_tools": 210, "new_messages": 30, "rewritten": 130, "new_system": 110}
    tokens = "anthropic.tokens"
    written_1h = telemetry.value(tokens, anthropic__token__type="cache_write_1h")
    written_5m = telemetry.value(tokens, anthropic__token__type="cache_write_5m")
    assert (written_1h, written_5m) == (100, 380)
    assert sum(writes.values()) == written_1h + written_5m
    assert {
        dict(p.attributes)[semconv.GEN_AI_REQUEST_MODEL] for p in telemetry.points("anthropic.cache.writes")
    } == {sdk.MODEL}
    assert _causes_on_spans(telemetry) == ["new_tools", "new_messages", "rewritten", "new_system"]


def test_calls_that_write_nothing_record_no_cause(telemetry: Any) -> None:
    c = sdk.client(FakeAnthropic(), False)
    sdk.create(c, system=cached_system("S"), messages=FIRST_TURN)
    sdk.create(c, system=cached_system("S"), messages=FIRST_TURN)  # reads all 110, writes nothing
    sdk.create(c, messages=[{"role": "user", "content": "no cache_control"}])
    assert [(dict(p.attributes), p.value) for p in telemetry.points("anthropic.cache.writes")] == [
        ({"gen_ai.request.model": sdk.MODEL, "anthropic.cache.write_cause": "new_system"}, 110)
    ]
    assert _causes_on_spans(telemetry) == ["new_system"]


def _ab_traffic(telemetry: Any, is_async: bool, variant_in_system: bool) -> dict[str, float]:
    # The traffic test_cache_variants reads the gauge from (tests/integration/ab_test.py).
    send_ab_test(is_async, variant_in_system)
    found = {
        cause: telemetry.value("anthropic.cache.writes", anthropic__cache__write_cause=cause)
        for cause in semconv.WRITE_CAUSES
    }
    found["variants"] = telemetry.value("anthropic.cache.system_variants", gen_ai__request__model=sdk.MODEL)
    found["read"] = telemetry.value("anthropic.tokens", anthropic__token__type="cache_read")
    found["written"] = telemetry.value("anthropic.tokens", anthropic__token__type="cache_write_5m")
    return found


def test_four_system_variants_first_writes_are_new_system_then_rewrites(
    telemetry: Any, is_async: bool
) -> None:
    # Each variant comes back every 400 s, after its 300 s TTL: all 200 calls write their 100 tokens.
    # The first call of each of the 4 variants is a new system prompt (400); the 196 others write a
    # prefix this process saw before (19,600). Hit ratio 0 / (0 + 20,000) = 0.
    found = _ab_traffic(telemetry, is_async, variant_in_system=True)
    assert found == {
        "new_tools": 0,
        "new_system": 400,
        "new_messages": 0,
        "rewritten": 19_600,
        "variants": 4,
        "read": 0,
        "written": 20_000,
    }
    assert found["read"] / (found["read"] + found["written"]) == 0.0


def test_one_stable_system_writes_once(telemetry: Any, is_async: bool) -> None:
    # The first call writes 100 (new_system), the 199 others read: hit ratio 19,900 / 20,000 = 0.995.
    found = _ab_traffic(telemetry, is_async, variant_in_system=False)
    assert found == {
        "new_tools": 0,
        "new_system": 100,
        "new_messages": 0,
        "rewritten": 0,
        "variants": 1,
        "read": 19_900,
        "written": 100,
    }
    assert found["read"] / (found["read"] + found["written"]) == 0.995


@pytest.mark.parametrize("mode", MODES)
def test_the_apis_diagnosis_beside_ours_on_the_span(
    telemetry: Any, mode: str, is_async: bool, sdk_tracing: bool
) -> None:
    # Call 1 opts in (no previous message), call 2 changes the system prompt and names call 1: the
    # fake diagnoses `system_changed`, and this process calls the write `new_system`.
    c = sdk.client(FakeAnthropic(), is_async, sdk_tracing)
    first = sdk.create(
        c,
        tools=[TOOL],
        system=cached_system("S1"),
        messages=FIRST_TURN,
        extra_body={"diagnostics": {"previous_message_id": None}},
    )
    _call(
        c,
        mode,
        system=cached_system("S2"),
        messages=FIRST_TURN,
        extra_body={"diagnostics": {"previous_message_id": first.id}},
    )
    spans = [dict(span.attributes or {}) for span in telemetry.spans()]
    found = [
        (s.get(semconv.ANTHROPIC_CACHE_WRITE_CAUSE), s.get(semconv.ANTHROPIC_CACHE_MISS_REASON))
        for s in spans
        if semconv.GEN_AI_REQUEST_MODEL in s
    ]
    assert found == [("new_tools", None), ("new_system", "system_changed")]


def test_the_beta_call_with_the_sdks_own_parameter(telemetry: Any) -> None:
    # The newest SDKs type the parameter and the beta header; an unknown previous message is diagnosed.
    c = sdk.client(FakeAnthropic(), False)
    if "diagnostics" not in inspect.signature(c.beta.messages.create).parameters:
        pytest.skip("this SDK has no typed `diagnostics` parameter (extra_body carries it, tested above)")
    message = c.beta.messages.create(
        model=sdk.MODEL,
        max_tokens=8,
        system=cached_system("S"),
        messages=FIRST_TURN,
        diagnostics={"previous_message_id": "msg_gone"},
        betas=["cache-diagnosis-2026-04-07"],
    )
    assert message.diagnostics.cache_miss_reason.type == "previous_message_not_found"
    reasons = [(s.attributes or {}).get(semconv.ANTHROPIC_CACHE_MISS_REASON) for s in telemetry.spans()]
    assert reasons.count("previous_message_not_found") == 1
