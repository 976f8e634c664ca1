"""How a call was billed (tier, speed, region, long-context band): parsed from usage, priced by hand."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.extract import Usage, usage_from_message
from anthropic_otel.extract.usage import StreamUsage, usage_from_sse_text
from anthropic_otel.pricing import PriceTable

from tests import corpus


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == semconv.LOGGER_UNKNOWN_PRICE]


# --- parsing ------------------------------------------------------------------------------------


def test_labels_from_a_message() -> None:
    usage = {
        "input_tokens": 5,
        "output_tokens": 6,
        "service_tier": "batch",
        "speed": "fast",
        "inference_geo": "us",
    }
    got = usage_from_message({"usage": usage})
    assert got == Usage(5, 6, 0, 0, 0, service_tier="batch", speed="fast", inference_geo="us")


def test_labels_absent_or_junk_are_none() -> None:
    usage = {"input_tokens": 5, "output_tokens": 6, "service_tier": None, "speed": 3, "inference_geo": ["us"]}
    got = usage_from_message({"usage": usage})
    assert got is not None
    assert (got.service_tier, got.speed, got.inference_geo) == (None, None, None)


def test_stream_labels_from_message_start_kept_through_delta() -> None:
    s = StreamUsage()
    start_usage = {"input_tokens": 10, "output_tokens": 1, "service_tier": "priority", "inference_geo": "us"}
    s.feed({"type": "message_start", "message": {"model": "claude-opus-5-5", "usage": start_usage}})
    # A delta without labels keeps them; one that repeats a label replaces it.
    s.feed({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}})
    assert s.usage == Usage(10, 7, 0, 0, 0, service_tier="priority", inference_geo="us")
    s.feed({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 8, "speed": "fast"}})
    assert s.usage == Usage(10, 8, 0, 0, 0, service_tier="priority", speed="fast", inference_geo="us")


def test_compaction_passes_share_the_top_level_labels() -> None:
    usage = {
        "input_tokens": 1,
        "output_tokens": 1,
        "service_tier": "batch",
        "iterations": [{"input_tokens": 100, "output_tokens": 10}, {"input_tokens": 20, "output_tokens": 2}],
    }
    assert usage_from_message({"usage": usage}) == Usage(120, 12, 0, 0, 0, service_tier="batch")


# --- pricing, by hand -----------------------------------------------------------------------------


def _total(usage: Usage, model: str, table: PriceTable | None = None) -> float | None:
    cost = (table or PriceTable()).cost(usage, model)
    return None if cost is None else cost.total


def test_every_multiplier_applies_to_every_input_kind() -> None:
    # Opus 5.5, batch, US-only, fast: every price x 0.5 x 1.1 x 2 = 1.1.
    # input 4, 5m write 5, 1h write 8, cache read 0.20, output 20 (USD per MTok):
    # 100 x 4 + 200 x 5 + 300 x 8 + 1000 x 0.2 + 50 x 20 = 400 + 1000 + 2400 + 200 + 1000 = 5000 -> x 1.1 = 5500
    u = Usage(100, 50, 200, 300, 1000, service_tier="batch", speed="fast", inference_geo="us")
    cost = PriceTable().cost(u, "claude-opus-5-5")
    assert cost is not None
    assert cost.total == pytest.approx(5500e-6, rel=1e-9)
    # Without caching: all 1600 input tokens at 4, same output: (6400 + 1000) x 1.1 = 8140
    assert cost.uncached_total == pytest.approx(8140e-6, rel=1e-9)
    assert dict(cost.by_type)[semconv.TOKEN_CACHE_READ] == pytest.approx(220e-6, rel=1e-9)


def test_long_context_counts_cache_toward_the_threshold() -> None:
    # Sonnet 4 input 1000 + 5m writes 100000 + reads 100000 = 201000 > 200000: input kinds 2x, output 1.5x.
    # 1000 x 3 x 2 + 100000 x 3.75 x 2 + 100000 x 0.3 x 2 + 10 x 15 x 1.5 = 6000 + 750000 + 60000 + 225 = 816225
    u = Usage(1000, 10, 100_000, 0, 100_000)
    assert _total(u, "claude-sonnet-4-20250514") == pytest.approx(816_225e-6, rel=1e-9)
    # Sonnet 4.6 has no band: 1000 x 3 + 100000 x 3.75 + 100000 x 0.3 + 10 x 15 = 408150
    assert _total(u, "claude-sonnet-4-6") == pytest.approx(408_150e-6, rel=1e-9)


def test_haiku_5_5_bands() -> None:
    # Up to 100K prompt tokens: $0.10 / $0.50; 100000 x 0.1 + 100 x 0.5 = 10050
    assert _total(Usage(100_000, 100, 0, 0, 0), "claude-haiku-5-5") == pytest.approx(10_050e-6, rel=1e-9)
    # Over: every token 5x, cache hits $0.05: 1 x 0.5 + 100000 x 0.05 + 100 x 2.5 = 0.5 + 5000 + 250
    assert _total(Usage(1, 100, 0, 0, 100_000), "claude-haiku-5-5") == pytest.approx(5250.5e-6, rel=1e-9)


def test_opus_5_5_and_sonnet_5_5_cache_hits_are_their_own() -> None:
    # Opus 5.5 hits $0.20 (0.05x of $4), Sonnet 5.5 $0.10 (0.05x of $2): 1e6 hits each.
    assert _total(Usage(0, 0, 0, 0, 1_000_000), "claude-opus-5-5") == pytest.approx(0.20, rel=1e-9)
    assert _total(Usage(0, 0, 0, 0, 1_000_000), "claude-sonnet-5-5") == pytest.approx(0.10, rel=1e-9)


@pytest.mark.parametrize(
    ("field", "value", "model"),
    [
        ("service_tier", "flex", "claude-sonnet-4-6"),
        ("inference_geo", "eu", "claude-opus-4-6"),
        ("speed", "fast", "claude-sonnet-4-6"),  # no fast mode on Sonnet
        ("speed", "turbo", "claude-opus-5-5"),
    ],
)
def test_unknown_label_skips_cost_and_warns_once(
    caplog: pytest.LogCaptureFixture, field: str, value: str, model: str
) -> None:
    caplog.set_level(logging.WARNING)
    table = PriceTable()
    u = dataclasses.replace(Usage(10, 10, 0, 0, 0), **{field: value})
    assert table.cost(u, model) is None
    assert table.cost(u, model) is None
    assert _warnings(caplog) == [
        f"anthropic-otel: no price multiplier for usage.{field} {value!r} (price table as of "
        f"{table.as_of}); the tokens of such calls are counted, their cost is not recorded. Add it with "
        f"a price file ({semconv.ENV_PRICES_FILE})."
    ]


# --- price files --------------------------------------------------------------------------------


def test_price_file_sets_every_multiplier(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    data: dict[str, Any] = {
        "models": {
            "claude-foo": {
                "input": 1.0,
                "output": 2.0,
                "speed_multipliers": {"fast": 3.0},
                "long_context": {"threshold": 100, "input_multiplier": 4.0, "output_multiplier": 5.0},
            }
        },
        "service_tier_multipliers": {"priority": 0.8},
        "inference_geo_multipliers": {"eu": 1.2},
    }
    path.write_text(json.dumps(data))
    table = PriceTable.load(str(path))
    # 101 input > 100: x4, output x5; fast x3, priority x0.8, eu x1.2:
    # (101 x 1 x 4 + 10 x 2 x 5) x 3 x 0.8 x 1.2 = (404 + 100) x 2.88 = 1451.52
    u = Usage(101, 10, 0, 0, 0, service_tier="priority", speed="fast", inference_geo="eu")
    assert _total(u, "claude-foo", table) == pytest.approx(1451.52e-6, rel=1e-9)
    # The built-in multipliers stay beside the file's: batch still halves, us still 1.1x.
    u = Usage(100, 10, 0, 0, 0, service_tier="batch", inference_geo="us")
    assert _total(u, "claude-foo", table) == pytest.approx((100 + 20) * 0.5 * 1.1e-6, rel=1e-9)


def test_price_file_toml(tmp_path: Path) -> None:
    pytest.importorskip("tomllib" if __import__("sys").version_info >= (3, 11) else "tomli")
    path = tmp_path / "prices.toml"
    path.write_text(
        "[models.claude-foo]\ninput = 1.0\noutput = 2.0\nspeed_multipliers = { fast = 3.0 }\n"
        "[service_tier_multipliers]\npriority = 0.5\n"
    )
    table = PriceTable.load(str(path))
    # (10 x 1 + 10 x 2) x 3 x 0.5 = 45
    u = Usage(10, 10, 0, 0, 0, service_tier="priority", speed="fast")
    assert _total(u, "claude-foo", table) == pytest.approx(45e-6, rel=1e-9)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"models": {}, "service_tier_multipliers": {"batch": "half"}}, "service_tier_multipliers.batch"),
        ({"models": {}, "inference_geo_multipliers": [1.1]}, "inference_geo_multipliers must be a table"),
        ({"models": {"m": {"input": 1, "output": 1, "speed_multipliers": {"fast": -2}}}}, "fast must be"),
        ({"models": {"m": {"input": 1, "output": 1, "long_context": {"threshold": 5}}}}, "needs exactly"),
        (
            {
                "models": {
                    "m": {
                        "input": 1,
                        "output": 1,
                        "long_context": {"threshold": 1.5, "input_multiplier": 2, "output_multiplier": 2},
                    }
                }
            },
            "threshold must be a whole number",
        ),
    ],
)
def test_bad_multipliers_reject_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, data: dict[str, Any], problem: str
) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    table = PriceTable.load(str(path))
    assert "m" not in table.models
    (record,) = [r for r in caplog.records if r.name == semconv.LOGGER]
    assert problem in record.getMessage()


# --- the corpus -------------------------------------------------------------------------------------


def _recorded_usages() -> list[tuple[str, str, Usage]]:
    found = []
    for rec in corpus.load_corpus():
        if rec["kind"] not in ("message", "stream") or rec["status"] != 200:
            continue
        if rec["kind"] == "stream":
            usage = usage_from_sse_text(rec["body"])
        else:
            usage = usage_from_message(json.loads(rec["body"]))
        assert usage is not None
        found.append((rec["id"], rec["expect"]["model"], usage))
    return found


def test_recorded_responses_price_as_standard() -> None:
    """Real responses say `standard` and `global` / `not_available` (or nothing): list price, exactly."""
    table = PriceTable()
    labelled = 0
    for rec_id, model, usage in _recorded_usages():
        if usage.inference_geo == "<GOOGLE_CLOUD_LOCATION>":
            continue  # the cassette's filter replaced the region (see test_corpus_through_sdk)
        assert usage.service_tier in (None, "standard"), rec_id
        assert usage.speed is None, rec_id
        assert usage.inference_geo in (None, "global", "not_available"), rec_id
        labelled += usage.service_tier is not None
        bare = dataclasses.replace(usage, service_tier=None, inference_geo=None)
        got, want = table.cost(usage, model), table.cost(bare, model)
        assert got is not None and want is not None, rec_id
        assert got == want, rec_id
    assert labelled >= 20
