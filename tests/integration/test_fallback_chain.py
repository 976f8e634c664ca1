"""`anthropic_otel.FallbackChain` over the real SDK and the fake API: what the app gets, and each hop counted once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anthropic
import pytest
from anthropic_otel import AnthropicInstrumentor, FallbackChain, Step
from anthropic_otel.fake import FakeAnthropic

from . import chains, sdk
from .served import fake_over_http

CHAIN = FallbackChain([Step(model, max_retries=n) for model, n in chains.CHAIN], canned=chains.CANNED_TEXT)


def _run(chain: FallbackChain, client: Any, faults: str, **kwargs: Any) -> Any:
    kwargs.setdefault("max_tokens", 64)
    kwargs.setdefault("messages", chains.MESSAGES)
    kwargs["extra_headers"] = {"x-fake-faults": faults}
    if isinstance(client, anthropic.AsyncAnthropic):
        return asyncio.run(chain.acreate(client, **kwargs))
    return chain.create(client, **kwargs)


def _answer(message: Any) -> str:
    return chains.CANNED_TEXT if FallbackChain.is_canned(message) else str(message.model)


@pytest.mark.parametrize("branch", sorted(chains.BRANCHES))
def test_the_four_step_chain(telemetry: Any, is_async: bool, branch: str) -> None:
    fake = FakeAnthropic()
    message = _run(CHAIN, sdk.client(fake, is_async), chains.script(chains.BRANCHES[branch]))
    assert _answer(message) == (chains.ANSWERED_BY[branch] or chains.CANNED_TEXT)
    assert chains.attempts(telemetry) == chains.ATTEMPTS[branch]
    # Exactly once each: the zero-code detection, also on, adds nothing.
    assert chains.hops(telemetry) == chains.HELPER_HOPS[branch]


def test_canned_answer_is_a_marked_message(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    message = _run(CHAIN, sdk.client(fake, is_async), chains.script(3))
    assert isinstance(message, anthropic.types.Message)
    assert message.model == "canned" and FallbackChain.is_canned(message)
    assert message.content[0].text == chains.CANNED_TEXT  # type: ignore[union-attr]
    assert (message.usage.input_tokens, message.usage.output_tokens) == (0, 0)
    assert message.stop_reason == "end_turn"
    # 4 + 3 + 2 attempts reached the fake; the canned answer made no request.
    assert len(fake.log) == 9


def test_hop_target_spans(telemetry: Any, is_async: bool, sdk_tracing: bool) -> None:
    fake = FakeAnthropic()
    _run(CHAIN, sdk.client(fake, is_async, sdk_tracing), chains.script(2))
    spans = sorted(telemetry.spans(), key=lambda s: s.start_time)
    assert [s.attributes["gen_ai.request.model"] for s in spans] == [
        chains.FIRST,
        chains.SECOND,
        chains.THIRD,
    ]
    assert [
        (s.attributes.get("anthropic.fallback.from_model"), s.attributes.get("anthropic.fallback.reason"))
        for s in spans
    ] == [(None, None), (chains.FIRST, "overloaded"), (chains.SECOND, "overloaded")]


def test_other_errors_raise_at_once(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    with pytest.raises(anthropic.BadRequestError):
        _run(CHAIN, sdk.client(fake, is_async), f"{chains.FIRST}=400")
    # One attempt (a 400 is not retried by the SDK), no other model tried, no hop.
    assert [(r.model, r.status) for r in fake.log] == [(chains.FIRST, 400)]
    assert chains.hops(telemetry) == {}


def test_rate_limits_move_on_only_when_asked(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    client = sdk.client(fake, is_async)
    strict = FallbackChain([Step(chains.FIRST, max_retries=0), Step(chains.SECOND, max_retries=0)])
    with pytest.raises(anthropic.RateLimitError):
        _run(strict, client, f"{chains.FIRST}=429")
    assert chains.hops(telemetry) == {}
    lenient = FallbackChain(
        [Step(chains.FIRST, max_retries=0), Step(chains.SECOND, max_retries=0)],
        move_on=("overloaded", "rate_limited", "server_error", "timeout"),
    )
    assert _answer(_run(lenient, client, f"{chains.FIRST}=429")) == chains.SECOND
    assert _answer(_run(lenient, client, f"{chains.FIRST}=500")) == chains.SECOND
    assert chains.hops(telemetry) == {
        (chains.FIRST, chains.SECOND, "rate_limited"): 1,
        (chains.FIRST, chains.SECOND, "server_error"): 1,
    }


def test_last_error_raised_without_canned(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    chain = FallbackChain([Step(chains.FIRST, max_retries=0), Step(chains.SECOND, max_retries=0)])
    with pytest.raises(anthropic.APIStatusError) as raised:
        _run(chain, sdk.client(fake, is_async), f"{chains.FIRST}=529;{chains.SECOND}=529")
    assert raised.value.status_code == 529
    assert [r.model for r in fake.log] == [chains.FIRST, chains.SECOND]
    assert chains.hops(telemetry) == {(chains.FIRST, chains.SECOND, "overloaded"): 1}


def test_a_call_after_the_chain_is_no_hop(telemetry: Any) -> None:
    fake = FakeAnthropic()
    client = fake.client()
    _run(CHAIN, client, chains.script(3))  # ends canned: its failures leave nothing pending
    client.messages.create(model="claude-opus-5", max_tokens=64, messages=chains.MESSAGES)
    assert chains.hops(telemetry) == chains.HELPER_HOPS["canned"]


def test_uninstrumented_same_answers_nothing_recorded(telemetry: Any, is_async: bool) -> None:
    AnthropicInstrumentor().uninstrument()
    for branch, failing in sorted(chains.BRANCHES.items()):
        fake = FakeAnthropic()
        message = _run(CHAIN, sdk.client(fake, is_async), chains.script(failing))
        assert _answer(message) == (chains.ANSWERED_BY[branch] or chains.CANNED_TEXT)
    assert chains.hops(telemetry) == {}
    assert chains.attempts(telemetry) == {}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        FallbackChain([])
    with pytest.raises(ValueError):
        FallbackChain(["claude-sonnet-5"], move_on=("bad_request",))
    with pytest.raises(TypeError):
        CHAIN.create(FakeAnthropic().client(), model="x", max_tokens=1, messages=chains.MESSAGES)
    with pytest.raises(ValueError):
        CHAIN.create(FakeAnthropic().client(), stream=True, max_tokens=1, messages=chains.MESSAGES)


def test_threads_running_chains_do_not_mix(telemetry: Any) -> None:
    # Two threads, each a helper chain and a hand-written chain, started together: every hop is
    # counted once, by whoever owns it. Helper: step3 branch (2 hops); hand-written: step2 (1 hop).
    fake = FakeAnthropic()
    client = fake.client()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def helper() -> None:
        try:
            barrier.wait(10)
            for _ in range(3):
                assert _answer(_run(CHAIN, client, chains.script(2))) == chains.THIRD
        except BaseException as err:
            errors.append(err)

    def hand() -> None:
        try:
            barrier.wait(10)
            for _ in range(3):
                assert (
                    chains.hand_written(client, chains.script(1), messages=[{"role": "user", "content": "B"}])
                    == chains.SECOND
                )
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=helper), threading.Thread(target=hand)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert chains.hops(telemetry) == {
        (chains.FIRST, chains.SECOND, "overloaded"): 3 + 3,  # 3 helper chains + 3 hand-written
        (chains.SECOND, chains.THIRD, "overloaded"): 3,  # the helper chains only
    }


def test_over_real_http(telemetry: Any) -> None:
    with fake_over_http(FakeAnthropic()) as url, anthropic.Anthropic(api_key="test", base_url=url) as client:
        assert _answer(_run(CHAIN, client, chains.script(3))) == chains.CANNED_TEXT
        assert chains.hand_written(client, chains.script(2)) == chains.THIRD
    # Helper (canned branch) then hand-written (step3 branch).
    assert chains.hops(telemetry) == {
        (chains.FIRST, chains.SECOND, "overloaded"): 2,
        (chains.SECOND, chains.THIRD, "overloaded"): 2,
        (chains.THIRD, "canned", "overloaded"): 1,
    }
    assert chains.attempts(telemetry) == {
        (chains.FIRST, 529): 4 + 4,
        (chains.SECOND, 529): 3 + 3,
        (chains.THIRD, 529): 2,
        (chains.THIRD, 200): 1,
    }
