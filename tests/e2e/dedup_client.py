"""One "process of the fleet" for the cross-process dedup tests: a real `anthropic` client, instrumented
with `ANTHROPIC_OTEL_DEDUP=redis` from the environment, sends one request to an in-process fake API.

With `--hold` the request is a stream: once Redis holds its in-flight mark the script prints a line and
waits for a line on stdin before reading the stream to its end. Last line: the duplicate metrics this
process recorded and the tokens its own response billed. Output: JSON lines on stdout.

Usage: ANTHROPIC_OTEL_DEDUP=redis ANTHROPIC_OTEL_DEDUP_REDIS_URL=URL \
       python -m tests.e2e.dedup_client BODY_JSON [--hold]
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import redis
from anthropic_otel import AnthropicInstrumentor, semconv
from anthropic_otel.dedup import fingerprint
from anthropic_otel.dedup.redis_store import KEY_PREFIX
from anthropic_otel.fake import FakeAnthropic
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.readers import sums


def by_state(reader: InMemoryMetricReader, name: str) -> dict[str, Any]:
    return {str(attrs[semconv.ANTHROPIC_DUPLICATE_STATE]): value for attrs, value in sums(reader, name)}


def wait_for_in_flight_mark(body: dict[str, Any]) -> None:
    server = redis.Redis.from_url(os.environ[semconv.ENV_DEDUP_REDIS_URL])
    key = KEY_PREFIX + fingerprint(body)
    deadline = time.monotonic() + 10
    while not server.exists(key):
        if time.monotonic() > deadline:
            raise SystemExit(f"no in-flight mark {key} in Redis after 10 s")
        time.sleep(0.001)
    server.close()


def main(argv: list[str]) -> int:
    body = json.loads(argv[0])
    hold = "--hold" in argv[1:]
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(meter_provider=provider)
    client = FakeAnthropic().client()
    try:
        if hold:
            stream = client.messages.create(stream=True, **body)
            wait_for_in_flight_mark(body)
            print(json.dumps({"in_flight_marked": True}), flush=True)
            sys.stdin.readline()
            with stream:
                events = list(stream)
            usage = events[0].message.usage
            billed = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
            billed += events[-2].usage.output_tokens  # message_delta carries the final output count
        else:
            message = client.messages.create(**body)
            usage = message.usage
            billed = (
                usage.input_tokens
                + usage.cache_read_input_tokens
                + usage.cache_creation_input_tokens
                + usage.output_tokens
            )
    finally:
        instrumentor.uninstrument()  # flushes what is queued for Redis, then stops the worker
    print(
        json.dumps(
            {
                "duplicates": by_state(reader, semconv.ANTHROPIC_DUPLICATES.name),
                "tokens": by_state(reader, semconv.ANTHROPIC_DUPLICATES_TOKENS.name),
                "billed": billed,
            }
        ),
        flush=True,
    )
    provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
