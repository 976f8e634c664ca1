"""One "process of the fleet" for the cross-process dedup tests: builds a Redis-backed detector, starts
one request, reports what the store said, completes it (after a line on stdin with `--hold`), and
reports its duplicate metrics. Output: JSON lines on stdout.

Usage: python -m tests.e2e.dedup_client REDIS_URL BODY_JSON BILLED_TOKENS [--hold]
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from anthropic_otel import semconv
from anthropic_otel.dedup import DuplicateDetector
from anthropic_otel.settings import Settings
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader


def by_state(reader: InMemoryMetricReader, name: str) -> dict[str, Any]:
    data = reader.get_metrics_data()
    out: dict[str, Any] = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        out[str(point.attributes[semconv.ANTHROPIC_DUPLICATE_STATE])] = point.value
    return out


def main(argv: list[str]) -> int:
    url, body_json, billed = argv[0], argv[1], int(argv[2])
    hold = "--hold" in argv[3:]
    body = json.loads(body_json)
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    detector = DuplicateDetector(Settings(dedup="redis", dedup_redis_url=url), provider.get_meter("fleet"))
    try:
        ticket = detector.start(body["model"], body)
        assert ticket is not None
        deadline = time.monotonic() + 10
        while not ticket.checked and time.monotonic() < deadline:
            time.sleep(0.001)
        print(json.dumps({"checked": ticket.checked, "state": ticket.state}), flush=True)
        if hold:
            sys.stdin.readline()
        detector.complete(ticket, billed)
    finally:
        detector.shutdown()
    print(
        json.dumps(
            {
                "duplicates": by_state(reader, semconv.ANTHROPIC_DUPLICATES.name),
                "tokens": by_state(reader, semconv.ANTHROPIC_DUPLICATES_TOKENS.name),
            }
        ),
        flush=True,
    )
    provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
