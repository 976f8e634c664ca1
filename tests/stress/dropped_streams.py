"""Stress workload: threads that drop unclosed streams held in reference cycles, for a while.

Each worker opens a stream through the real SDK over the fake API, reads a few events and drops
it unclosed inside a reference cycle, so only the garbage collector finds it: every abandoned
stream is then ended at collection time, on whichever thread the collection happens to run,
possibly inside a lock of ours or of the OTel SDK, while the idle watchdog runs. The process
prints one JSON line of figures and exits 0; a hang is seen by the caller as a timeout, a crash
as a signal exit status, an exception in an app thread as `app_errors`.

Usage: python -m tests.stress.dropped_streams SECONDS [--threads N] [--gc-threshold N] [--bare]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

MESSAGES = [{"role": "user", "content": "hello"}]


class _CountingExporter(SpanExporter):
    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


def _drop_sync(client: Any, worker: int, n: int) -> None:
    stream = client.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=MESSAGES, stream=True)
    for i, _event in enumerate(stream):
        if i >= 2:
            break
    cycle: dict[str, Any] = {"stream": stream}
    cycle["self"] = cycle  # only the collector frees it


async def _drop_async(client: Any) -> None:
    stream = await client.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=MESSAGES, stream=True
    )
    i = 0
    async for _event in stream:
        i += 1
        if i >= 3:
            break
    cycle: dict[str, Any] = {"stream": stream}
    cycle["self"] = cycle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", type=float)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--gc-threshold", type=int, default=0, help="gc.set_threshold(N) when > 0")
    parser.add_argument("--bare", action="store_true", help="uninstrumented reference run")
    args = parser.parse_args(argv)

    from anthropic_otel import AnthropicInstrumentor
    from anthropic_otel.fake import FakeAnthropic

    exporter = _CountingExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = AnthropicInstrumentor()
    if not args.bare:
        # A short idle threshold keeps the watchdog checking all the time, beside the collections.
        instrumentor.instrument(
            meter_provider=meter_provider, tracer_provider=tracer_provider, stream_idle_timeout_s=0.05
        )
    if args.gc_threshold > 0:
        gc.set_threshold(args.gc_threshold)

    fake = FakeAnthropic()
    deadline = time.monotonic() + args.seconds
    dropped = [0] * (args.threads + 1)
    app_errors: list[str] = []

    def sync_worker(worker: int) -> None:
        client = fake.client()
        n = 0
        while time.monotonic() < deadline:
            try:
                _drop_sync(client, worker, n)
                n += 1
            except BaseException:  # noqa: BLE001 - any exception here reached the app
                app_errors.append(traceback.format_exc(limit=8))
                return
            dropped[worker] = n

    def async_worker() -> None:
        async def loop() -> None:
            client = fake.async_client()
            n = 0
            while time.monotonic() < deadline:
                await _drop_async(client)
                n += 1
                dropped[args.threads] = n

        try:
            asyncio.run(loop())
        except BaseException:  # noqa: BLE001
            app_errors.append(traceback.format_exc(limit=8))

    threads = [threading.Thread(target=sync_worker, args=(w,)) for w in range(args.threads - 1)]
    threads.append(threading.Thread(target=async_worker))
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    gc.collect()
    if not args.bare:
        instrumentor.uninstrument()
    tracer_provider.shutdown()
    streams = 0
    for resource_metrics in (reader.get_metrics_data() or _Empty()).resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "anthropic.streams":
                    streams += sum(int(p.value) for p in metric.data.data_points)
    meter_provider.shutdown()
    print(
        json.dumps(
            {
                "seconds": round(elapsed, 1),
                "dropped": sum(dropped),
                "streams_recorded": streams,
                "spans_exported": exporter.spans,
                "app_errors": len(app_errors),
                "first_error": app_errors[0] if app_errors else None,
            }
        ),
        flush=True,
    )
    return 0


class _Empty:
    resource_metrics: list[Any] = []


if __name__ == "__main__":
    sys.exit(main())
