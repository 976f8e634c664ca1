"""One variant of `bench_compare.py`, in a process (and venv) of its own: set up once, then time blocks of calls.

The parent names the variant and the stream size on the command line, then sends one JSON line per block
(`{"workload": ..., "calls": n, "warmup": k}`) and reads back one JSON line with the wall time of each timed
call in nanoseconds and the process's CPU time over the block, every thread and one metric collection at its
end included. Everything the variant installs (global providers, instrumentors, settings from the
environment) is done before the first block, so every block of every round measures the same state. Run
with `PYTHONPATH` holding the package's `instrumentation/` folder: the fake API is imported from there,
in every venv; nothing of `anthropic_otel` is patched in unless the variant instruments with it.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

MODEL = "claude-sonnet-4-6"
SMALL = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "What is 12 squared?"}]}
# Header the fake reads for the number of output tokens, one text delta event each.
OUTPUT_TOKENS_HEADER = "x-fake-output-tokens"
WORKLOADS = ("create", "stream", "async")
PEER_PACKAGES = {
    "openllmetry": "opentelemetry-instrumentation-anthropic",
    "otel-genai": "opentelemetry-instrumentation-genai-anthropic",
}
VARIANTS = (
    "bare",
    "sdk-tracing",
    "ours-metrics",
    "ours-full",
    "ours-dedup-memory",
    "ours-dedup-redis",
    "openllmetry",
    "otel-genai",
)


class CountingExporter:
    """Span exporter that keeps only a count: the cost measured is making and ending spans, not export."""

    def __init__(self) -> None:
        self.count = 0
        self.names: set[str] = set()
        self.last: Any = None

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.count += len(spans)
        for span in spans:
            self.names.add(span.name)
            self.last = span
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class Variant:
    def __init__(self, name: str, events: int) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        self.name = name
        self.seq = itertools.count()
        self.exporter = CountingExporter()
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracing = name not in ("bare", "ours-metrics")
        if self.tracing:
            self.set_global_tracer_provider()
        self.instrument()

        from anthropic_otel.fake import FakeAnthropic

        self.fake = FakeAnthropic(keep_log=False)
        # Each client as a user builds it: no `open_telemetry` option, so the SDK traces exactly when a
        # global tracer provider is set.
        self.client = self.fake.client(max_retries=0)
        self.loop = asyncio.new_event_loop()
        self.async_client = self.fake.async_client(max_retries=0)
        self.events = events
        self.stream_extra = self.stream_body_for(events)

    def set_global_tracer_provider(self) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))  # type: ignore[arg-type]
        trace.set_tracer_provider(provider)

    def instrument(self) -> None:
        name = self.name
        if name.startswith("ours-"):
            from anthropic_otel import AnthropicInstrumentor

            AnthropicInstrumentor().instrument(meter_provider=self.meter_provider)
        elif name == "openllmetry":
            from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor as Peer

            Peer().instrument(meter_provider=self.meter_provider)
        elif name == "otel-genai":
            from opentelemetry.instrumentation.genai.anthropic import AnthropicInstrumentor as Peer

            Peer().instrument(meter_provider=self.meter_provider)

    def stream_body_for(self, events: int) -> dict[str, Any]:
        """Stream request extras so the response has `events` server-sent events in all."""
        probe = self.fake.handle(
            "POST",
            "/v1/messages",
            {OUTPUT_TOKENS_HEADER: "1"},
            json.dumps({**SMALL, "stream": True}).encode(),
        )
        other = sum(1 for chunk in probe.chunks if isinstance(chunk, bytes)) - 1
        tokens = max(1, events - other)
        self.events = other + tokens
        return {
            "max_tokens": max(64, tokens),
            "stream": True,
            "extra_headers": {OUTPUT_TOKENS_HEADER: str(tokens)},
        }

    def bodies(self, workload: str, calls: int) -> list[dict[str, Any]]:
        """Distinct prompts, as in production: duplicate detection sees no duplicates."""
        extra = self.stream_extra if workload == "stream" else {}
        return [
            {
                **SMALL,
                **extra,
                "messages": [{"role": "user", "content": f"Question {next(self.seq)}: what is 12 squared?"}],
            }
            for _ in range(calls)
        ]

    def time_block(self, workload: str, calls: int) -> list[int]:
        bodies = self.bodies(workload, calls)
        clock = time.perf_counter_ns
        out: list[int] = []
        if workload == "async":
            return self.loop.run_until_complete(self.time_async(bodies))
        create = self.client.messages.create
        if workload == "stream":
            for body in bodies:
                t0 = clock()
                for _event in create(**body):
                    pass
                out.append(clock() - t0)
        else:
            for body in bodies:
                t0 = clock()
                create(**body)
                out.append(clock() - t0)
        return out

    async def time_async(self, bodies: list[dict[str, Any]]) -> list[int]:
        create = self.async_client.messages.create
        clock = time.perf_counter_ns
        out: list[int] = []
        for body in bodies:
            t0 = clock()
            await create(**body)
            out.append(clock() - t0)
        return out

    def check(self) -> dict[str, Any]:
        """What one call of each workload records here: spans, their names, ours on the span, metrics."""
        from anthropic_otel import semconv

        facts: dict[str, Any] = {"events": self.events}
        for workload in WORKLOADS:
            before = self.exporter.count
            self.time_block(workload, 1)
            facts[f"{workload}_spans"] = self.exporter.count - before
        last = self.exporter.last
        facts["span_names"] = sorted(self.exporter.names)
        facts["enriched"] = bool(last is not None and semconv.ANTHROPIC_COST_USD in (last.attributes or {}))
        data = self.reader.get_metrics_data()
        facts["metrics"] = sorted(
            {
                metric.name
                for resource_metrics in (data.resource_metrics if data else ())
                for scope_metrics in resource_metrics.scope_metrics
                for metric in scope_metrics.metrics
            }
        )
        if self.name.startswith("ours-"):
            from anthropic_otel import _runtime

            settings = getattr(_runtime.current, "settings", None)
            facts["dedup"] = getattr(settings, "dedup", None)
        import anthropic

        facts["anthropic"] = anthropic.__version__
        if self.name in PEER_PACKAGES:
            from importlib.metadata import version

            facts["peer_version"] = version(PEER_PACKAGES[self.name])
        return facts


def main() -> int:
    name, events = sys.argv[1], int(sys.argv[2])
    if name not in VARIANTS:
        raise SystemExit(f"unknown variant {name!r}")
    # Replies go to the original stdout; anything a library prints goes to stderr instead.
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    variant = Variant(name, events)
    reply.write(json.dumps({"ready": variant.check()}) + "\n")
    reply.flush()
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        variant.time_block(request["workload"], request["warmup"])
        gc.collect()
        cpu_started = time.process_time_ns()
        times = variant.time_block(request["workload"], request["calls"])
        # What the block cost the process, the work left to other threads and to the next collection
        # included (a reader collects every minute or so): every thread's CPU, then one collection.
        variant.reader.collect()
        reply.write(json.dumps({"ns": times, "cpu_ns": time.process_time_ns() - cpu_started}) + "\n")
        reply.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
