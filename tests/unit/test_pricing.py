"""Price table: exact costs by hand, model-ID matching, unknown models, price files, cache break-even."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.extract import Usage, usage_from_message
from anthropic_otel.extract.usage import usage_from_sse_text
from anthropic_otel.pricing import (
    PRICES_AS_OF,
    CallCost,
    ModelPrice,
    PriceTable,
    break_even_hit_ratio,
    default_table,
    normalize_model_id,
)

from tests import corpus


def _corpus_usage(rec_id: str) -> tuple[Usage, str]:
    """Parsed usage and model of one corpus record; skips (with the reason) when the corpus is absent."""
    rec = corpus.record(rec_id)
    if rec["kind"] == "stream":
        usage = usage_from_sse_text(rec["body"])
    else:
        usage = usage_from_message(json.loads(rec["body"]))
    assert usage is not None
    return usage, rec["expect"]["model"]


def _costs(cost: CallCost | None) -> dict[str, float]:
    assert cost is not None
    return dict(cost.by_type)


def _ours(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


# --- exact costs, by hand ---------------------------------------------------------------------


def test_sonnet35_cache_write_record() -> None:
    usage, model = _corpus_usage("openllmetry-sonnet35-cache-write-1")
    assert usage == Usage(4, 187, 1163, 0, 0)
    assert model == "claude-3-5-sonnet-20240620"
    cost = PriceTable().cost(usage, model)
    # $3 / $15 per MTok, 5m write 1.25 x 3 = $3.75:
    #   4 x 3 = 12, 1163 x 3.75 = 4361.25, 187 x 15 = 2805  -> 7178.25 / 1e6
    assert cost is not None
    assert cost.total == pytest.approx(0.00717825, rel=1e-12)
    by = _costs(cost)
    assert by[semconv.TOKEN_INPUT] == pytest.approx(12e-6, rel=1e-12)
    assert by[semconv.TOKEN_CACHE_WRITE_5M] == pytest.approx(4361.25e-6, rel=1e-12)
    assert by[semconv.TOKEN_OUTPUT] == pytest.approx(2805e-6, rel=1e-12)
    assert by[semconv.TOKEN_CACHE_WRITE_1H] == 0.0
    assert by[semconv.TOKEN_CACHE_READ] == 0.0
    # Uncached: (4 + 1163) x 3 + 2805 = 6306 / 1e6: this write cost more than it saved (until read).
    assert cost.uncached_total == pytest.approx(0.006306, rel=1e-12)
    assert cost.cache_saving == pytest.approx(-0.00087225, rel=1e-9)


def test_sonnet35_cache_read_record() -> None:
    usage, model = _corpus_usage("openllmetry-sonnet35-cache-read-1")
    assert usage == Usage(4, 202, 0, 0, 1163)
    cost = PriceTable().cost(usage, model)
    # 4 x 3 + 1163 x 0.30 + 202 x 15 = 12 + 348.9 + 3030 = 3390.9 / 1e6
    assert cost is not None
    assert cost.total == pytest.approx(0.0033909, rel=1e-12)
    # uncached: 1167 x 3 + 3030 = 6531 / 1e6
    assert cost.uncached_total == pytest.approx(0.006531, rel=1e-12)


def test_sonnet46_1h_write_stream_record() -> None:
    usage, model = _corpus_usage("pydantic-ai-sonnet46-cache-write-1h-stream-1")
    assert usage == Usage(13, 4, 0, 3913, 0, service_tier="standard", inference_geo="global")
    cost = PriceTable().cost(usage, model)
    # 13 x 3 + 3913 x 6 (2 x 3) + 4 x 15 = 39 + 23478 + 60 = 23577 / 1e6
    assert cost is not None
    assert cost.total == pytest.approx(0.023577, rel=1e-12)
    assert _costs(cost)[semconv.TOKEN_CACHE_WRITE_1H] == pytest.approx(23478e-6, rel=1e-12)
    # uncached: 3926 x 3 + 60 = 11838 / 1e6
    assert cost.uncached_total == pytest.approx(0.011838, rel=1e-12)


def test_haiku45_5m_write_record() -> None:
    usage, model = _corpus_usage("ruby-llm-haiku45-cache-write-5m-1")
    cost = PriceTable().cost(usage, model)
    # $1 / $5: 10 x 1 + 7351 x 1.25 + 4 x 5 = 10 + 9188.75 + 20 = 9218.75 / 1e6
    assert cost is not None
    assert cost.total == pytest.approx(0.00921875, rel=1e-12)


def test_compaction_record_bills_every_pass() -> None:
    usage, model = _corpus_usage("ruby-llm-sonnet46-compaction-1")
    # The cassette's filter replaced the recorded region with a placeholder no API sends: drop it.
    usage = dataclasses.replace(usage, inference_geo=None)
    cost = PriceTable().cost(usage, model)
    # Summed iterations: 99357 input x 3 + 92 output x 15 = 298071 + 1380 = 299451 / 1e6
    # (the top-level usage alone would say 162 x 3 + 11 x 15 = 651 / 1e6).
    assert cost is not None
    assert cost.total == pytest.approx(0.299451, rel=1e-12)


def test_claude3_haiku_cache_prices_are_not_the_multipliers() -> None:
    cost = PriceTable().cost(Usage(100, 10, 1000, 1000, 1000), "claude-3-haiku-20240307")
    # Pricing page: input 0.25, output 1.25, 5m write 0.30, 1h write 0.50, read 0.03 per MTok
    # 25 + 12.5 + 300 + 500 + 30 = 867.5 / 1e6
    assert cost is not None
    assert cost.total == pytest.approx(867.5e-6, rel=1e-12)
    # uncached: 3100 x 0.25 + 12.5 = 787.5 / 1e6
    assert cost.uncached_total == pytest.approx(787.5e-6, rel=1e-12)


def test_by_type_in_semconv_order_and_per_token_rates() -> None:
    price = PriceTable().price("claude-opus-4-5")
    assert price == ModelPrice(5e-6, 25e-6, 6.25e-6, 10e-6, 0.5e-6)
    cost = PriceTable().cost(Usage(1, 1, 1, 1, 1), "claude-opus-4-5")
    assert cost is not None
    assert tuple(t for t, _ in cost.by_type) == semconv.TOKEN_TYPES
    assert tuple(t for t, _ in price.by_type()) == semconv.TOKEN_TYPES
    assert cost.total == pytest.approx((5 + 25 + 6.25 + 10 + 0.5) / 1e6, rel=1e-12)


def test_zero_usage_costs_zero() -> None:
    cost = PriceTable().cost(Usage(0, 0, 0, 0, 0), "claude-sonnet-4")
    assert cost is not None
    assert (cost.total, cost.uncached_total) == (0.0, 0.0)


def test_builtin_table_prices() -> None:
    t = PriceTable()
    # (input, output[, 5m write, 1h write, cache read]) per MTok, as the pricing page lists them.
    expected: dict[str, tuple[float, ...]] = {
        "claude-3-haiku": (0.25, 1.25, 0.30, 0.50, 0.03),
        "claude-3-sonnet": (3, 15),
        "claude-3-opus": (15, 75),
        "claude-3-5-haiku": (0.80, 4),
        "claude-3-5-sonnet": (3, 15),
        "claude-3-7-sonnet": (3, 15),
        "claude-sonnet-4": (3, 15),
        "claude-opus-4": (15, 75),
        "claude-opus-4-1": (15, 75),
        "claude-sonnet-4-5": (3, 15),
        "claude-haiku-4-5": (1, 5),
        "claude-opus-4-5": (5, 25),
        "claude-sonnet-4-6": (3, 15),
        "claude-opus-4-6": (5, 25),
        "claude-opus-4-7": (5, 25),
        "claude-opus-4-8": (5, 25),
        "claude-opus-5": (5, 25),
        "claude-sonnet-5": (2, 10),
        "claude-fable-5": (10, 50),
        "claude-mythos-5": (10, 50),
        "claude-fable-5-1": (10, 50, 12.50, 20, 0.25),
        "claude-mythos-5-1": (10, 50, 12.50, 20, 0.25),
        "claude-fable-5-2": (8, 40, 10, 16, 0.20),
        "claude-mythos-5-2": (8, 40, 10, 16, 0.20),
        "claude-opus-5-5": (4, 20, 5, 8, 0.20),
        "claude-sonnet-5-5": (2, 10, 2.50, 4, 0.10),
        "claude-haiku-5-5": (0.10, 0.50),
    }
    assert set(t.models) == set(expected)
    for key, prices in expected.items():
        p = t.price(key)
        assert p is not None, key
        inp, out = prices[:2]
        w5m, w1h, read = prices[2:] or (1.25 * inp, 2 * inp, 0.1 * inp)
        assert [p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read] == pytest.approx(
            [inp / 1e6, out / 1e6, w5m / 1e6, w1h / 1e6, read / 1e6], rel=1e-12
        ), key
    assert PRICES_AS_OF == "2026-12-05"


# --- model-ID matching --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("claude-sonnet-4-6", "claude-sonnet-4-6"),
        ("claude-3-5-sonnet-20240620", "claude-3-5-sonnet"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-0", "claude-opus-4"),  # Anthropic's alias for the 4.0 release
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("anthropic.claude-3-haiku-20240307-v1:0:200k", "claude-3-haiku"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "claude-haiku-4-5",
        ),
        ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
        ("claude-sonnet-4@20250514", "claude-sonnet-4"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("publishers/anthropic/models/claude-3-5-haiku@20241022", "claude-3-5-haiku"),
        ("Claude-Sonnet-4-5 ", "claude-sonnet-4-5"),
        ("claude-3-sonnet-20240229", "claude-3-sonnet"),  # not claude-3-5-sonnet
        ("claude-opus-4-9", None),  # another version: unknown, never Opus 4's price
        ("claude-opus-5-5-20260923", "claude-opus-5-5"),  # not Opus 5
        ("claude-opus-5-20260724", "claude-opus-5"),
        ("claude-fable-5-1", "claude-fable-5-1"),
        ("claude-fable-5-3", None),  # a later Fable: unknown, never Fable 5's price
        ("claude-sonnet-4-6-custom", "claude-sonnet-4-6"),  # a non-numeric variant: prefix match
        ("claude-2.1", None),
        ("gpt-4o", None),
    ],
)
def test_model_matching(model: str, key: str | None) -> None:
    assert PriceTable().key_for(model) == key


def test_longest_prefix_wins_when_prices_differ() -> None:
    t = PriceTable(
        {
            "claude-opus-4": ModelPrice.per_million(15, 75),
            "claude-opus-4-1": ModelPrice.per_million(1, 2),
        }
    )
    p = t.price("claude-opus-4-1-20250805")
    assert p is not None
    assert p.input == pytest.approx(1e-6, rel=1e-12)
    p4 = t.price("claude-opus-4-20250514")
    assert p4 is not None
    assert p4.input == pytest.approx(15e-6, rel=1e-12)


def test_normalize_model_id() -> None:
    assert normalize_model_id("us.anthropic.claude-3-5-sonnet-20241022-v2:0") == "claude-3-5-sonnet"
    assert normalize_model_id("claude-3-5-sonnet-v2@20241022") == "claude-3-5-sonnet"
    assert normalize_model_id("claude-haiku-4-5-latest") == "claude-haiku-4-5"


def test_lookup_is_memoised() -> None:
    t = PriceTable()
    assert t.price("claude-sonnet-4-20250514") is t.price("claude-sonnet-4-20250514")
    assert t.price("claude-sonnet-4-20250514") is t.price("claude-sonnet-4")


# --- unknown models ---------------------------------------------------------------------------


def test_unknown_model_logs_once_per_model(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    t = PriceTable()
    for _ in range(3):
        assert t.price("claude-mystery-1") is None
        assert t.cost(Usage(1, 1, 0, 0, 0), "claude-mystery-1") is None
    records = _ours(caplog, semconv.LOGGER_UNKNOWN_MODEL)
    assert len(records) == 1
    assert records[0].getMessage().startswith("anthropic-otel: no price for model 'claude-mystery-1' ")
    t.price("claude-mystery-2")
    assert len(_ours(caplog, semconv.LOGGER_UNKNOWN_MODEL)) == 2
    # No model at all is not an unknown model.
    assert t.price(None) is None
    assert len(_ours(caplog, semconv.LOGGER_UNKNOWN_MODEL)) == 2


def test_unknown_model_logs_once_across_threads(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    t = PriceTable()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            t.price("claude-threaded-9")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(_ours(caplog, semconv.LOGGER_UNKNOWN_MODEL)) == 1


# --- price files ------------------------------------------------------------------------------

_TOML = """
as_of = "2026-12-01"

