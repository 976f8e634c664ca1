"""The demo's report, read back from the telemetry of its workload: every number derived by hand
from the workload's script (anthropic_otel.demo.workload)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from anthropic_otel.demo import INSTRUMENT_OPTIONS, run_workload
from anthropic_otel.demo.report import cascades, fallback_hops, headroom, premium_calls
from anthropic_otel.fake import FakeAnthropic


def _run(telemetry: Any) -> float:
    telemetry.reinstrument(**INSTRUMENT_OPTIONS)
    started = time.time()
    run_workload(FakeAnthropic(seed=7))
    return started


def test_the_storms_hops_by_hand(telemetry: Any) -> None:
    _run(telemetry)
    hops = {(row["from"], row["to"], row["reason"]): row["hops"] for row in fallback_hops(telemetry.reader)}
    # Hand-written chain, failed steps per question (0, 0, 0, 1, 1, 1, 2, 3): opus-5 -> sonnet-5 on
    # the 5 questions with >= 1 failed step, sonnet-5 -> haiku on the 2 with >= 2. FallbackChain
    # (1, 3): 2 more opus-5 -> sonnet-5, 1 sonnet-5 -> haiku, and haiku -> canned once, which only
    # the helper can count (a canned answer makes no call).
    assert hops == {
        ("claude-opus-5", "claude-sonnet-5", "overloaded"): 7,
        ("claude-sonnet-5", "claude-haiku-4-5", "overloaded"): 3,
        ("claude-haiku-4-5", "canned", "overloaded"): 1,
    }


def test_the_cascade_by_hand(telemetry: Any) -> None:
    _run(telemetry)
    (router,) = cascades(telemetry.reader)
    # 9 tickets, every third one hedged (6 output tokens, more than a 2-token label): 3 escalate.
    assert router["name"] == "ticket-router"
    assert router["kept"] == {"claude-haiku-4-5": 6, "claude-sonnet-4-6": 3}
    assert router["escalations"] == 3
    assert router["baseline_model"] == "claude-sonnet-4-6"
    assert 0 < router["cost"] < router["baseline"]


def test_the_ramp_leaves_under_ten_percent_of_the_input_budget(telemetry: Any) -> None:
    started = _run(telemetry)
    rows = headroom(telemetry.reader, started)
    # 1 + 2 + 4 + 8 + 16 = 31 calls of 31 input tokens: 961 of 1,000 spent, 39 left (3.9 %). The other
    # limits of the ramp keep more than half: 31 of 1,000 requests, 1,240 of 20,000 output tokens.
    assert [(r["model"], r["kind"], r["limit"], r["remaining"]) for r in rows] == [
        ("claude-haiku-4-5", "input_tokens", 1_000, 39)
    ]
    assert rows[0]["left"] == 39 / 1_000
    assert rows[0]["reset_in_s"] is not None and 0 <= rows[0]["reset_in_s"] <= 60


def test_the_calls_billed_above_list_price_by_hand(telemetry: Any) -> None:
    _run(telemetry)
    rows = premium_calls(telemetry.reader)
    assert [(r["model"], r["billed"]) for r in rows] == [
        ("claude-opus-5", {"service_tier": "standard", "speed": "fast", "inference_geo": "not_available"}),
        ("claude-sonnet-4-6", {"service_tier": "standard", "speed": "standard", "inference_geo": "us"}),
    ]
    # "Where is my order #NNNN?" is 6 input tokens; the answer 150 output tokens. Opus 5 at $5 / $25
    # per million in fast mode (2x): (6 * 5 + 150 * 25) * 2 = 7,560e-6. Sonnet 4.6 at $3 / $15
    # US-only (1.1x): (6 * 3 + 150 * 15) * 1.1 = 2,494.8e-6.
    assert [r["cost"] for r in rows] == [
        pytest.approx(7_560e-6, rel=1e-9),
        pytest.approx(2_494.8e-6, rel=1e-9),
    ]
