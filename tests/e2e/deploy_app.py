"""An app as a user deploys it, for tests/e2e/test_deploy_chain.py: plain anthropic SDK calls (over
the fake API, in process) with no telemetry code; `opentelemetry-instrument` adds the instrumentation
and the exporters from the OTEL_* variables. `python deploy_app.py WORKLOAD [SECONDS]` runs one
workload: `wire` a fixed handful of calls and exits; the others loop until SECONDS have passed (the
test stops the process sooner) so Prometheus sees a steady rate.
"""

from __future__ import annotations

import collections
import itertools
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from anthropic_otel import FallbackChain, Step
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.fake.ratelimit_budget import RateLimits

MODEL = "claude-haiku-4-5"
# Long enough to be cacheable on every model (the fake enforces the minimum): 2048 tokens and more.
SYSTEM = "You answer questions about orders of the Example shop. " * 200
OUTPUT_TOKENS = 7
WIRE_CALLS = 3
# The ratelimit workload's per-minute budget and how much of it the app spends each minute: 3 % left.
REQUESTS_PER_MINUTE = 100
SPENT_PER_MINUTE = 97
# The spend workload: an expensive model writing long answers ($75/M output tokens: 3 USD a call).
SPEND_MODEL = "claude-opus-4-1"
SPEND_OUTPUT_TOKENS = 40_000

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


# One model, then the canned answer.
_CHAIN = FallbackChain(
    [Step(MODEL, max_retries=2)], canned="We are busy right now; please try again in a minute."
)
# Calls the ratelimit workload made, per clock minute.
_spent: collections.Counter[int] = collections.Counter()


def fallback_canned(client: Any) -> None:
    # Every call goes through a FallbackChain ending on a canned answer; the first of each 1,000 finds
    # the model overloaded on all three attempts and gets the canned answer: 3 of ~1,000 attempts
    # overloaded (0.3 %, under 3 %), 1 of ~1,000 calls failed (0.1 %, under 5 %). Rare enough that
    # even the first seconds' rates, from a handful of scrapes, stay far under both thresholds.
    for i in range(1000):
        _CHAIN.create(
            client,
            max_tokens=64,
            messages=[{"role": "user", "content": f"Where is order #{next(_orders)}?"}],
            extra_headers={
                "x-fake-output-tokens": str(OUTPUT_TOKENS),
                "x-fake-faults": "529,529,529" if i == 0 else "ok",
            },
        )


def ratelimit(client: Any) -> None:
    # The fake keeps a budget of REQUESTS_PER_MINUTE per clock minute: spend SPENT_PER_MINUTE of it as
    # fast as the fake answers, then wait for the next minute. Never a 429: a call that straddles the
    # minute is counted here in the minute it started and charged by the fake to the next, where 2 are
    # then left instead of 3.
    minute = math.floor(time.time() / 60)
    if _spent[minute] < SPENT_PER_MINUTE:
        _spent[minute] += 1
        _ask(client)


def stalled(client: Any) -> None:
    # The stream goes silent after its first deltas and stays so (the client's read timeout is long):
    # stalled until the test stops the app.
    _stream(client, "hang")


def spend(client: Any) -> None:
    client.messages.create(
        model=SPEND_MODEL,
        max_tokens=SPEND_OUTPUT_TOKENS,
        messages=[{"role": "user", "content": f"Write the full history of order #{next(_orders)}."}],
        extra_headers={"x-fake-output-tokens": str(SPEND_OUTPUT_TOKENS)},
    )
    time.sleep(0.25)


WORKLOADS: dict[str, Callable[[Any], None]] = {
    "healthy": healthy,
    "cache_ab_test": cache_ab_test,
    "overloaded": overloaded,
    "errors": errors,
    "duplicates": duplicates,
    "stream_drops": stream_drops,
    "fallback_canned": fallback_canned,
    "ratelimit": ratelimit,
    "stalled": stalled,
    "spend": spend,
}

# The fake's rate-limit budgets: the ratelimit workload's tight one, the spend workload's roomy one
# (a high tier: its long answers must not predict exhaustion); the others judge each response alone.
BUDGETS = {
    "ratelimit": RateLimits(requests=REQUESTS_PER_MINUTE),
    "spend": RateLimits(requests=1_000_000, input_tokens=10**10, output_tokens=10**10),
}


def main() -> None:
    workload = sys.argv[1]
    # The SDK's default backoff (0.5 s and more) would slow the retries down; the fake answers at once.
    fake = FakeAnthropic(seed=1, ratelimits=BUDGETS.get(workload))
    client = fake.client(max_retries=0 if workload == "errors" else 2)
    # A hung stream must stay hung for the whole run, not end at the read timeout.
    client = client.with_options(timeout=600.0 if workload == "stalled" else 10.0)
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
