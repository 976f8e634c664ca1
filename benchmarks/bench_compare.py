"""Per-call cost of each way to instrument the `anthropic` SDK, side by side against the bare SDK.

Every variant runs in a process of its own, built the way a user would build it (globals set once, a
client constructed with no `open_telemetry` option), and in a venv of its own where it needs other
packages (the peers, created under `--venv-dir` on first use and reused while their requirements are
unchanged). All talk to the fake API's in-process transport, so no network: the figures are the SDK's
own cost plus the instrumentation's, an upper bound on the relative overhead of a real call.

Variants: the bare SDK; the SDK's own tracing alone (a global `TracerProvider` set: SDK >= 1.14 then
makes one span per call); ours, metrics only (no global tracer provider, dedup off); ours, full
(metrics and the SDK's span enriched, dedup off); ours, full with the default in-memory duplicate
detection; ours, full with duplicate detection in a real `redis-server` started here on a free port;
OpenLLMetry's `opentelemetry-instrumentation-anthropic` and OpenTelemetry's
`opentelemetry-instrumentation-genai-anthropic`, each with its defaults and the same global providers.
Spans go through a `SimpleSpanProcessor` into an exporter that only counts them; metrics into an
in-memory reader, collected once at the end of each block (outside the wall time of its calls, inside
its CPU time).

Workloads: a non-streamed `messages.create`, a stream of `--events` server-sent events fully iterated,
and an async non-streamed create. Rounds are interleaved: each round takes the workloads in a shuffled
order and, for each, every variant in a shuffled order runs a block of calls (after untimed warm-up
calls and a gc.collect()), so drift on the machine reaches all variants alike. Each call is timed on the
wall clock alone. Reported per variant and workload: the median and p95 µs per call over all rounds, and
the ratio of each to the bare SDK's in the same run; and the process's CPU time per call over each block,
every thread and one metric collection at the block's end included (median over blocks), with its ratio.
Written: `<out>/overhead.md` (table and run facts), `<out>/overhead.json`, `<out>/overhead.png` (needs
matplotlib, the `bench` extra).

Run: python benchmarks/bench_compare.py [--rounds 30] [--calls 200] [--streams 10] [--events 500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from _compare_worker import PEER_PACKAGES, VARIANTS, WORKLOADS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_compare_worker.py"

LABELS = {
    "bare": "bare SDK",
    "sdk-tracing": "SDK tracing alone",
    "ours-metrics": "ours, metrics only",
    "ours-full": "ours, full",
    "ours-dedup-memory": "ours, full + dedup memory",
    "ours-dedup-redis": "ours, full + dedup redis",
    "openllmetry": "OpenLLMetry",
    "otel-genai": "OTel genai-anthropic",
}
WORKLOAD_LABELS = {"create": "create (sync)", "stream": "stream ({events} events)", "async": "create (async)"}
# The peers: the package each installs, and pip flags it needs.
PEERS = {
    "openllmetry": (PEER_PACKAGES["openllmetry"], ()),
    "otel-genai": (PEER_PACKAGES["otel-genai"], ("--pre",)),
}
# Our settings per variant, by their environment variables; everything else stays at its default.
OURS_ENV = {
    "ours-metrics": {"ANTHROPIC_OTEL_DEDUP": "off"},
    "ours-full": {"ANTHROPIC_OTEL_DEDUP": "off"},
    "ours-dedup-memory": {"ANTHROPIC_OTEL_DEDUP": "memory"},
    "ours-dedup-redis": {"ANTHROPIC_OTEL_DEDUP": "redis"},
}
# The environment variables of ours, of the SDK and of OTel that would change what a variant does.
CLEARED_ENV_PREFIXES = ("ANTHROPIC_OTEL_", "ANTHROPIC_OPEN_TELEMETRY", "OTEL_", "TRACELOOP_")


@dataclass
class Worker:
    variant: str
    proc: subprocess.Popen[str]
    stderr: TextIO
    facts: dict[str, Any]
    samples: dict[str, list[float]] = field(default_factory=lambda: {w: [] for w in WORKLOADS})
    # Per block: the process's CPU µs per call, all threads and the collection at the block's end.
    cpu: dict[str, list[float]] = field(default_factory=lambda: {w: [] for w in WORKLOADS})

    def block(self, workload: str, calls: int, warmup: int) -> list[float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"workload": workload, "calls": calls, "warmup": warmup}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.variant} stopped: {tail(self.stderr)}")
        reply = json.loads(line)
        self.cpu[workload].append(reply["cpu_ns"] / 1000 / calls)
        return [ns / 1000 for ns in reply["ns"]]

    def stop(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write('{"quit": true}\n')
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


def tail(stream: TextIO, lines: int = 6) -> str:
    stream.flush()
    with open(stream.name) as f:
        return " | ".join(f.read().strip().splitlines()[-lines:]) or "(no output)"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def peer_venv(variant: str, venv_dir: Path, sdk_version: str, log: TextIO) -> tuple[Path | None, str]:
    """The python of the peer's venv (created, or reused while its requirements are the same) or a reason."""
    package, flags = PEERS[variant]
    # The same SDK as ours runs with; the OTel SDK for the providers; ours' own dependencies for the fake.
    requirements = [f"anthropic=={sdk_version}", "opentelemetry-sdk", "wrapt", package]
    stamp_text = json.dumps({"python": platform.python_version(), "req": requirements, "flags": flags})
    venv = venv_dir / variant
    stamp = venv / ".bench-requirements"
    if stamp.exists() and stamp.read_text() == stamp_text:
        return venv_python(venv), ""
    print(f"  creating {venv} ({package}) ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv_python(venv)), "-m", "pip", "install", "-q", *flags, *requirements],
    ]
    for step in steps:
        done = subprocess.run(step, stdout=log, stderr=subprocess.PIPE, text=True, timeout=900)
        if done.returncode != 0:
            errors = [ln for ln in done.stderr.splitlines() if "ERROR" in ln] or done.stderr.splitlines()
            return None, f"`{' '.join(step[-len(requirements) :])}` failed: {' '.join(errors[-2:])}"
    stamp.write_text(stamp_text)
    return venv_python(venv), ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes] | None, str]:
    """A throwaway redis-server on a free localhost port, no persistence, and its URL (or why not)."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None, "no `redis-server` binary on PATH"
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    return None, f"redis-server did not answer on port {port} within 10 s"


def start_worker(variant: str, python: Path, events: int, env_extra: dict[str, str]) -> Worker:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED_ENV_PREFIXES)}
    env["PYTHONPATH"] = str(ROOT / "instrumentation")
    env.update(env_extra)
    stderr = tempfile.NamedTemporaryFile("w+", prefix=f"bench-{variant}-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [str(python), str(WORKER), variant, str(events)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
        cwd=str(ROOT),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(tail(stderr))
    return Worker(variant, proc, stderr, json.loads(line)["ready"])


def expectation_problem(variant: str, facts: dict[str, Any]) -> str:
    """Why a variant does not do what its name says, or "" when it does (checked on one call of each)."""
    spans = [facts[f"{w}_spans"] for w in WORKLOADS]
    if variant in ("bare", "ours-metrics") and any(spans):
        return f"spans recorded: {spans}"
    if variant != "bare" and variant != "sdk-tracing" and not facts["metrics"] and variant.startswith("ours"):
        return "no metrics recorded"
    if variant in ("sdk-tracing", "ours-full", "ours-dedup-memory", "ours-dedup-redis") and spans != [
        1,
        1,
        1,
    ]:
        return f"spans per call {spans}, expected one each"
    if variant.startswith("ours-") and variant != "ours-metrics" and not facts["enriched"]:
        return "the SDK's span is not enriched"
    want_dedup = OURS_ENV.get(variant, {}).get("ANTHROPIC_OTEL_DEDUP")
    if want_dedup is not None and facts.get("dedup") != want_dedup:
        return f"dedup is {facts.get('dedup')!r}, expected {want_dedup!r}"
    return ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = q * (len(ordered) - 1)
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def summarise(workers: dict[str, Worker]) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for workload in WORKLOADS:
        bare = workers["bare"].samples[workload]
        bare_median, bare_p95 = statistics.median(bare), percentile(bare, 0.95)
        bare_cpu = statistics.median(workers["bare"].cpu[workload])
        out[workload] = {}
        for variant, worker in workers.items():
            samples = worker.samples[workload]
            median, p95 = statistics.median(samples), percentile(samples, 0.95)
            cpu = statistics.median(worker.cpu[workload])
            out[workload][variant] = {
                "median_us": median,
                "p95_us": p95,
                "ratio_median": median / bare_median,
                "ratio_p95": p95 / bare_p95,
                "added_us": median - bare_median,
                "cpu_us": cpu,
                "ratio_cpu": cpu / bare_cpu,
                "calls": len(samples),
            }
    return out


def markdown(
    summary: dict[str, dict[str, dict[str, float]]],
    workers: dict[str, Worker],
    skipped: dict[str, str],
    header: str,
    events: int,
) -> str:
    lines = [header, ""]
    lines.append(
        "| workload | variant | median µs/call | p95 µs/call | median / bare | p95 / bare | added µs/call "
        "| CPU µs/call | CPU / bare |"
    )
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for workload in WORKLOADS:
        for variant, row in summary[workload].items():
            added = "-" if variant == "bare" else f"{row['added_us']:+.1f}"
            if workload == "stream" and variant != "bare":
                added += f" ({row['added_us'] / events:+.2f}/event)"
            lines.append(
                f"| {WORKLOAD_LABELS[workload].format(events=events)} | {LABELS[variant]} "
                f"| {row['median_us']:.1f} | {row['p95_us']:.1f} | {row['ratio_median']:.3f}x "
                f"| {row['ratio_p95']:.3f}x | {added} | {row['cpu_us']:.1f} | {row['ratio_cpu']:.3f}x |"
            )
    lines += [
        "",
        "Median and p95: the wall time of each call on the calling thread. CPU: the process's CPU time per "
        "call over a block, every thread (ours records a call's metrics on a worker thread, the Redis store "
        "talks on another) and one metric collection at the block's end included: the work moved off the "
        "calling thread, not removed.",
        "",
        "What each variant recorded on one call of each workload (spans per call: create, stream, async):",
        "",
    ]
    lines.append("| variant | spans per call | span names | ours on the span | metric instruments |")
    lines.append("| --- | --- | --- | --- | ---: |")
    for variant, worker in workers.items():
        facts = worker.facts
        spans = ", ".join(str(facts[f"{w}_spans"]) for w in WORKLOADS)
        names = ", ".join(f"`{n}`" for n in facts["span_names"]) or "-"
        enriched = "yes" if facts["enriched"] else "-"
        lines.append(f"| {LABELS[variant]} | {spans} | {names} | {enriched} | {len(facts['metrics'])} |")
    if skipped:
        lines += ["", "Skipped:", ""]
        lines += [f"- {LABELS[v]}: {reason}" for v, reason in skipped.items()]
    return "\n".join(lines) + "\n"


def chart(summary: dict[str, dict[str, dict[str, float]]], path: Path, title: str, events: int) -> str:
    """A bar chart of median / bare per workload and variant, labelled with the µs; "" or why not."""
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (the `bench` extra)"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(WORKLOADS), figsize=(16, 5.5), sharey=True)
    for ax, workload in zip(axes, WORKLOADS):
        rows = summary[workload]
        names = list(rows)
        y = list(range(len(names)))[::-1]
        ratios = [rows[n]["ratio_median"] for n in names]
        colors = [
            "#999999" if n in ("bare", "sdk-tracing") else "#1f77b4" if n.startswith("ours") else "#ff7f0e"
            for n in names
        ]
        ax.barh(y, ratios, color=colors)
        for yi, n, ratio in zip(y, names, ratios):
            row = rows[n]
            label = f"{ratio:.2f}x  {row['median_us']:.0f} µs (p95 {row['p95_us']:.0f})"
            ax.text(ratio + 0.02, yi, label, va="center", fontsize=8)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([LABELS[n] for n in names])
        ax.set_title(WORKLOAD_LABELS[workload].format(events=events))
        ax.set_xlabel("median per call / bare SDK's median")
        ax.set_xlim(0, max(ratios) * 1.55)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "30")))
    parser.add_argument(
        "--calls", type=int, default=int(env("BENCH_CALLS", "200")), help="non-streamed calls per block"
    )
    parser.add_argument(
        "--streams", type=int, default=int(env("BENCH_STREAMS", "10")), help="streams per block"
    )
    parser.add_argument("--events", type=int, default=500, help="server-sent events per streamed response")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before each block")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated subset (bare is always run)"
    )
    parser.add_argument("--venv-dir", type=Path, default=HERE / ".venvs", help="where the peers' venvs live")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()

    wanted = ["bare"] + [v for v in args.variants.split(",") if v in VARIANTS and v != "bare"]
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}; known: {', '.join(VARIANTS)}")
    import anthropic

    sdk_version = anthropic.__version__
    args.venv_dir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    skipped: dict[str, str] = {}
    pythons: dict[str, Path] = {}
    env_extra: dict[str, dict[str, str]] = {v: dict(OURS_ENV.get(v, {})) for v in wanted}
    redis_proc: subprocess.Popen[bytes] | None = None
    workers: dict[str, Worker] = {}
    try:
        with open(args.venv_dir / "pip.log", "a") as pip_log:
            for variant in wanted:
                if variant in PEERS:
                    python, reason = peer_venv(variant, args.venv_dir, sdk_version, pip_log)
                    if python is None:
                        skipped[variant] = reason
                        continue
                    pythons[variant] = python
                else:
                    pythons[variant] = Path(sys.executable)
        if "ours-dedup-redis" in pythons:
            redis_proc, url = start_redis()
            if redis_proc is None:
                skipped["ours-dedup-redis"] = url
                del pythons["ours-dedup-redis"]
            else:
                env_extra["ours-dedup-redis"]["ANTHROPIC_OTEL_DEDUP_REDIS_URL"] = url
        for variant, python in pythons.items():
            try:
                worker = start_worker(variant, python, args.events, env_extra[variant])
            except RuntimeError as err:
                if variant == "bare":
                    raise
                skipped[variant] = f"did not start: {err}"
                continue
            problem = expectation_problem(variant, worker.facts)
            if problem:
                worker.stop()
                skipped[variant] = f"does not do what it should: {problem}"
                continue
            workers[variant] = worker
        for variant, reason in skipped.items():
            print(f"skipped {LABELS[variant]}: {reason}", flush=True)
        events = workers["bare"].facts["events"]

        timing_started = time.perf_counter()
        rng = random.Random(args.seed)
        names = list(workers)
        workloads = list(WORKLOADS)
        print(f"{args.rounds} rounds of {len(names)} variants x {len(workloads)} workloads", flush=True)
        for round_index in range(args.rounds):
            rng.shuffle(workloads)
            for workload in workloads:
                rng.shuffle(names)
                calls = args.streams if workload == "stream" else args.calls
                for variant in names:
                    workers[variant].samples[workload] += workers[variant].block(workload, calls, args.warmup)
            if (round_index + 1) % 5 == 0:
                print(
                    f"  round {round_index + 1}/{args.rounds} ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    finally:
        for worker in workers.values():
            worker.stop()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)

    order = [v for v in VARIANTS if v in workers]
    workers = {v: workers[v] for v in order}
    summary = summarise(workers)
    elapsed = time.perf_counter() - started
    timing = time.perf_counter() - timing_started
    header = (
        f"anthropic {sdk_version}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"wall time per call over the in-process fake API; {args.rounds} rounds of {args.calls} creates, "
        f"{args.streams} streams of {events} events and {args.calls} async creates per variant; "
        f"timing took {timing:.0f} s, the whole run {elapsed:.0f} s."
    )
    peers = ", ".join(
        f"{PEERS[v][0]} {workers[v].facts.get('peer_version', '')}".strip() for v in PEERS if v in workers
    )
    if peers:
        header += f" Peers: {peers}."
    text = markdown(summary, workers, skipped, header, events)
    (args.out / "overhead.md").write_text(text)
    (args.out / "overhead.json").write_text(
        json.dumps(
            {
                "header": header,
                "summary": summary,
                "skipped": skipped,
                "facts": {v: w.facts for v, w in workers.items()},
            },
            indent=1,
        )
        + "\n"
    )
    why_not = chart(summary, args.out / "overhead.png", header.split(";")[0], events)
    print()
    print(text)
    print(f"wrote {args.out / 'overhead.md'}, {args.out / 'overhead.json'}", end="")
    print(f", {args.out / 'overhead.png'}" if not why_not else f"; no chart: {why_not}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
