"""Counters summed in-process (`Sum`) and read by observable instruments: exact values, bounded
entries, and instrumenting twice with one meter provider."""

from __future__ import annotations

import importlib
from typing import Any

from anthropic_otel import AnthropicInstrumentor
from anthropic_otel._instruments import Sum
from anthropic_otel.fake import FakeAnthropic
from opentelemetry.metrics import CallbackOptions
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.readers import sums


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
    # The package's `_instruments` attribute is the OTel dependency tuple: fetch the module itself.
    monkeypatch.setattr(importlib.import_module("anthropic_otel._instruments"), "_MAX_SUM_ENTRIES", 10)
    s = Sum()
    for i in range(1000):
        s.add(1, {"m": f"model-{i % 3}"})  # a fresh dict each time, three attribute sets
        assert len(s._entries) <= 10
    assert _observed(s) == {frozenset({("m", f"model-{k}")}): (334 if k == 0 else 333) for k in range(3)}


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
