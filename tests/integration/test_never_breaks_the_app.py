"""Force every internal step to raise: the app's results, exceptions and HTTP attempts must not change.

Each scenario runs once uninstrumented (the reference) and once instrumented with one internal
step sabotaged; return values, exception types and messages, and the number of requests the fake
API received must be identical, and the failure must be counted as an internal error.
"""

from __future__ import annotations

from typing import Any, Callable

import anthropic
import pytest
from anthropic_otel import Cascade, pricing
from anthropic_otel.dedup import MemoryStore, detector
from anthropic_otel.extract import usage
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.hooks import request as _calls
from anthropic_otel.recorder import Recorder
from anthropic_otel.state import call as _call
from anthropic_otel.state import stream as stream_states
from anthropic_otel.state.model_fit import ModelFit

from . import sdk

MESSAGES = [{"role": "user", "content": "hello"}]
SYSTEM = [{"type": "text", "text": "S" * 400, "cache_control": {"type": "ephemeral"}}]


# Every answer escalates: the request passes through both stages, then keeps the last.
CASCADE = Cascade(["claude-haiku-4-5", sdk.MODEL], escalate=lambda _message: True, name="sabotage")


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("sabotaged internal step")


SABOTAGE: dict[str, tuple[Any, str]] = {
    "call.start": (_calls, "_start"),
    "call.returned": (_call.CallState, "returned"),
    "call.take_message": (_call.CallState, "take_message"),
    "call.enrich_span": (_call.CallState, "enrich_span"),
    "call.record": (_call.CallState, "_record"),
    "usage.from_message": (_call, "usage_from_message"),
    "usage.stream_feed": (usage.StreamUsage, "feed"),
    "pricing.cost": (pricing.PriceTable, "cost"),
    "stream.open": (_calls, "open_stream"),
    "stream.event": (stream_states.StreamState, "_event"),
    "stream.first_delta": (stream_states.StreamState, "_first_delta"),
    "stream.end": (stream_states.StreamState, "end"),
    "stream.record_end": (stream_states.StreamState, "_record_end"),
    "attempt.end": (_call.CallState, "_attempt_ended"),
    "attempt.begin": (_call.CallState, "attempt_started"),
    "dedup.fingerprint": (detector, "fingerprint"),
    "dedup.memory_begin": (MemoryStore, "begin"),
    "dedup.settle": (_call.CallState, "_settle_dedup"),
    "recorder.call_ended": (Recorder, "call_ended"),
    "recorder.attempt_ended": (Recorder, "attempt_ended"),
    "recorder.stream_ended": (Recorder, "stream_ended"),
    "recorder.duplicate_seen": (Recorder, "duplicate_seen"),
    "call.model_fit": (_call.CallState, "_note_model_fit"),
    "model_fit.call_succeeded": (ModelFit, "call_succeeded"),
    "recorder.model_fit": (Recorder, "model_fit"),
    "cascade.stage": (Cascade, "_stage_answered"),
    "cascade.escalated": (Cascade, "_escalated"),
    "cascade.kept": (Cascade, "_answer_kept"),
    "recorder.cascade_stage": (Recorder, "cascade_stage"),
    "recorder.cascade_escalated": (Recorder, "cascade_escalated"),
    "recorder.cascade_kept": (Recorder, "cascade_kept"),
}


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", fn())
    except Exception as err:  # the exception itself is part of the app-visible behaviour
        return ("raised", (type(err), str(err)))


def scenarios(c: Any) -> dict[str, Callable[[], Any]]:
    def create() -> Any:
        m = sdk.create(c, system=SYSTEM, messages=MESSAGES)
        return (
            m.content[0].text,
            m.usage.input_tokens,
            m.usage.output_tokens,
            m.usage.cache_read_input_tokens,
        )

    return {
        "create": create,
        "create_stream": lambda: sdk.create_stream_events(c, messages=MESSAGES),
        "stream_helper": lambda: sdk.stream_text(c, system=SYSTEM, messages=MESSAGES),
        "retried_529": lambda: sdk.create(
            c, messages=MESSAGES, extra_headers={"x-fake-faults": "529,529"}
        ).id[:4],
        "exhausted_529": lambda: sdk.create(
            c, messages=MESSAGES, extra_headers={"x-fake-faults": "529,529,529"}
        ),
        "bad_request": lambda: sdk.create(c, messages=MESSAGES, extra_headers={"x-fake-faults": "400"}),
        "error_event": lambda: sdk.create_stream_events(
            c, messages=MESSAGES, extra_headers={"x-fake-faults": "error_event"}
        ),
        "cascade": lambda: (
            sdk.run(
                (CASCADE.acreate if isinstance(c, anthropic.AsyncAnthropic) else CASCADE.create)(
                    c, max_tokens=64, messages=MESSAGES
                )
            ).model
        ),
    }


def run_all(is_async: bool) -> tuple[dict[str, Any], int]:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async, max_retries=2)
    results = {name: _outcome(fn) for name, fn in scenarios(c).items()}
    return results, len(fake.records())


@pytest.mark.parametrize("step", sorted(SABOTAGE))
def test_sabotaged_step_changes_nothing_for_the_app(
    telemetry: Any, monkeypatch: pytest.MonkeyPatch, step: str, is_async: bool
) -> None:
    telemetry_instrumentor_state = telemetry  # instrumentation is on for the whole test
    from anthropic_otel import AnthropicInstrumentor

    AnthropicInstrumentor().uninstrument()
    reference, reference_requests = run_all(is_async)
    AnthropicInstrumentor().instrument(
        meter_provider=telemetry_instrumentor_state.meter_provider,
        tracer_provider=telemetry_instrumentor_state.tracer_provider,
    )

    owner, name = SABOTAGE[step]
    monkeypatch.setattr(owner, name, _boom)
    results, requests = run_all(is_async)

    assert results == reference
    assert requests == reference_requests
    assert reference["exhausted_529"][1][0] is anthropic.InternalServerError or issubclass(
        reference["exhausted_529"][1][0], anthropic.APIStatusError
    )
    assert telemetry.value("anthropic_otel.internal_errors") >= 1
