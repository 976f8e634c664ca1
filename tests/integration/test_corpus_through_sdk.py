"""Real recorded API responses (../shared/corpus) served to the real SDK: exact tokens and cost.

Each 200 `message`/`stream` record's body is replayed byte for byte by a mock transport to a real
`anthropic` client with the instrumentation on. Expected tokens come from the record's `expect`
(computed from the body by the corpus builder); for compaction responses the billed tokens are the
sum over `usage.iterations`, computed by hand below. Expected cost uses list prices per MTok
written here independently of the package's table: input x (uncached input + 1.25 x 5m writes +
2 x 1h writes + 0.1 x reads) + output price x output.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

import pytest

from tests import corpus

from . import sdk

# (input, output) USD per million tokens, by family, from the public price list.
LIST_PRICES = {
    "claude-3-opus": (15.0, 75.0),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-5-haiku": (0.80, 4.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-sonnet-4-2": (3.0, 15.0),  # claude-sonnet-4-20250514
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-sonnet-5": (2.0, 10.0),  # the announced rise to $3 / $15 was cancelled
}
# Records whose cassette filter replaced the usage's region with a placeholder no API sends. Sonnet 4.6
# takes `global` (the default) or `us`; its other recordings say `global`, so it is replayed as that.
REDACTED_REGION = ('"<GOOGLE_CLOUD_LOCATION>"', '"global"')
# Compaction: billed = sum over usage.iterations (see DESIGN.md), by hand from the bodies.
COMPACTION = {
    "ruby-llm-sonnet46-compaction-1": {"input": 99357, "output": 92, "cache_write_5m": 0, "cache_read": 0},
    "pydantic-ai-sonnet46-compaction-cache-read-stream-1": {
        "input": 281,
        "output": 91,
        "cache_write_5m": 0,
        "cache_read": 55096,
    },
}


def _list_price(model: str) -> tuple[float, float]:
    matches = [key for key in LIST_PRICES if model.startswith(key)]
    assert matches, f"no list price written for {model}"
    return LIST_PRICES[max(matches, key=len)]


# The rate-limit header families: `anthropic-ratelimit-input-tokens-limit` is kind `input_tokens`,
# `anthropic-priority-input-tokens-limit` kind `priority_input_tokens`.
RATELIMIT_PREFIXES = ("anthropic-ratelimit-", "anthropic-priority-", "anthropic-fast-")


def _ratelimit_headers(record: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in record["headers"].items() if k.startswith(RATELIMIT_PREFIXES)}


def _records(with_ratelimit_headers: bool = False) -> list[Any]:
    try:
        found = [r for r in corpus.records() if r["kind"] in ("message", "stream") and r["status"] == 200]
    except BaseException:  # corpus absent: one test that skips with the reason
        return [pytest.param(None, id="corpus-absent")]
    if with_ratelimit_headers:
        found = [r for r in found if _ratelimit_headers(r)]
    return [pytest.param(r, id=r["id"]) for r in found]


def _expected_tokens(record: dict[str, Any]) -> dict[str, int]:
    if record["id"] in COMPACTION:
        return COMPACTION[record["id"]]
    e = record["expect"]
    write_1h = e["cache_write_1h"] or 0
    write_5m = e["cache_write_5m"] if e["cache_write_5m"] is not None else e["cache_creation_input_tokens"]
    return {
        "input": e["input_tokens"],
        "output": e["output_tokens"],
        "cache_write_5m": write_5m,
        "cache_write_1h": write_1h,
        "cache_read": e["cache_read_input_tokens"],
    }


def _client_replaying(record: dict[str, Any]) -> Any:
    import anthropic

    try:
        import httpx2 as httpx_lib
    except ImportError:
        import httpx as httpx_lib  # type: ignore[no-redef]
    content_type = "text/event-stream" if record["kind"] == "stream" else "application/json"

    body = record["body"].replace(*REDACTED_REGION)

    # The recorded rate-limit headers come along: the headroom gauges read them.
    headers = {"content-type": content_type, **_ratelimit_headers(record)}

    def handler(request: Any) -> Any:
        return httpx_lib.Response(200, headers=headers, content=body.encode())

    http_client = httpx_lib.Client(transport=httpx_lib.MockTransport(handler))
    return anthropic.Anthropic(
        api_key="test", base_url="http://corpus.local", http_client=http_client, max_retries=0
    )


@pytest.mark.parametrize("record", _records())
def test_recorded_response_gives_exact_tokens_and_cost(telemetry: Any, record: Any) -> None:
    if record is None:
        corpus.load_corpus()  # skips with the printed reason
    model = record["expect"]["model"]
    c = _client_replaying(record)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK warns about retired model names
        if record["kind"] == "stream":
            sdk.create_stream_events(c, model=model, messages=[{"role": "user", "content": "x"}])
        else:
            sdk.create(c, model=model, messages=[{"role": "user", "content": "x"}])

    expected = _expected_tokens(record)
    for kind, count in expected.items():
        assert telemetry.value("anthropic.tokens", anthropic__token__type=kind) == count, kind

    p_in, p_out = _list_price(model)
    cost = (
        expected["input"] * p_in
        + expected.get("cache_write_5m", 0) * p_in * 1.25
        + expected.get("cache_write_1h", 0) * p_in * 2
        + expected["cache_read"] * p_in * 0.1
        + expected["output"] * p_out
    ) / 1e6
    total = sum(p.value for p in telemetry.points("anthropic.cost.usd"))
    assert total == pytest.approx(cost, rel=1e-9)
    spans = telemetry.spans()
    assert len(spans) == 1
    assert spans[0].attributes["anthropic.cost.usd"] == pytest.approx(cost, rel=1e-9)


def _expected_gauges(record: dict[str, Any]) -> dict[tuple[str, str], float]:
    """(gauge, kind) -> value, read from the recorded header strings by hand."""
    expected: dict[tuple[str, str], float] = {}
    for name, value in _ratelimit_headers(record).items():
        family, _, rest = name.removeprefix("anthropic-").partition("-")
        kind, _, field = rest.rpartition("-")
        kind = kind.replace("-", "_") if family == "ratelimit" else f"{family}_{kind.replace('-', '_')}"
        if field == "reset":
            at = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            if at > 0:  # 1970-01-01 is sent for a limit that is not counting down: no reset time
                expected[("anthropic.ratelimit.reset_time", kind)] = at
        else:
            expected[(f"anthropic.ratelimit.{field}", kind)] = int(value)
    return expected


@pytest.mark.parametrize("record", _records(with_ratelimit_headers=True))
def test_recorded_rate_limit_headers_are_the_gauges(telemetry: Any, record: Any) -> None:
    if record is None:
        corpus.load_corpus()  # skips with the printed reason
    expected = _expected_gauges(record)
    assert expected
    model = record["expect"]["model"]
    c = _client_replaying(record)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if record["kind"] == "stream":
            sdk.create_stream_events(c, model=model, messages=[{"role": "user", "content": "x"}])
        else:
            sdk.create(c, model=model, messages=[{"role": "user", "content": "x"}])
    got = {
        (name, point.attributes["anthropic.ratelimit.kind"]): point.value
        for name in (
            "anthropic.ratelimit.limit",
            "anthropic.ratelimit.remaining",
            "anthropic.ratelimit.reset_time",
        )
        for point in telemetry.points(name)
        if point.attributes["gen_ai.request.model"] == model
    }
    assert got == expected


def test_enough_records_replayed() -> None:
    records = [r for r in corpus.records() if r["kind"] in ("message", "stream") and r["status"] == 200]
    assert sum(r["kind"] == "message" for r in records) >= 10
    assert sum(r["kind"] == "stream" for r in records) >= 10