[models.claude-foo]
input = 2.0
output = 10
cache_read = 0.5

[models."claude-sonnet-4-6"]
input = 4.0
output = 20.0
cache_write_1h = 9.0
"""

_JSON = {
    "models": {
        "claude-foo": {"input": 2.0, "output": 10, "cache_read": 0.5},
        "claude-sonnet-4-6": {"input": 4.0, "output": 20.0, "cache_write_1h": 9.0},
    }
}


def _check_override(t: PriceTable) -> None:
    foo = t.price("claude-foo-20260101")
    # explicit cache_read; 5m and 1h derived from input 2.0 (2.5 and 4.0)
    assert foo is not None
    assert [rate for _, rate in foo.by_type()] == pytest.approx(
        [2e-6, 10e-6, 2.5e-6, 4e-6, 0.5e-6], rel=1e-12
    )
    sonnet = t.price("claude-sonnet-4-6")
    assert sonnet is not None
    assert sonnet.input == pytest.approx(4e-6, rel=1e-12)
    assert sonnet.cache_write_5m == pytest.approx(5e-6, rel=1e-12)
    assert sonnet.cache_write_1h == pytest.approx(9e-6, rel=1e-12)
    # Built-in entries not in the file are untouched.
    assert t.price("claude-haiku-4-5") == PriceTable().price("claude-haiku-4-5")


def test_price_file_toml(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    path = tmp_path / "prices.toml"
    path.write_text(_TOML, encoding="utf-8")
    _check_override(PriceTable.load(str(path)))
    assert _ours(caplog, semconv.LOGGER) == []


def test_price_file_json(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(_JSON), encoding="utf-8")
    _check_override(PriceTable.load(str(path)))
    assert _ours(caplog, semconv.LOGGER) == []


def test_default_table_reads_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(_JSON), encoding="utf-8")
    monkeypatch.setenv(semconv.ENV_PRICES_FILE, str(path))
    _check_override(default_table())
    monkeypatch.delenv(semconv.ENV_PRICES_FILE)
    assert default_table().price("claude-foo") is None
    # An explicit path wins over the environment.
    monkeypatch.setenv(semconv.ENV_PRICES_FILE, str(tmp_path / "nope.json"))
    _check_override(default_table(str(path)))


def test_no_price_file_is_builtin() -> None:
    assert PriceTable.load(None).models == PriceTable().models
    assert PriceTable.load("").models == PriceTable().models


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.json", None, "file not found"),
        ("bad.toml", "[models.claude-foo\ninput = 1", "invalid TOML"),
        ("bad.json", '{"models": {"claude-foo": {"input": 1,}}}', "invalid JSON"),
        (
            "neg.json",
            json.dumps({"models": {"claude-foo": {"input": -1.0, "output": 5}}}),
            "models.claude-foo.input",
        ),
        (
            "str.json",
            json.dumps({"models": {"claude-foo": {"input": "3.0", "output": 5}}}),
            "must be a number",
        ),
        ("bool.toml", "[models.claude-foo]\ninput = true\noutput = 5\n", "must be a number"),
        ("nan.json", '{"models": {"claude-foo": {"input": NaN, "output": 5}}}', "finite"),
        (
            "noout.json",
            json.dumps({"models": {"claude-foo": {"input": 1}}}),
            "missing required field 'output'",
        ),
        (
            "typo.json",
            json.dumps({"models": {"claude-foo": {"input": 1, "output": 5, "cache_write": 2}}}),
            "cache_write",
        ),
        ("list.json", json.dumps({"models": ["claude-foo"]}), "'models' must be"),
        ("top.json", json.dumps({"model": {}}), "unknown top-level key"),
        ("entry.json", json.dumps({"models": {"claude-foo": 3}}), "models.claude-foo must be"),
        ("prices.yaml", "models: {}", "must end in .toml or .json"),
        # One good entry does not save a file with a bad one: the whole file is rejected.
        (
            "partial.json",
            json.dumps(
                {
                    "models": {
                        "claude-foo": {"input": 1, "output": 5},
                        "claude-bar": {"input": -2, "output": 5},
                    }
                }
            ),
            "models.claude-bar.input",
        ),
    ],
)
def test_broken_price_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, content: str | None, problem: str
) -> None:
    if name.endswith(".toml"):
        pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    caplog.set_level(logging.WARNING)
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    t = PriceTable.load(str(path))
    records = _ours(caplog, semconv.LOGGER)
    assert len(records) == 1
    message = records[0].getMessage()
    assert message.startswith(f"anthropic-otel: price file {path} ignored, built-in prices used: ")
    assert problem in message
    assert records[0].levelno == logging.WARNING
    # The built-in table, exactly.
    assert t.models == PriceTable().models
    assert t.price("claude-foo") is None
    assert t.price("claude-sonnet-4-6") == PriceTable().price("claude-sonnet-4-6")


# --- cache break-even ---------------------------------------------------------------------------
# A prefix of P tokens written once and read k times costs w·P + k·r·P with caching (w = write
# multiplier, r = 0.1 read multiplier) and (1 + k)·P without. Equal when w + k·r = 1 + k, so
# k = (w - 1)/(1 - r). The hit ratio the dashboards show is read / (read + write) = k/(k + 1)
# = (w - 1)/(w - r). 5m: w = 1.25 -> 0.25/1.15 = 5/23 ≈ 21.7 %; 1h: w = 2 -> 1/1.9 = 10/19 ≈ 52.6 %.


def test_break_even_hit_ratio_matches_design() -> None:
    assert break_even_hit_ratio("5m") == pytest.approx(5 / 23, rel=1e-12)
    assert break_even_hit_ratio("1h") == pytest.approx(10 / 19, rel=1e-12)
    assert round(break_even_hit_ratio("5m") * 100) == 22
    assert round(break_even_hit_ratio("1h") * 100) == 53
    assert break_even_hit_ratio(semconv.TOKEN_CACHE_WRITE_1H) == break_even_hit_ratio("1h")
    with pytest.raises(ValueError):
        break_even_hit_ratio("2h")


@pytest.mark.parametrize(
    ("ttl", "written", "read"),
    [
        # 5m: k = 0.25/0.9 = 5/18 -> write 18000, read 5000 (hit ratio 5000/23000 = 5/23)
        ("5m", 18000, 5000),
        # 1h: k = 1/0.9 = 10/9 -> write 9000, read 10000 (hit ratio 10000/19000 = 10/19)
        ("1h", 9000, 10000),
    ],
)
def test_break_even_costs_equal_uncached(ttl: str, written: int, read: int) -> None:
    t = PriceTable()

    def usage(reads: int) -> Usage:
        return Usage(0, 0, written if ttl == "5m" else 0, written if ttl == "1h" else 0, reads)

    at = t.cost(usage(read), "claude-sonnet-4-6")
    assert at is not None
    assert at.total == pytest.approx(at.uncached_total, rel=1e-12)
    assert usage(read).hit_ratio == pytest.approx(break_even_hit_ratio(ttl), rel=1e-12)
    # One more read saves money, one fewer loses it.
    above = t.cost(usage(read + 100), "claude-sonnet-4-6")
    below = t.cost(usage(read - 100), "claude-sonnet-4-6")
    assert above is not None and below is not None
    assert above.cache_saving > 0 > below.cache_saving


def test_callcost_fields() -> None:
    fields: dict[str, Any] = {"by_type": (), "total": 1.0, "uncached_total": 3.0}
    assert CallCost(**fields).cache_saving == 2.0
