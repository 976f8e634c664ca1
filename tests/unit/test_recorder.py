"""Counters summed in-process (`Sum`) and read by observable instruments: exact values, bounded
series with an overflow series past the limit, constant work per add, refused amounts, and
instrumenting twice with one meter provider."""

from __future__ import annotations

import math
from typing import Any

import pytest
from anthropic_otel import AnthropicInstrumentor, _guard
from anthropic_otel import recorder as _module
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.recorder import Histogram, Recorder, Sum
from opentelemetry.metrics import CallbackOptions
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.readers import data_points, sums


def _observed(s: Sum) -> dict[frozenset[Any], float]:
    return {frozenset((o.attributes or {}).items()): o.value for o in s.observe(CallbackOptions())}


def test_sums_per_attribute_set_merging_equal_dicts() -> None:
    s = Sum()
    cached = {"m": "a"}
    for _ in range(3):
        s.add(2, cached)
    s.add(1, {"m": "a"})  # an equal dict built elsewhere: the same series
    s.add(-1.5, {"m": "b"})
    assert _observed(s) == {frozenset({("m", "a")}): 7, frozenset({("m", "b")}): -1.5}


def test_dicts_built_per_call_cannot_grow_it_past_the_cap(monkeypatch: Any) -> None:
    monkeypatch.setattr(_module, "_MAX_IDS", 10)
    s = Sum()
    for i in range(1000):
        s.add(1, {"m": f"model-{i % 3}"})  # a fresh dict each time, three attribute sets
        assert len(s._by_id) <= 10
        assert len(s._alive) <= 10
    assert _observed(s) == {frozenset({("m", f"model-{k}")}): (334 if k == 0 else 333) for k in range(3)}


def test_the_limit_th_series_is_kept_and_the_next_ones_share_the_overflow_series() -> None:
    limit = _module.MAX_SERIES
    assert limit == 2000  # the OTel SDK's default cardinality limit, stated in the README
    s = Sum()
    kept = [{"m": f"model-{i}"} for i in range(limit)]
    for i, attributes in enumerate(kept):
        s.add(i + 1, attributes)
    s.add(7, {"m": "one-too-many"})
    s.add(11, {"m": "another"})
    s.add(3, {"m": "one-too-many"})  # an equal dict built again: still the overflow series
    s.add(0.5, kept[-1])  # the limit-th series goes on counting on its own
    s.add(1, {"m": "model-0"})  # so does the first, by content
    observed = _observed(s)
    assert len(observed) == limit + 1
    assert observed[frozenset({("m", f"model-{limit - 1}")})] == limit + 0.5
    assert observed[frozenset({("m", "model-0")})] == 2
    assert observed[frozenset({("otel.metric.overflow", True)})] == 7 + 11 + 3
    assert frozenset({("m", "one-too-many")}) not in observed


def test_every_add_is_constant_work_past_the_limit(monkeypatch: Any) -> None:
    """12,000 attribute sets in dicts built per add: each add builds at most one content key.

    Work is counted, not timed: every look-up by content builds one frozenset of the attributes.
    The old code rebuilt one per stored entry on every add past 8,192 entries (12,000 per add here).
    """
    built = 0
    adds = 0

    def counting_frozenset(items: Any = ()) -> frozenset[Any]:
        nonlocal built
        built += 1
        assert built <= adds + 1, f"{built} content keys built for {adds} adds"
        return frozenset(items)

    monkeypatch.setattr(_module, "frozenset", counting_frozenset, raising=False)
    s = Sum()
    for _ in range(3):
        for i in range(12_000):
            adds += 1
            s.add(1, {"m": f"model-{i}"})
    assert built == adds == 36_000
    observed = _observed(s)
    assert observed[frozenset({("otel.metric.overflow", True)})] == 3 * (12_000 - _module.MAX_SERIES)
    assert sum(observed.values()) == 36_000


def test_a_cached_dict_is_one_lookup_by_identity(monkeypatch: Any) -> None:
    """As many dicts as the recorder's attribute sets cache, most past the series limit: each is looked up
    by content once, then found by identity."""
    learned: list[int] = []
    learn = Sum._learn

    def counting_learn(self: Sum, key: int, attributes: Any) -> Any:
        learned.append(key)
        return learn(self, key, attributes)

    monkeypatch.setattr(Sum, "_learn", counting_learn)
    s = Sum()
    cached = [{"m": f"model-{i}"} for i in range(_module._MAX_CACHED_KEYS)]
    for _ in range(3):
        for attributes in cached:
            s.add(1, attributes)
    assert len(learned) == len(cached) == 4096
    assert _observed(s)[frozenset({("otel.metric.overflow", True)})] == 3 * (4096 - 2000)


@pytest.mark.parametrize(
    "amount", [math.nan, math.inf, -math.inf, 2**63, -(2**63), 10**12 + 1, 1e13], ids=str
)
def test_sum_refuses_non_finite_and_absurd_amounts(amount: float, caplog: Any) -> None:
    _guard.reset_for_tests()
    s = Sum()
    attributes = {"m": "a"}
    s.add(5, attributes)
    with caplog.at_level("WARNING", logger="anthropic_otel"):
        s.add(amount, attributes)
        s.add(amount, {"m": "b"})
    s.add(10**12, attributes)  # the bound itself is an amount
    assert _observed(s) == {frozenset({("m", "a")}): 5 + 10**12}
    assert len([r for r in caplog.records if "instruments.refused.sum" in r.getMessage()]) == 1


def test_histogram_records_only_finite_amounts() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        histogram = Histogram(provider.get_meter("t").create_histogram("h"))
        for amount in (math.nan, math.inf, 2**63, 4, 2.5):
            histogram.record(amount, {"m": "a"})
        (point,) = data_points(reader, "h")
        assert (point.count, point.sum, point.min, point.max) == (2, 6.5, 2.5, 4)
    finally:
        provider.shutdown()


def test_a_model_string_longer_than_the_limit_is_cut_in_attributes() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        recorder = Recorder(provider.get_meter("t"))
        long_model = "arn:aws:bedrock:" + "x" * 400
        exact = "m" * 256
        for model in (long_model, long_model, exact):
            recorder.stream_opened(model)
        assert sorted(sums(reader, "anthropic.streams.active"), key=repr) == sorted(
            [({"gen_ai.request.model": long_model[:256]}, 2), ({"gen_ai.request.model": exact}, 1)], key=repr
        )
    finally:
        provider.shutdown()


def _requests(reader: InMemoryMetricReader) -> float:
    return sum(value for _attrs, value in sums(reader, "anthropic.requests"))


def test_instrumenting_again_with_the_same_provider_keeps_counting() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    client = FakeAnthropic().client()
    args: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 8}
    try:
        for n in (1, 2):
            AnthropicInstrumentor().instrument(meter_provider=provider)
            client.messages.create(messages=[{"role": "user", "content": f"call {n}"}], **args)
            AnthropicInstrumentor().uninstrument()
            assert _requests(reader) == n
    finally:
        provider.shutdown()
