"""Memory held by finished streams the app still holds: bare SDK vs instrumented (kept partial text).

Reads N streams of D text deltas each to the end (real SDK over the in-process fake), keeps the
stream objects as an app that holds on to them would, and prints the RSS growth and the Python
heap growth (tracemalloc) per variant. Run: python benchmarks/bench_stream_memory.py [--bare]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import tracemalloc
from typing import Any


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bare", action="store_true")
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--deltas", type=int, default=100_000)
    args = parser.parse_args()

    from anthropic_otel import AnthropicInstrumentor, partial_text
    from anthropic_otel.fake import FakeAnthropic
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    if not args.bare:
        AnthropicInstrumentor().instrument(meter_provider=MeterProvider(), tracer_provider=TracerProvider())
    client = FakeAnthropic(output_tokens=args.deltas).client()
    messages = [{"role": "user", "content": "hello"}]

    def read_one() -> Any:
        stream = client.messages.create(
            model="claude-sonnet-4-6", max_tokens=args.deltas, messages=messages, stream=True
        )
        for _event in stream:
            pass
        return stream

    read_one()  # warm-up: imports and caches are not what is measured
    gc.collect()
    tracemalloc.start()
    rss_before = _rss_kib()
    heap_before = tracemalloc.get_traced_memory()[0]
    held = [read_one() for _ in range(args.streams)]
    gc.collect()
    heap_after = tracemalloc.get_traced_memory()[0]
    rss_after = _rss_kib()
    text = partial_text(held[0]) if not args.bare else ""
    print(
        json.dumps(
            {
                "variant": "bare" if args.bare else "instrumented",
                "streams": args.streams,
                "deltas": args.deltas,
                "rss_growth_mib": round((rss_after - rss_before) / 1024, 1),
                "heap_growth_mib": round((heap_after - heap_before) / 2**20, 1),
                "partial_text_chars": len(text),
            }
        )
    )


if __name__ == "__main__":
    main()
