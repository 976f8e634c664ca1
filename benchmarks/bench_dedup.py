"""Added time per call of duplicate detection: off vs memory vs Redis, side by side in one process.

Each call is a real `anthropic` SDK `messages.create` over the fake API's in-process transport, with
the detector's `start()` before it and `complete()` after it, exactly where the hooks call them.
Modes run in interleaved rounds (so drift hits all alike) and the median round is reported, as µs
per call and as a ratio to dedup off. With Redis, `start()` and `complete()` only enqueue: the round
trip happens on the detector's worker thread, so the calling thread's figure holds no network wait
(the worker's CPU time under the GIL is still in it). A redis-server is started on a free port for
the run (skipped, with the reason printed, when the binary is absent). Also reported: the memory
store's RSS after one million distinct requests, and the time to fingerprint one large body (1, 5
and 20 MB, three shapes) on the calling thread, bounded as the detector does it and hashed whole
(`limit=None`, what every call paid before the bound).

Run: python benchmarks/bench_dedup.py [--calls 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from anthropic_otel import semconv  # noqa: E402
from anthropic_otel.dedup import DuplicateDetector, MemoryStore, fingerprint  # noqa: E402
from anthropic_otel.dedup.fingerprint import CAPPED_PREFIX, EXACT_LIMIT  # noqa: E402
from anthropic_otel.fake import FakeAnthropic  # noqa: E402
from anthropic_otel.recorder import Recorder  # noqa: E402
from anthropic_otel.settings import Settings  # noqa: E402

from tests.readers import data_points  # noqa: E402

MODEL = "claude-sonnet-4-6"


def make_bodies(n: int, tag: str) -> list[dict[str, Any]]:
    # Distinct prompts, as in production: most calls are not duplicates.
    return [
        {
            "model": MODEL,
            "max_tokens": 64,
            "system": "You are a terse assistant.",
            "messages": [{"role": "user", "content": f"[{tag}] question number {i}: what is {i} squared?"}],
        }
        for i in range(n)
    ]


def run_round(client: Any, detector: DuplicateDetector | None, bodies: list[dict[str, Any]]) -> float:
    create = client.messages.create
    gc.collect()
    t0 = time.perf_counter()
    if detector is None:
        for body in bodies:
            create(**body)
    else:
        start, complete = detector.start, detector.complete
        for body in bodies:
            ticket = start(MODEL, body)
            response = create(**body)
            if ticket is not None:
                usage = response.usage
                complete(ticket, usage.input_tokens + usage.output_tokens)
    return (time.perf_counter() - t0) / len(bodies) * 1e6


def hot_path_us(detector: DuplicateDetector, bodies: list[dict[str, Any]]) -> float:
    """start()+complete() alone on the calling thread (no SDK call)."""
    t0 = time.perf_counter()
    for body in bodies:
        ticket = detector.start(MODEL, body)
        if ticket is not None:
            detector.complete(ticket, 10)
    return (time.perf_counter() - t0) / len(bodies) * 1e6


def dropped(reader: InMemoryMetricReader) -> float:
    return sum(p.value for p in data_points(reader, semconv.ANTHROPIC_OTEL_DEDUP_DROPPED.name))


def drain(detector: DuplicateDetector | None, reader: InMemoryMetricReader) -> float:
    """Wait (up to 10 s) for the Redis worker's queue to empty; the drop count so far."""
    worker = detector._worker if detector is not None else None
    deadline = time.monotonic() + 10
    while worker is not None and not worker.queue.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    return dropped(reader)


def memory_rss_mb() -> tuple[float, int]:
    def rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    gc.collect()
    before = rss()
    store = MemoryStore()
    for i in range(1_000_000):
        store.begin(f"{i:064x}", i, 60.0)
    gc.collect()
    return (rss() - before) / 1e6, len(store)


