"""Force every internal step to raise: the app's results, exceptions and HTTP attempts must not change.

Each scenario runs once uninstrumented (the reference) and once instrumented with one internal
step sabotaged; return values, exception types and messages, and the number of requests the fake
API received must be identical, and the failure must be counted as an internal error.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Callable

import anthropic
import pytest
from anthropic_otel import Cascade, FallbackChain, Step, pricing
from anthropic_otel.dedup import MemoryStore, detector
from anthropic_otel.extract import usage
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.hooks import request as _calls
from anthropic_otel.recorder import Recorder
from anthropic_otel.state import call as _call
from anthropic_otel.state import hops
from anthropic_otel.state import stream as stream_states
from anthropic_otel.state.model_fit import ModelFit
from anthropic_otel.state.write_causes import WriteCauses

from . import chains, sdk

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
    "call.ratelimits": (_call.CallState, "_note_ratelimits"),
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
    "call.write_cause": (_call.CallState, "_write_cause"),
    "write_causes.cache_written": (WriteCauses, "cache_written"),
    "recorder.cache_written": (Recorder, "cache_written"),
    "cache_diagnosis.message": (_call, "cache_miss_reason"),
    "cache_diagnosis.event": (stream_states, "event_cache_miss_reason"),
    "hops.start": (hops, "call_starting"),
    "hops.failed": (hops, "call_failed"),
    "recorder.fallback_hop": (Recorder, "fallback_hop"),
    "hops.announce": (hops, "announce"),
    "hops.label_span": (hops, "label_span"),
    "deferred.note_headroom": (_call, "_note_headroom"),
    "model_fit.call_succeeded": (ModelFit, "call_succeeded"),
    "recorder.model_fit": (Recorder, "model_fit"),
    "cascade.stage": (Cascade, "_stage_answered"),
    "cascade.escalated": (Cascade, "_escalated"),
    "cascade.kept": (Cascade, "_answer_kept"),
    "recorder.cascade_stage": (Recorder, "cascade_stage"),
    "recorder.cascade_escalated": (Recorder, "cascade_escalated"),
    "recorder.cascade_kept": (Recorder, "cascade_kept"),
}
# Steps only the SDK's own refusal fallbacks reach (SDKs that have them: see _sdk_fallback_scenarios).
if importlib.util.find_spec("anthropic.lib.middleware") is not None:
    SABOTAGE["hops.message"] = (hops, "message_seen")
    SABOTAGE["hops.attempt_request"] = (hops, "attempt_request")
    SABOTAGE["hops.stream_block"] = (hops, "stream_block")


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
        # Overloaded throughout on the first model, answered by the second: one fallback hop.
        "fallback": lambda: chains.run_hand_written(c, chains.script(1)),
        # The explicit helper down to its canned answer (two hops to models, one to canned).
        "fallback_chain": lambda: _chain_text(c, chains.script(3)),
        **_sdk_fallback_scenarios(c),
        "cascade": lambda: (
            sdk.run(
                (CASCADE.acreate if isinstance(c, anthropic.AsyncAnthropic) else CASCADE.create)(
                    c, max_tokens=64, messages=MESSAGES
                )
            ).model
        ),
    }


def _sdk_fallback_scenarios(c: Any) -> dict[str, Callable[[], Any]]:
    """The SDK's own refusal fallbacks, client side and server side, where the SDK has them."""
    try:
        from anthropic.lib.middleware import BetaRefusalFallbackMiddleware
    except ImportError:
        return {}
    entries = [{"model": "claude-sonnet-4-6"}, {"model": "claude-haiku-4-5"}]
    refuse = {"x-fake-refuse": "claude-opus-5,claude-sonnet-4-6"}
    args: dict[str, Any] = {
        "model": "claude-opus-5",
        "max_tokens": 64,
        "messages": MESSAGES,
        "extra_headers": refuse,
    }

    def summary(message: Any) -> Any:
        return (message.model, message.stop_reason, [b.type for b in message.content])

    middleware_client = c.copy(middleware=[BetaRefusalFallbackMiddleware(entries)])
    return {
        "refusal_middleware": lambda: summary(sdk.run(middleware_client.beta.messages.create(**args))),
        "refusal_middleware_stream": lambda: summary(_final_streamed(middleware_client, args)),
        "server_fallbacks": lambda: summary(
            sdk.run(
                c.beta.messages.create(**args, fallbacks=entries, betas=["server-side-fallback-2026-07-01"])
            )
        ),
    }


def _final_streamed(c: Any, args: dict[str, Any]) -> Any:
    if isinstance(c, anthropic.AsyncAnthropic):

        async def read() -> Any:
            async with c.beta.messages.stream(**args) as stream:
                return await stream.get_final_message()

        return sdk.run(read())
    with c.beta.messages.stream(**args) as stream:
        return stream.get_final_message()


def _chain_text(c: Any, faults: str) -> str:
    chain = FallbackChain([Step(m, max_retries=n) for m, n in chains.CHAIN], canned=chains.CANNED_TEXT)
    kwargs: dict[str, Any] = {
        "max_tokens": 64,
        "messages": MESSAGES,
        "extra_headers": {"x-fake-faults": faults},
    }
    message = (
        sdk.run(chain.acreate(c, **kwargs))
        if isinstance(c, anthropic.AsyncAnthropic)
        else chain.create(c, **kwargs)
    )
    return f"{message.model}: {message.content[0].text}"


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
