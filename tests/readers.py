"""Reading what an in-memory metric reader collected, for tests and test helper scripts."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader


def data_points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    """Every data point of the metric `name` collected by `reader` now, over all scopes."""
    data = reader.get_metrics_data()
    return [
        point
        for resource_metrics in (data.resource_metrics if data else ())
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def sums(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], float]]:
    """(attributes, value) of each data point of the counter `name`."""
    return [(dict(p.attributes), p.value) for p in data_points(reader, name)]
