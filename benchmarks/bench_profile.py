"""Where the time of one instrumented path goes: cProfile over many calls, our package's functions first.

The path is set up exactly as the `bench_compare.py` variant of the same name (same process-wide
providers, same settings, same fake API over the in-process transport, distinct prompts), warmed up, then
profiled over `--calls` calls. Printed: µs per call under the profiler; own time split by where the code
lives (our package, OpenTelemetry, the anthropic SDK, its HTTP library, the fake API, the rest); and our
package's top functions by cumulative and by own time, in µs per call. cProfile adds a cost to every
function call, so read the shares and the order, not the absolute µs. (Not named `profile.py`: that would
shadow the standard library module that cProfile imports.)

Run: python benchmarks/bench_profile.py [--path create-bare|create-sdk-tracing|create-metrics|create-full|
stream-metrics|stream-full|async-full] [--calls N (default 20000; 1000 streams)] [--dedup off|memory] [--top 15]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "instrumentation"))

PATHS = {
    "create-bare": ("bare", "create"),
    "create-sdk-tracing": ("sdk-tracing", "create"),
    "create-metrics": ("ours-metrics", "create"),
    "create-full": ("ours-full", "create"),
    "stream-metrics": ("ours-metrics", "stream"),
    "stream-full": ("ours-full", "stream"),
    "async-full": ("ours-full", "async"),
}
# Where a function's file lives, by a fragment of its path; the first that matches wins.
AREAS = (
    ("anthropic_otel/fake/", "fake API"),
    ("anthropic_otel/", "ours"),
    ("opentelemetry/", "OpenTelemetry"),
    ("/anthropic/", "anthropic SDK"),
    ("/httpx2/", "httpx2"),
    ("/httpx/", "httpx"),
    ("/httpcore/", "httpcore"),
    ("/pydantic", "pydantic"),
)


STDLIB = os.path.dirname(os.__file__) + os.sep


def area(filename: str) -> str:
    for fragment, name in AREAS:
        if fragment in filename:
            return name
    if filename == "~":
        return "C builtins"
    return "stdlib" if filename.startswith(STDLIB) and "site-packages" not in filename else "other"


def is_ours(filename: str) -> bool:
    return area(filename) == "ours"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", choices=sorted(PATHS), default="create-metrics")
    parser.add_argument("--calls", type=int, help="default: 20000 creates, 1000 streams")
    parser.add_argument("--events", type=int, default=500, help="server-sent events per streamed response")
    parser.add_argument("--dedup", choices=("off", "memory"), default="off")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    variant_name, workload = PATHS[args.path]
    calls = args.calls or (1000 if workload == "stream" else 20000)
    os.environ["ANTHROPIC_OTEL_DEDUP"] = args.dedup

    from _compare_worker import Variant

    variant = Variant(variant_name, args.events)
    facts = variant.check()
    variant.time_block(workload, 50 if workload != "stream" else 5)

    profiler = cProfile.Profile()
    profiler.enable()
    times = variant.time_block(workload, calls)
    profiler.disable()

    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values())
    by_area: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        by_area[area(filename)] = by_area.get(area(filename), 0.0) + tt
    per_call = 1e6 / calls

    import anthropic

    print(
        f"{args.path}: {calls} calls ({facts['events']} events per stream) with dedup {args.dedup}, anthropic "
        f"{anthropic.__version__}; spans per call {facts[workload + '_spans']}; "
        f"{sum(times) / len(times) / 1000:.0f} µs per call under the profiler"
    )
    print("\nOwn time by where the code lives (µs per call, share):")
    for name, seconds in sorted(by_area.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<15} {seconds * per_call:9.1f}  {seconds / total:6.1%}")

    ours = [(key, value) for key, value in raw.items() if is_ours(key[0])]
    root = str(HERE.parent / "instrumentation") + os.sep
    # Our hooks wrap the SDK's own code (its request, its event iterator): their cumulative time
    # holds the SDK's, so they are listed apart.
    wrapping = [kv for kv in ours if "anthropic_otel/hooks/" in kv[0][0]]
    inner = [kv for kv in ours if "anthropic_otel/hooks/" not in kv[0][0]]
    print("\nOur hooks (cumulative: the SDK code each wraps is in it; µs per call; calls per call):")
    for (filename, line, name), (_cc, nc, _tt, ct, _callers) in sorted(wrapping, key=lambda kv: -kv[1][3])[
        : args.top
    ]:
        print(f"  {ct * per_call:9.1f}  {nc / calls:6.1f}  {name} ({filename.replace(root, '')}:{line})")
    for title, index in (("cumulative", 3), ("own", 2)):
        which = "functions outside hooks/" if index == 3 else "functions"
        print(f"\nOur {which} by {title} time (µs per call; calls per call):")
        ranked = sorted(inner if index == 3 else ours, key=lambda kv: -kv[1][index])[: args.top]
        for (filename, line, name), (_cc, nc, tt, ct, _callers) in ranked:
            where = filename.replace(root, "")
            print(
                f"  {(ct if index == 3 else tt) * per_call:9.1f}  {nc / calls:6.1f}  {name} ({where}:{line})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
