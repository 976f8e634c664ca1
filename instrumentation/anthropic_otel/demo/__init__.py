"""`anthropic-otel demo`: the five production problems, through the real SDK over the in-process fake API.

No key and no network: a well-cached support bot beside an A/B test that varies the system prompt
(and so loses money on caching), streamed answers, what the SDK hides (529s it retried, a retry after
a lost connection that may bill twice, a request redelivered and billed again), a 529 storm answered
by a hand-written fallback chain, classification on an expensive model, and streams that drop and
hang; then the tables the dashboards would show, read back from an in-memory metric reader.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .report import (
    cascades,
    fallback_hops,
    headroom,
    model_fit,
    premium_calls,
    reliability,
    stalled_now,
    summarize,
    write_causes,
)
from .workload import INSTRUMENT_OPTIONS, run_workload

__all__ = ["INSTRUMENT_OPTIONS", "main", "reliability", "run_workload", "summarize"]

# How often the demo samples the stalled-streams gauge while the workload runs: the hung stream is
# stalled for a few hundred milliseconds only.
_STALLED_SAMPLE_S = 0.02


class _StalledPeak:
    """The most streams seen stalled at once, per model, sampled in a thread while the workload runs."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-stalled-sampler", daemon=True)

    def __enter__(self) -> _StalledPeak:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(_STALLED_SAMPLE_S):
            for model, stalled in stalled_now(self.reader).items():
                self.peak[model] = max(self.peak.get(model, 0.0), stalled)


def main() -> int:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from rich.console import Console

    from .. import AnthropicInstrumentor
    from ..fake import FakeAnthropic
    from . import tables
    from .workload import scenario_names

    console = Console() if Console().is_terminal else Console(width=150)
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(
        meter_provider=meter_provider, tracer_provider=TracerProvider(), **INSTRUMENT_OPTIONS
    )
    fake = FakeAnthropic(seed=7)
    names = scenario_names()
    try:
        with (
            console.status("running the demo workload", spinner="dots") as status,
            _StalledPeak(reader) as stalled,
        ):
            done = iter(range(1, len(names) + 1))

            def progress(name: str) -> None:
                status.update(f"[{next(done)}/{len(names)}] {name}")

            run_workload(fake, progress)
    finally:
        instrumentor.uninstrument()
    tables.print_report(
        console,
        summarize(reader),
        write_causes(reader),
        reliability(reader, stalled.peak),
        fallback_hops(reader),
        model_fit(reader),
        cascades(reader),
        headroom(reader, time.time()),
        premium_calls(reader),
    )
    return 0
