"""A call's metrics are recorded off the calling thread (`_deferred`): every collection still sees
every call that ended before it, exactly, from any thread, while calls and collections run at once;
and a histogram's exemplar still points at the span the call ended in."""

from __future__ import annotations

import threading
from typing import Any

from anthropic_otel import semconv
from anthropic_otel.fake import FakeAnthropic
from opentelemetry import trace

from . import sdk

MODEL = "claude-sonnet-4-6"
THREADS = 6
CALLS = 40


def _ask(c: Any, n: int) -> Any:
    return c.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": f"question {n}"}]
    )


def test_collections_during_calls_from_many_threads_lose_nothing(telemetry: Any) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, False)
    stop = threading.Event()
    seen: list[float] = []

    def collect_all_along() -> None:
        while not stop.is_set():
            seen.append(telemetry.value(semconv.ANTHROPIC_REQUESTS.name))

    collector = threading.Thread(target=collect_all_along)
    collector.start()
    callers = [
        threading.Thread(target=lambda t=t: [_ask(c, t * CALLS + i) for i in range(CALLS)])
        for t in range(THREADS)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(60)
    stop.set()
    collector.join(60)
    records = fake.records()
    assert all(r.usage is not None for r in records)
    assert len(records) == THREADS * CALLS
    assert seen == sorted(seen)  # cumulative counts never go back
    # After the calls: every one of them, whatever the collections in between saw.
    assert telemetry.value(semconv.ANTHROPIC_REQUESTS.name) == THREADS * CALLS
    assert telemetry.value(semconv.GEN_AI_CLIENT_OPERATION_DURATION.name) == THREADS * CALLS
    input_tokens = sum(r.usage["input_tokens"] for r in records)
    output_tokens = sum(r.usage["output_tokens"] for r in records)
    assert telemetry.value(semconv.ANTHROPIC_TOKENS.name, anthropic__token__type="input") == input_tokens
    assert telemetry.value(semconv.ANTHROPIC_TOKENS.name, anthropic__token__type="output") == output_tokens
    assert (
        telemetry.histogram_sum(semconv.GEN_AI_CLIENT_TOKEN_USAGE.name, gen_ai__token__type="output")
        == output_tokens
    )


def test_the_duration_exemplar_is_the_span_the_call_ended_in(telemetry: Any) -> None:
    c = sdk.client(FakeAnthropic(), False)
    with telemetry.tracer_provider.get_tracer("app").start_as_current_span("handler") as handler:
        _ask(c, 1)
    (point,) = telemetry.points(semconv.GEN_AI_CLIENT_OPERATION_DURATION.name)
    assert [(e.trace_id, e.span_id) for e in point.exemplars] == [
        (handler.get_span_context().trace_id, handler.get_span_context().span_id)
    ]
    assert trace.get_current_span() is trace.INVALID_SPAN
