"""Zero-code fallback hops: an application's own fallback chain, seen through the real SDK over the fake API.

The chain (`chains.py`) is written the way applications write it: try a model with the SDK's own
retries, catch overload, try the next model with the same request. Each hop is counted once, from
the failed model to the next one, with the reason the failure gives.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anthropic
import pytest
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.state import hops as hop_state

from . import chains, sdk


@pytest.mark.parametrize("branch", sorted(chains.BRANCHES))
def test_hand_written_chain(telemetry: Any, is_async: bool, branch: str) -> None:
    fake = FakeAnthropic()
    client = sdk.client(fake, is_async)
    answer = chains.run_hand_written(client, chains.script(chains.BRANCHES[branch]))
    assert answer == (chains.ANSWERED_BY[branch] or chains.CANNED_TEXT)
    assert chains.attempts(telemetry) == chains.ATTEMPTS[branch]
    assert chains.hops(telemetry) == chains.HOPS[branch]


def test_hop_target_span_names_where_it_came_from(telemetry: Any, is_async: bool, sdk_tracing: bool) -> None:
    fake = FakeAnthropic()
    client = sdk.client(fake, is_async, sdk_tracing)
    chains.run_hand_written(client, chains.script(1))
    # Two calls, two spans: the failed one on claude-sonnet-5, then its fallback on claude-sonnet-4-6.
    spans = sorted(telemetry.spans(), key=lambda s: s.start_time)
    assert [s.attributes["gen_ai.request.model"] for s in spans] == [chains.FIRST, chains.SECOND]
    assert "anthropic.fallback.from_model" not in spans[0].attributes
    assert spans[1].attributes["anthropic.fallback.from_model"] == chains.FIRST
    assert spans[1].attributes["anthropic.fallback.reason"] == "overloaded"


def _call(client: Any, model: str, faults: str, content: str = "Summarise the incident report.") -> Any:
    try:
        return sdk.run(
            client.messages.create(
                model=model,
                max_tokens=64,
                messages=[{"role": "user", "content": content}],
                extra_headers={"x-fake-faults": faults},
            )
        )
    except anthropic.APIStatusError as err:
        return err.status_code


def test_reasons_follow_the_failure(telemetry: Any) -> None:
    fake = FakeAnthropic()
    client = fake.client(max_retries=0)
    # 429 then 500 then a timeout, each followed by the same request to the next model.
    assert _call(client, "claude-opus-5", "429") == 429
    assert _call(client, "claude-sonnet-5", "500") == 500
    with pytest.raises(anthropic.APITimeoutError):
        client.with_options(timeout=1.0).messages.create(
            model="claude-sonnet-4-6",
            max_tokens=64,
            messages=[{"role": "user", "content": "Summarise the incident report."}],
            extra_headers={"x-fake-faults": "timeout"},
        )
    assert _call(client, "claude-haiku-4-5", "ok") != 429
    assert chains.hops(telemetry) == {
        ("claude-opus-5", "claude-sonnet-5", "rate_limited"): 1,
        ("claude-sonnet-5", "claude-sonnet-4-6", "server_error"): 1,
        ("claude-sonnet-4-6", "claude-haiku-4-5", "timeout"): 1,
    }


def test_no_hop_for_another_prompt_a_retry_or_a_switch_after_success(telemetry: Any) -> None:
    fake = FakeAnthropic()
    client = fake.client(max_retries=0)
    # Another prompt after a failure: no hop, and the failure is forgotten.
    assert _call(client, chains.FIRST, "529") == 529
    assert _call(client, chains.SECOND, "ok", content="Something else entirely.") != 529
    assert _call(client, chains.THIRD, "ok") != 529
    # The application retries the same model: no hop; that retry succeeds: nothing pending.
    assert _call(client, chains.FIRST, "529") == 529
    assert _call(client, chains.FIRST, "ok") != 529
    assert _call(client, chains.SECOND, "ok") != 529
    # A model switch after a success: no hop.
    assert _call(client, chains.FIRST, "ok") != 529
    assert _call(client, chains.SECOND, "ok") != 529
    # A failure that is not worth another model (400): no hop.
    assert _call(client, chains.FIRST, "400") == 400
    assert _call(client, chains.SECOND, "ok") != 400
    assert chains.hops(telemetry) == {}
    # The detector still works after all that: the same prompt straight after an overload is a hop.
    assert _call(client, chains.FIRST, "529") == 529
    assert _call(client, chains.SECOND, "ok") != 529
    assert chains.hops(telemetry) == {(chains.FIRST, chains.SECOND, "overloaded"): 1}


def test_same_model_retry_then_switch_is_one_hop(telemetry: Any) -> None:
    fake = FakeAnthropic()
    client = fake.client(max_retries=0)
    assert _call(client, chains.FIRST, "529") == 529
    assert _call(client, chains.FIRST, "529") == 529  # a retry of the same model: not a hop
    assert _call(client, chains.SECOND, "ok") != 529
    assert chains.hops(telemetry) == {(chains.FIRST, chains.SECOND, "overloaded"): 1}


def test_outside_the_window_no_hop(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    telemetry.reinstrument(fallback_window_s=30.0)
    fake = FakeAnthropic()
    client = fake.client(max_retries=0)
    now = [1000.0]
    monkeypatch.setattr(hop_state, "_monotonic", lambda: now[0])
    assert _call(client, chains.FIRST, "529") == 529
    now[0] += 30.5  # just past the 30 s window
    assert _call(client, chains.SECOND, "ok") != 529
    assert _call(client, chains.FIRST, "529") == 529
    now[0] += 29.5  # inside it
    assert _call(client, chains.SECOND, "ok") != 529
    assert chains.hops(telemetry) == {(chains.FIRST, chains.SECOND, "overloaded"): 1}


def test_interleaved_threads_keep_their_own_chains(telemetry: Any) -> None:
    fake = FakeAnthropic()
    client = fake.client(max_retries=0)
    # Thread A: FIRST fails, then (after B's failure) SECOND. Thread B: SECOND fails, then (after
    # A's fallback) THIRD, with another prompt. Each thread's hop is its own: A FIRST->SECOND,
    # B SECOND->THIRD; a shared pending failure would give SECOND->SECOND (none) or mix the prompts.
    a_failed, b_failed, a_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def a() -> None:
        try:
            assert _call(client, chains.FIRST, "529") == 529
            a_failed.set()
            assert b_failed.wait(10)
            assert _call(client, chains.SECOND, "ok") != 529
            a_done.set()
        except BaseException as err:  # reported by the main thread
            errors.append(err)
            a_done.set()

    def b() -> None:
        try:
            assert a_failed.wait(10)
            assert _call(client, chains.SECOND, "500", content="Thread B's prompt.") == 500
            b_failed.set()
            assert a_done.wait(10)
            assert _call(client, chains.THIRD, "ok", content="Thread B's prompt.") != 500
        except BaseException as err:
            errors.append(err)
            b_failed.set()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert chains.hops(telemetry) == {
        (chains.FIRST, chains.SECOND, "overloaded"): 1,
        (chains.SECOND, chains.THIRD, "server_error"): 1,
    }


def test_interleaved_tasks_keep_their_own_chains(telemetry: Any) -> None:
    fake = FakeAnthropic()
    client = fake.async_client(max_retries=0)

    async def chain(
        first: str, second: str, faults: str, content: str, gate: asyncio.Event, other: asyncio.Event
    ) -> None:
        try:
            await client.messages.create(
                model=first,
                max_tokens=64,
                messages=[{"role": "user", "content": content}],
                extra_headers={"x-fake-faults": faults},
            )
        except anthropic.APIStatusError:
            pass
        gate.set()
        await other.wait()  # both have failed before either falls back
        await client.messages.create(
            model=second, max_tokens=64, messages=[{"role": "user", "content": content}]
        )

    async def main() -> None:
        a, b = asyncio.Event(), asyncio.Event()
        await asyncio.gather(
            chain(chains.FIRST, chains.SECOND, "529", "Task A.", a, b),
            chain(chains.SECOND, chains.THIRD, "429", "Task B.", b, a),
        )

    asyncio.run(main())
    assert chains.hops(telemetry) == {
        (chains.FIRST, chains.SECOND, "overloaded"): 1,
        (chains.SECOND, chains.THIRD, "rate_limited"): 1,
    }


def test_instrumentation_off_records_nothing_and_changes_nothing(telemetry: Any) -> None:
    from anthropic_otel import AnthropicInstrumentor

    AnthropicInstrumentor().uninstrument()
    fake = FakeAnthropic()
    assert chains.hand_written(fake.client(), chains.script(2)) == chains.THIRD
    assert chains.hops(telemetry) == {}


def test_a_stream_that_fails_to_open_starts_a_hop_one_that_breaks_later_does_not(telemetry: Any) -> None:
    fake = FakeAnthropic()
    client = fake.client(max_retries=0)
    args: dict[str, Any] = {"max_tokens": 64, "messages": chains.MESSAGES}
    # Opening fails with 529: raised by create() in the caller's context, then Sonnet 4.6 streams.
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(
            model=chains.FIRST, stream=True, extra_headers={"x-fake-faults": "529"}, **args
        )
    assert [e.type for e in client.messages.create(model=chains.SECOND, stream=True, **args)][
        -1
    ] == "message_stop"
    assert chains.hops(telemetry) == {(chains.FIRST, chains.SECOND, "overloaded"): 1}
    # A stream that opened and then carried an overloaded error event: output was already delivered.
    with pytest.raises(anthropic.APIStatusError):
        for _ in client.messages.create(
            model=chains.FIRST, stream=True, extra_headers={"x-fake-faults": "error_event"}, **args
        ):
            pass
    client.messages.create(model=chains.THIRD, **args)
    assert chains.hops(telemetry) == {(chains.FIRST, chains.SECOND, "overloaded"): 1}


def test_long_model_names_are_cut_in_hop_attributes(telemetry: Any) -> None:
    fake = FakeAnthropic()
    client = fake.client(max_retries=0)
    long_a, long_b = "a" * 300, "b" * 300
    assert _call(client, long_a, "529") == 529
    assert _call(client, long_b, "ok") != 529
    assert chains.hops(telemetry) == {("a" * 256, "b" * 256, "overloaded"): 1}
