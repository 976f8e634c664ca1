"""`Cascade` on real SDK calls over the fake API: requests per kept model, escalations, stage costs
and the baseline, exact.

The workload: 10 ticket classifications of 400 characters (100 input tokens) through Haiku 4.5
($1 / $5 per million tokens) then Sonnet 4.6 ($3 / $15). The check escalates an answer cut at
`max_tokens` (10): 7 easy tickets answer in 4 tokens (`x-fake-output-tokens`), 3 hard ones would
need 20, so Haiku stops at 10 and they escalate; Sonnet, the last stage, is kept as it answers.
  Haiku, easy:  100 x 1 + 4 x 5   = 120e-6 each, kept; baseline 100 x 3 + 4 x 15 = 360e-6
  Haiku, hard:  100 x 1 + 10 x 5  = 150e-6 each, escalated
  Sonnet, hard: 100 x 3 + 10 x 15 = 450e-6 each, kept; baseline = its own cost, 450e-6
Stage costs: Haiku 7 x 120 + 3 x 150 = 1,290e-6, Sonnet 3 x 450 = 1,350e-6, together 2,640e-6.
Baseline: 7 x 360 + 3 x 450 = 3,870e-6. Saving: 3,870 - 2,640 = 1,230e-6 (31.8 %).
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from anthropic_otel import AnthropicInstrumentor, Cascade, cascade
from anthropic_otel.fake import FakeAnthropic

from . import sdk

HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-6"
OPUS = "claude-opus-4-6"
TICKET = "Classify this support ticket as billing, bug or other. ".ljust(400, ".")
REQUESTS = "anthropic.cascade.requests"
ESCALATIONS = "anthropic.cascade.escalations"
COST = "anthropic.cascade.cost.usd"
BASELINE = "anthropic.cascade.baseline_cost.usd"


def _truncated(message: Any) -> bool:
    return bool(message.stop_reason == "max_tokens")


def _ask(triage: Cascade, c: Any, is_async: bool, output_tokens: int, **kwargs: Any) -> Any:
    kwargs = {
        "max_tokens": 10,
        "messages": [{"role": "user", "content": TICKET}],
        "extra_headers": {"x-fake-output-tokens": str(output_tokens)},
        **kwargs,
    }
    if is_async:
        return asyncio.run(triage.acreate(c, **kwargs))
    return triage.create(c, **kwargs)


def _series(telemetry: Any, name: str) -> dict[tuple[Any, ...], float]:
    return {tuple(sorted(p.attributes.items())): p.value for p in telemetry.points(name)}


def test_three_of_ten_escalate(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    c = sdk.client(fake, is_async)
    triage = Cascade([HAIKU, SONNET], escalate=_truncated, name="triage")
    kept = [_ask(triage, c, is_async, 20 if i in (2, 5, 8) else 4).model for i in range(10)]
    assert kept.count(HAIKU) == 7 and kept.count(SONNET) == 3
    assert len(fake.records()) == 13  # 10 Haiku calls, 3 Sonnet calls

    name = ("anthropic.cascade.name", "triage")
    assert _series(telemetry, REQUESTS) == {
        (name, ("gen_ai.request.model", HAIKU)): 7,
        (name, ("gen_ai.request.model", SONNET)): 3,
    }
    assert _series(telemetry, ESCALATIONS) == {
        (("anthropic.cascade.from_model", HAIKU), name, ("anthropic.cascade.to_model", SONNET)): 3
    }
    cost = _series(telemetry, COST)
    assert set(cost) == {(name, ("gen_ai.request.model", HAIKU)), (name, ("gen_ai.request.model", SONNET))}
    assert cost[(name, ("gen_ai.request.model", HAIKU))] == pytest.approx(1290e-6, rel=1e-9)
    assert cost[(name, ("gen_ai.request.model", SONNET))] == pytest.approx(1350e-6, rel=1e-9)
    baseline = _series(telemetry, BASELINE)
    assert list(baseline) == [(name, ("gen_ai.request.model", SONNET))]
    assert baseline[(name, ("gen_ai.request.model", SONNET))] == pytest.approx(3870e-6, rel=1e-9)
    saving = telemetry.value(BASELINE) - telemetry.value(COST)
    assert saving == pytest.approx(1230e-6, rel=1e-9)
    # The stage costs are the calls' own costs as the instrumentation records them.
    assert telemetry.value(COST) == pytest.approx(telemetry.value("anthropic.cost.usd"), rel=1e-9)


def test_three_stages_kept_in_the_middle_baseline_at_the_last(telemetry: Any, is_async: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async)
    answers = iter([True, False])  # Haiku escalates, Sonnet is kept, Opus is never asked
    chain = Cascade([HAIKU, SONNET, OPUS], escalate=lambda _m: next(answers), name="three")
    assert _ask(chain, c, is_async, 4).model == SONNET
    # Both stages answered 100 in / 4 out. Haiku 120e-6; Sonnet 100 x 3 + 4 x 15 = 360e-6;
    # baseline: Sonnet's usage at Opus 4.6 prices ($5 / $25): 100 x 5 + 4 x 25 = 600e-6.
    assert telemetry.value(REQUESTS, gen_ai__request__model=SONNET) == 1
    assert telemetry.value(ESCALATIONS) == 1
    assert telemetry.value(COST, gen_ai__request__model=HAIKU) == pytest.approx(120e-6, rel=1e-9)
    assert telemetry.value(COST, gen_ai__request__model=SONNET) == pytest.approx(360e-6, rel=1e-9)
    assert telemetry.value(COST, gen_ai__request__model=OPUS) == 0
    assert telemetry.value(BASELINE, gen_ai__request__model=OPUS) == pytest.approx(600e-6, rel=1e-9)


def test_an_exception_in_the_check_is_the_apps(telemetry: Any, is_async: bool) -> None:
    c = sdk.client(FakeAnthropic(), is_async)

    def parse_confidence(message: Any) -> bool:
        return float(message.content[0].text) < 0.85  # the fake's reply is no number

    chain = Cascade([HAIKU, SONNET], escalate=parse_confidence, name="parse")
    with pytest.raises(ValueError, match="could not convert string to float"):
        _ask(chain, c, is_async, 4)
    # The Haiku stage was billed and is recorded; no request was answered.
    assert telemetry.value(COST, gen_ai__request__model=HAIKU) == pytest.approx(120e-6, rel=1e-9)
    assert telemetry.points(REQUESTS) == []
    assert telemetry.value("anthropic_otel.internal_errors") == 0


def test_an_api_error_is_the_apps(telemetry: Any, is_async: bool) -> None:
    fake = FakeAnthropic()
    fake.enqueue("ok", "400")  # Haiku answers, Sonnet's request is refused
    c = sdk.client(fake, is_async)
    chain = Cascade([HAIKU, SONNET], escalate=lambda _m: True, name="api-error")
    with pytest.raises(anthropic.BadRequestError):
        _ask(chain, c, is_async, 4)
    assert telemetry.value(ESCALATIONS) == 1
    assert telemetry.value(COST) == pytest.approx(120e-6, rel=1e-9)
    assert telemetry.points(REQUESTS) == [] and telemetry.points(BASELINE) == []


def test_works_and_records_nothing_with_the_instrumentation_off(telemetry: Any, is_async: bool) -> None:
    AnthropicInstrumentor().uninstrument()
    c = sdk.client(FakeAnthropic(), is_async)
    chain = Cascade([HAIKU, SONNET], escalate=_truncated, name="off")
    assert _ask(chain, c, is_async, 20).model == SONNET
    for name in (REQUESTS, ESCALATIONS, COST, BASELINE):
        assert telemetry.points(name) == []
    telemetry.instrument()  # the fixture's uninstrument() expects it on


def test_names_past_the_cap_share_one_series(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cascade, "_names", set())
    monkeypatch.setattr(cascade, "MAX_CASCADE_NAMES", 2)
    c = sdk.client(FakeAnthropic(), False)
    for name in ("a", "b", "c", "d", "a"):
        _ask(Cascade([HAIKU], escalate=_truncated, name=name), c, False, 4)
    names = {p.attributes["anthropic.cascade.name"]: p.value for p in telemetry.points(REQUESTS)}
    assert names == {"a": 2, "b": 1, "_OTHER": 2}


def test_the_stages_choose_the_model_and_streams_are_refused() -> None:
    chain = Cascade([HAIKU], escalate=_truncated)
    c = sdk.client(FakeAnthropic(), False)
    with pytest.raises(TypeError, match="takes no model"):
        chain.create(c, model=SONNET, max_tokens=10, messages=[])
    with pytest.raises(TypeError, match="does not stream"):
        chain.create(c, stream=True, max_tokens=10, messages=[])
    with pytest.raises(ValueError, match="at least one model"):
        Cascade([], escalate=_truncated)
