"""Overhead of the instrumentation on real `anthropic` SDK calls: bare SDK vs instrumented, side by side.

Every call is a real SDK `messages.create` over the fake API's in-process transport (no network), so
the figures are the SDK's own CPU cost plus ours: an upper bound on the relative overhead, as a real
call also waits on the network. Each scenario is measured bare (the client built and used while not
instrumented: no wrapper, no middleware) and instrumented (built and used after
`AnthropicInstrumentor().instrument(meter_provider=..., tracer_provider=...)`, metrics read in memory):

- create, metrics only: a small non-streamed response; the SDK's tracing off (`open_telemetry=False`)
  and our tracer a `NoOpTracerProvider`, so nothing but metrics is recorded.
- create, own span: the same with a real SDK `TracerProvider`: we start and end our own call span.
- create, SDK span enriched: the SDK's tracing on with a real `TracerProvider` (spans exported to
  memory) in both modes; instrumented, we add metrics and enrich the SDK's span instead of our own.
- stream, metrics only / SDK span enriched: `messages.create(stream=True)` fully iterated over a
  response of `--events` server-sent events (one text delta per output token, set with the fake's
  `x-fake-output-tokens` header); also as µs added per event: (instrumented - bare) / events, which
  spreads the per-stream cost (metrics, dedup, stream state) over the events.
- noise: two bare clients against each other; an overhead within this is not resolved by the run.

Machines are noisy, so: one process; many short rounds; within a round, the modes compared with each
other run back to back in a shuffled order (instrumenting or uninstrumenting in between, outside the
timing), after a gc.collect(); time is the process's CPU time by default (`--clock wall` for wall
time), so being descheduled by another process does not count. Reported: the median round's µs per
call, the median of the per-round ratios instrumented / bare and of the per-round µs per event added,
against the overhead targets (metrics only <= 1.05x; <= 1 µs per streamed event; an enriched SDK span
<= 1.05x the SDK's own tracing). Every call has a distinct prompt (as in production: duplicate
detection sees no duplicates); `--dedup off|memory` passes `dedup=` to instrument().

Run: python benchmarks/bench_overhead.py [--calls 200] [--streams 10] [--events 500] [--rounds 25]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import anthropic
import anthropic._base_client as sdk_base
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(_ROOT, "instrumentation"), _ROOT]  # the package, and tests.readers

from anthropic_otel import AnthropicInstrumentor, _runtime, semconv  # noqa: E402
from anthropic_otel.fake import FakeAnthropic  # noqa: E402
from anthropic_otel.fake.engine import HEADER_OUTPUT_TOKENS  # noqa: E402
from anthropic_otel.hooks.middleware import OtelMiddleware  # noqa: E402

from tests.readers import data_points  # noqa: E402

MODEL = "claude-sonnet-4-6"
SMALL = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "What is 12 squared?"}]}
WARMUP_CALLS = 30  # per client, once
BLOCK_WARMUP = 2  # per mode and round, untimed


@dataclass
class Mode:
    name: str
    stream: bool
    sdk_tracing: bool  # the client's own spans (SDK >= 1.14), into the real tracer provider
    ours: str | None  # None: bare SDK; "noop" / "sdk": instrumented with that tracer provider
    client: Any = None
    samples: list[float] = field(default_factory=list)  # µs per call, one per round


@dataclass
class Row:
    scenario: str
    bare: str
    instrumented: str
    max_ratio: float | None = None  # budget for instrumented / bare
    max_us_per_event: float | None = None  # budget for (instrumented - bare) / events


MODES = {
    m.name: m
    for m in (
        Mode("create bare", False, False, None),
        Mode("create bare again", False, False, None),
        Mode("create metrics", False, False, "noop"),
        Mode("create own span", False, False, "sdk"),
        Mode("create bare sdk-span", False, True, None),
        Mode("create enriched", False, True, "sdk"),
        Mode("stream bare", True, False, None),
        Mode("stream bare again", True, False, None),
        Mode("stream metrics", True, False, "noop"),
        Mode("stream bare sdk-span", True, True, None),
        Mode("stream enriched", True, True, "sdk"),
    )
}
# Modes timed back to back in each round (pairs close in time make the per-round ratio meaningful).
GROUPS = (
    ("create bare", "create bare again", "create metrics", "create own span"),
    ("create bare sdk-span", "create enriched"),
    ("stream bare", "stream bare again", "stream metrics"),
    ("stream bare sdk-span", "stream enriched"),
)
# The noise rows compare two bare runs: how far apart two identical modes land on this machine.
ROWS = (
    Row("create, noise (bare/bare)", "create bare", "create bare again"),
    Row("create, metrics only", "create bare", "create metrics", max_ratio=1.05),
    Row("create, own span", "create bare", "create own span"),
    Row("create, SDK span enriched", "create bare sdk-span", "create enriched", max_ratio=1.05),
    Row("stream, noise (bare/bare)", "stream bare", "stream bare again"),
    Row("stream, metrics only", "stream bare", "stream metrics", max_us_per_event=1.0),
    Row("stream, SDK span enriched", "stream bare sdk-span", "stream enriched", 1.05, 1.0),
)


class Bench:
    def __init__(self, events: int, clock: Callable[[], float], options: dict[str, Any]) -> None:
        self.clock = clock
        self.options = options  # extra instrument() keyword arguments
        self.dedup = "?"  # the instrumentation's effective dedup setting
        self.seq = itertools.count()
        self.fake = FakeAnthropic(keep_log=False)
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.noop_provider = NoOpTracerProvider()
        self.instrumentor = AnthropicInstrumentor()
        self.active: str | None = None  # the tracer provider the instrumentation runs with now
        other = self.other_events()
        self.output_tokens = max(1, events - other)
        self.events = other + self.output_tokens
        self.stream_body = {
            **SMALL,
            "max_tokens": max(64, self.output_tokens),
            "stream": True,
            "extra_headers": {HEADER_OUTPUT_TOKENS: str(self.output_tokens)},
        }
        self.calls_instrumented = 0

    def other_events(self) -> int:
        """Events of a streamed response besides its text deltas (message_start, ping, ...)."""
        body = json.dumps({**SMALL, "stream": True}).encode()
        resp = self.fake.handle("POST", "/v1/messages", {HEADER_OUTPUT_TOKENS: "1"}, body)
        return sum(1 for chunk in resp.chunks if isinstance(chunk, bytes)) - 1

    def set_instrumented(self, ours: str | None) -> None:
        if ours == self.active:
            return
        if self.instrumentor.is_instrumented_by_opentelemetry:
            self.instrumentor.uninstrument()
        if ours is not None:
            provider = self.noop_provider if ours == "noop" else self.tracer_provider
            self.instrumentor.instrument(
                meter_provider=self.meter_provider, tracer_provider=provider, **self.options
            )
            self.dedup = str(getattr(getattr(_runtime.current, "settings", None), "dedup", "?"))
        self.active = ours

    def bodies(self, mode: Mode, calls: int) -> list[dict[str, Any]]:
        """Distinct prompts, as in production: duplicate detection sees no duplicates."""
        base = self.stream_body if mode.stream else SMALL
        return [
            {
                **base,
                "messages": [{"role": "user", "content": f"Question {next(self.seq)}: what is 12 squared?"}],
            }
            for _ in range(calls)
        ]

    def setup(self, mode: Mode) -> None:
        """One client per mode, built in its mode's state (a bare client never gets our middleware)."""
        self.set_instrumented(mode.ours)
        option: Any = {"tracer_provider": self.tracer_provider} if mode.sdk_tracing else False
        mode.client = self.fake.client(open_telemetry=option, max_retries=0)
        if any(isinstance(m, OtelMiddleware) for m in mode.client.middleware) != (mode.ours is not None):
            raise RuntimeError(f"{mode.name}: middleware installed wrongly")
        self.run(mode, WARMUP_CALLS, warmup=0)

    def run(self, mode: Mode, calls: int, warmup: int = BLOCK_WARMUP) -> float:
        """µs per call of `calls` timed calls, after `warmup` untimed ones (which absorb what the first
        call after instrument() pays once: the runtime's attribute cache, the stream watchdog thread)."""
        self.set_instrumented(mode.ours)
        if hasattr(sdk_base.SyncAPIClient.request, "__wrapped__") != (mode.ours is not None):
            raise RuntimeError(f"{mode.name}: SyncAPIClient.request wrapped wrongly")
        if mode.ours is not None:
            self.calls_instrumented += warmup + calls
        self.time_calls(mode, self.bodies(mode, warmup))
        self.spans.clear()
        bodies = self.bodies(mode, calls)
        gc.collect()
        elapsed = self.time_calls(mode, bodies)
        self.check(mode, calls)
        return elapsed / calls * 1e6

    def time_calls(self, mode: Mode, bodies: list[dict[str, Any]]) -> float:
        create = mode.client.messages.create
        clock = self.clock
        if mode.stream:
            t0 = clock()
            for body in bodies:
                for _event in create(**body):
                    pass
        else:
            t0 = clock()
            for body in bodies:
                create(**body)
        return clock() - t0

    def check(self, mode: Mode, calls: int) -> None:
        """The mode did what it claims: spans only where expected, enriched only when instrumented."""
        spans = self.spans.get_finished_spans()
        want = calls if mode.sdk_tracing or mode.ours == "sdk" else 0
        if len(spans) != want:
            raise RuntimeError(f"{mode.name}: {len(spans)} spans, expected {want}")
        enriched = bool(spans) and semconv.ANTHROPIC_COST_USD in (spans[-1].attributes or {})
        if enriched != (bool(spans) and mode.ours is not None):
            raise RuntimeError(f"{mode.name}: last span enriched={enriched}")
        self.spans.clear()

    def requests_recorded(self) -> float:
        return sum(p.value for p in data_points(self.reader, semconv.ANTHROPIC_REQUESTS.name))

    def close(self) -> None:
        self.set_instrumented(None)
        for mode in MODES.values():
            if mode.client is not None:
                mode.client.close()
        self.meter_provider.shutdown()
        self.tracer_provider.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="non-streamed calls per mode and round")
    parser.add_argument("--streams", type=int, default=10, help="streamed calls per mode and round")
    parser.add_argument("--events", type=int, default=500, help="server-sent events per streamed response")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--seed", type=int, default=1, help="seed of the per-round shuffles")
    parser.add_argument(
        "--dedup", choices=("off", "memory"), help="instrument(dedup=...); default: the package's setting"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    rng = random.Random(args.seed)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    bench = Bench(args.events, clock, {"dedup": args.dedup} if args.dedup else {})
    try:
        for mode in MODES.values():
            bench.setup(mode)
        groups = [list(g) for g in GROUPS]
        for _ in range(args.rounds):
            rng.shuffle(groups)
            for group in groups:
                rng.shuffle(group)
                for name in group:
                    mode = MODES[name]
                    mode.samples.append(bench.run(mode, args.streams if mode.stream else args.calls))
        recorded = bench.requests_recorded()
    finally:
        bench.close()

    print(
        f"anthropic {anthropic.__version__} over the in-process fake API, {args.clock} time, dedup "
        f"{bench.dedup}; per round {args.calls} calls, {args.streams} streams of {bench.events} events; "
        f"{args.rounds} rounds\n"
    )
    print(
        f"{'scenario':<26} {'bare us/call':>12} {'instr us/call':>13} {'ratio':>7} {'us/event':>9} "
        f"{'target':>18}"
    )
    for row in ROWS:
        bare, inst = MODES[row.bare].samples, MODES[row.instrumented].samples
        ratio = statistics.median(i / b for i, b in zip(inst, bare))
        per_event = statistics.median((i - b) / bench.events for i, b in zip(inst, bare))
        targets, over = [], False
        if row.max_ratio is not None:
            targets.append(f"{row.max_ratio:.2f}x")
            over = over or ratio > row.max_ratio
        if row.max_us_per_event is not None:
            targets.append(f"{row.max_us_per_event:g}us/ev")
            over = over or per_event > row.max_us_per_event
        print(
            f"{row.scenario:<26} {statistics.median(bare):12.1f} {statistics.median(inst):13.1f} "
            f"{ratio:6.3f}x {f'{per_event:+.2f}' if MODES[row.bare].stream else '-':>9} "
            f"{'<= ' + ','.join(targets) if targets else '-':>18} {('OVER' if over else 'ok') if targets else ''}"
        )
    print(
        f"\nanthropic.requests recorded {int(recorded)} of {bench.calls_instrumented} instrumented calls; "
        f"run took {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
