"""Shared fixtures: in-memory OTel readers/exporters and the instrumentor, on and off per test.

The SDK's own tracing (anthropic >= 1.14) uses the global tracer provider, so one global
provider is installed for the session and its exporter is cleared before each test.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from anthropic_otel import AnthropicInstrumentor, _guard
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.readers import data_points

_SPANS = InMemorySpanExporter()
_TRACER_PROVIDER = TracerProvider()
_TRACER_PROVIDER.add_span_processor(SimpleSpanProcessor(_SPANS))
trace.set_tracer_provider(_TRACER_PROVIDER)


class Telemetry:
    """What the instrumentation exported during one test, with exact-value lookups."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer_provider = _TRACER_PROVIDER
        self.exporter = _SPANS

    def instrument(self, **settings: Any) -> None:
        """Instrumentation on, exporting here, with `settings` (after an `uninstrument()`)."""
        AnthropicInstrumentor().instrument(
            meter_provider=self.meter_provider, tracer_provider=self.tracer_provider, **settings
        )

    def reinstrument(self, **settings: Any) -> None:
        """Instrumentation off and on again with `settings`, still exporting here."""
        AnthropicInstrumentor().uninstrument()
        self.instrument(**settings)

    def points(self, name: str) -> list[Any]:
        return data_points(self.reader, name)

    def value(self, name: str, **attrs: Any) -> float:
        """Sum (counters) or count (histograms) over points whose attributes include `attrs`."""
        wanted = {k.replace("__", "."): v for k, v in attrs.items()}
        total: float = 0
        for point in self.points(name):
            if all(point.attributes.get(k) == v for k, v in wanted.items()):
                total += point.value if hasattr(point, "value") else point.count
        return total

    def histogram_sum(self, name: str, **attrs: Any) -> float:
        wanted = {k.replace("__", "."): v for k, v in attrs.items()}
        return sum(
            p.sum for p in self.points(name) if all(p.attributes.get(k) == v for k, v in wanted.items())
        )

    def spans(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """Instrumentation on, exporting into fresh in-memory readers; off again after the test."""
    # Streams dropped by earlier tests end at collection: let them end before this test starts.
    gc.collect()
    _SPANS.clear()
    _guard.reset_for_tests()
    t = Telemetry()
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(meter_provider=t.meter_provider, tracer_provider=t.tracer_provider)
    try:
        yield t
    finally:
        instrumentor.uninstrument()
        t.meter_provider.shutdown()