def large_bodies(megabytes: int) -> dict[str, dict[str, Any]]:
    size = megabytes * 1_000_000
    turn = "lorem ipsum dolor sit amet, consectetur adipiscing elit; " * 17
    tool_turns: list[dict[str, Any]] = []
    for i in range(size // 400):  # about 400 bytes of JSON per tool call and result
        tool_turns.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"Looking up item {i}."},
                    {"type": "tool_use", "id": f"toolu_{i:020d}", "name": "lookup", "input": {"item": i}},
                ],
            }
        )
        tool_turns.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": f"toolu_{i:020d}", "content": f"item {i}: 12.5"}
                ],
            }
        )
    base = {"model": MODEL, "max_tokens": 1024}
    return {
        "one long document": {**base, "messages": [{"role": "user", "content": "x" * size}]},
        "long conversation": {
            **base,
            "messages": [
                {
                    "role": "user" if i % 2 == 0 else "assistant",
                    "content": [{"type": "text", "text": f"{i} {turn}"}],
                }
                for i in range(size // 1000)
            ],
        },
        "tool-use agent": {**base, "messages": tool_turns},
    }


def fingerprint_ms(body: dict[str, Any], limit: int | None) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fingerprint(body, limit=limit)
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def report_large_bodies() -> None:
    print("\nfingerprint of one large body on the calling thread (best of 3):")
    print(f"{'body':<20} {'MB':>4} {'whole body':>12} {'bounded':>10}  fingerprint")
    for megabytes in (1, 5, 20):
        for name, body in large_bodies(megabytes).items():
            whole = fingerprint_ms(body, None)
            bounded = fingerprint_ms(body, EXACT_LIMIT)
            kind = "capped" if fingerprint(body).startswith(CAPPED_PREFIX) else "exact"
            print(f"{name:<20} {megabytes:>4} {whole:9.1f} ms {bounded:7.2f} ms  {kind}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("bench")
    client = FakeAnthropic(keep_log=False).client()
    modes: dict[str, DuplicateDetector | None] = {
        "bare SDK": None,
        "dedup off": DuplicateDetector(Settings(dedup="off"), Recorder(meter)),
        "dedup memory": DuplicateDetector(Settings(dedup="memory"), Recorder(meter)),
    }
    server = None
    dropped_in_rounds = 0.0
    worker_us = float("nan")
    hot: dict[str, float] = {}
    try:
        from tests.e2e.redis_server import RedisServer, redis_binary

        binary = redis_binary()
        if binary is None:
            print("redis mode skipped: redis-server not installed")
        else:
            server = RedisServer(binary)
            server.start()
            modes["dedup redis"] = DuplicateDetector(
                Settings(dedup="redis", dedup_redis_url=server.url), Recorder(meter)
            )

        for detector in modes.values():  # warm up imports, caches, the worker thread and its connection
            run_round(client, detector, make_bodies(200, "warmup"))
        results: dict[str, list[float]] = {name: [] for name in modes}
        for r in range(args.rounds):
            for name, detector in modes.items():
                results[name].append(run_round(client, detector, make_bodies(args.calls, f"{name}-{r}")))
        redis = modes.get("dedup redis")
        dropped_in_rounds = drain(redis, reader)
        # A burst far faster than any real API client (no SDK call in between): kept below the
        # queue size so it measures the enqueue cost, not drops.
        for name, detector in modes.items():
            if detector is not None:
                hot[name] = hot_path_us(detector, make_bodies(1000, f"hot-{name}"))
                if detector is redis:
                    t0 = time.perf_counter()
                    drain(redis, reader)
                    # 1000 calls = 2000 operations; the burst was enqueued faster than it drains.
                    worker_us = (time.perf_counter() - t0) / 2000 * 1e6
    finally:
        for detector in modes.values():
            if detector is not None:
                detector.shutdown()
        client.close()
        if server is not None:
            server.stop()

    base = statistics.median(results["dedup off"])
    bare = statistics.median(results["bare SDK"])
    print(
        f"anthropic SDK over the in-process fake API; {args.calls} distinct requests x {args.rounds} rounds\n"
    )
    print(f"{'mode':<14} {'us/call':>9} {'vs off':>8} {'vs bare':>8} {'start+complete alone':>22}")
    for name, samples in results.items():
        med = statistics.median(samples)
        alone = f"{hot[name]:.1f} us" if name in hot else "-"
        print(f"{name:<14} {med:9.1f} {med / base:7.3f}x {med / bare:7.3f}x {alone:>22}")
    if "dedup redis" in results:
        print(
            f"\nredis worker thread: {worker_us:.1f} us per queued operation (2 per call), off the calling thread"
        )
        print(
            f"redis operations dropped (queue full) during the rounds: {int(dropped_in_rounds)} of "
            f"{2 * (200 + args.calls * args.rounds)} (a calling thread that never blocks starves the worker of "
            "the GIL; a real API call waits on the network and leaves it the time)"
        )
    growth, size = memory_rss_mb()
    print(f"memory store after 1,000,000 distinct requests: {size} entries, RSS growth {growth:.1f} MB")
    provider.shutdown()
    report_large_bodies()
    return 0


if __name__ == "__main__":
    sys.exit(main())
