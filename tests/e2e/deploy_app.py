"""An app as a user deploys it, for tests/e2e/test_deploy_chain.py: plain anthropic SDK calls (over
the fake API, in process) with no telemetry code; `opentelemetry-instrument` adds the instrumentation
and the exporters from the OTEL_* variables. `python deploy_app.py WORKLOAD [SECONDS]` runs one
workload: `wire` a fixed handful of calls and exits; the others loop until SECONDS have passed (the
test stops the process sooner) so Prometheus sees a steady rate.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable
from typing import Any

from anthropic_otel.fake import FakeAnthropic

MODEL = "claude-haiku-4-5"
# Long enough to be cacheable on every model (the fake enforces the minimum): 2048 tokens and more.
SYSTEM = "You answer questions about orders of the Example shop. " * 200
OUTPUT_TOKENS = 7
WIRE_CALLS = 3

_orders = itertools.count(1000)


def _ask(client: Any, faults: str = "ok", system: str | None = None, **kwargs: Any) -> Any:
    extra = {"x-fake-output-tokens": str(OUTPUT_TOKENS), "x-fake-faults": faults}
    call: dict[str, Any] = dict(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": f"Where is order #{next(_orders)}?"}],
        extra_headers=extra,
        **kwargs,
    )
    if system is not None:
        call["system"] = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    try:
        return client.messages.create(**call)
    except Exception:  # the faulty workloads make calls fail on purpose: the app goes on
        return None


def _stream(client: Any, faults: str) -> None:
    try:
        for _event in _ask(client, faults, stream=True) or ():
            pass
    except Exception:  # a dropped stream raises in the caller's loop
        pass


def healthy(client: Any) -> None:
    # One cached system prompt: a write on the first call, reads after it (hit ratio near 1).
    _ask(client, system=SYSTEM)
    _stream(client, "ok")


def cache_ab_test(client: Any) -> None:
    # A fresh variant of the system prompt every call: every call writes the cache, none reads it.
    _ask(client, system=f"Variant {next(_orders)}. " + SYSTEM)


def overloaded(client: Any) -> None:
    # A 529 on the first attempt, answered on the SDK's retry: no call fails, half the attempts do.
    _ask(client, faults="529,ok")


def errors(client: Any) -> None:
    # Every call fails with a 500 once the SDK's retries are spent (the client retries none).
    _ask(client, faults="500")


def duplicates(client: Any) -> None:
    # The same request twice in a row (a retry loop around the SDK): every second call is a duplicate.
    for _ in range(2):
        client.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "Where is order #42?"}],
            extra_headers={"x-fake-output-tokens": str(OUTPUT_TOKENS)},
        )


def stream_drops(client: Any) -> None:
    # 1 stream in 25 drops mid-way: 4 % dropped (threshold 0.5 %), 4 % failed calls (below 5 %).
    for i in range(25):
        _stream(client, "drop_mid_stream" if i == 0 else "ok")


WORKLOADS: dict[str, Callable[[Any], None]] = {
    "healthy": healthy,
    "cache_ab_test": cache_ab_test,
    "overloaded": overloaded,
    "errors": errors,
    "duplicates": duplicates,
    "stream_drops": stream_drops,
}


def main() -> None:
    workload = sys.argv[1]
    # The SDK's default backoff (0.5 s and more) would slow the retries down; the fake answers at once.
    client = FakeAnthropic(seed=1).client(max_retries=0 if workload == "errors" else 2)
    client = client.with_options(timeout=10.0)
    if workload == "wire":
        for _ in range(WIRE_CALLS):
            _ask(client)
        return
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:
        WORKLOADS[workload](client)
        time.sleep(0.02)


if __name__ == "__main__":
    main()
