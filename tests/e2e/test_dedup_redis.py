"""Duplicate detection across processes through a real redis-server: exact counts, in-flight vs
completed, Redis killed, stalled and restarted mid-run without one failed call."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.dedup import DuplicateDetector, Ticket, fingerprint
from anthropic_otel.dedup.redis_store import KEY_PREFIX
from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.settings import Settings
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.e2e.redis_server import RedisServer, env_for_subprocess
from tests.polling import wait_for
from tests.readers import sums

MODEL = "claude-sonnet-4-6"
BODY: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "system": "Answer in one word.",
    "messages": [{"role": "user", "content": "Capital of France?"}],
}


def body(n: int) -> dict[str, Any]:
    return {**BODY, "messages": [{"role": "user", "content": f"question {n}"}]}


class Fleet:
    """Detectors built like the instrumentor builds them, each with its own meter, shut down at the end."""

    def __init__(self) -> None:
        self.providers: list[MeterProvider] = []
        self.detectors: list[DuplicateDetector] = []
        self.readers: dict[int, InMemoryMetricReader] = {}

    def detector(self, url: str, **kwargs: Any) -> DuplicateDetector:
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        detector = DuplicateDetector(
            Settings(dedup="redis", dedup_redis_url=url, dedup_window_s=86400.0),
            provider.get_meter("t"),
            **kwargs,
        )
        self.providers.append(provider)
        self.detectors.append(detector)
        self.readers[id(detector)] = reader
        return detector

    def points(self, detector: DuplicateDetector, name: str) -> list[tuple[dict[str, Any], float]]:
        return sums(self.readers[id(detector)], name)

    def by_state(self, detector: DuplicateDetector, name: str) -> dict[str, float]:
        return {a[semconv.ANTHROPIC_DUPLICATE_STATE]: v for a, v in self.points(detector, name)}

    def total(self, detector: DuplicateDetector, name: str) -> float:
        return sum(v for _, v in self.points(detector, name))

    def close(self) -> None:
        for detector in self.detectors:
            detector.shutdown()
        for provider in self.providers:
            provider.shutdown()


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    f = Fleet()
    yield f
    f.close()


def started(detector: DuplicateDetector, request: dict[str, Any]) -> Ticket:
    ticket = detector.start(request["model"], request)
    assert ticket is not None
    wait_for(lambda: ticket.checked)
    return ticket


# -- across OS processes ------------------------------------------------------------------------


def run_client(url: str, request: dict[str, Any], hold: bool = False) -> subprocess.Popen[str]:
    """A separate OS process sending `request` through an instrumented client, dedup in Redis at `url`."""
    env = {**env_for_subprocess(), semconv.ENV_DEDUP: "redis", semconv.ENV_DEDUP_REDIS_URL: url}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.dedup_client", json.dumps(request), *(["--hold"] if hold else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    return [json.loads(line) for line in out.splitlines()]


def test_two_processes_sending_the_same_request_count_one_completed_duplicate(
    redis_server: RedisServer,
) -> None:
    (first,) = finish(run_client(redis_server.url, BODY))
    assert (first["duplicates"], first["tokens"]) == ({}, {})
    # Another user, the same prompt: the same request billed again.
    retried = {**BODY, "metadata": {"user_id": "u-2"}}
    (second,) = finish(run_client(redis_server.url, retried))
    assert second["billed"] == first["billed"] > 0
    assert second == {
        "duplicates": {"completed": 1},
        "tokens": {"completed": second["billed"]},
        "billed": second["billed"],
    }


def test_a_copy_sent_while_the_first_is_in_flight_is_an_in_flight_duplicate(
    redis_server: RedisServer,
) -> None:
    holder = run_client(redis_server.url, BODY, hold=True)
    try:
        assert holder.stdout is not None
        assert json.loads(holder.stdout.readline()) == {"in_flight_marked": True}
        (concurrent,) = finish(run_client(redis_server.url, BODY))
        assert concurrent == {
            "duplicates": {"in_flight": 1},
            "tokens": {"in_flight": concurrent["billed"]},
            "billed": concurrent["billed"],
        }
    finally:
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        (rest,) = finish(holder)
    assert (rest["duplicates"], rest["tokens"]) == ({}, {})  # the original, read to its end
    (after,) = finish(run_client(redis_server.url, BODY))
    assert after["duplicates"] == {"completed": 1}


# -- the Redis store through the worker ---------------------------------------------------------


def test_states_window_and_tokens_in_either_order(redis_server: RedisServer, fleet: Fleet) -> None:
    a, b = fleet.detector(redis_server.url), fleet.detector(redis_server.url)
    first = started(a, BODY)
    assert first.state is None
    copy = started(b, BODY)
    assert copy.state == "in_flight"
    b.complete(copy, 25)  # answer known first, then completion
    a.complete(first, 25)
    wait_for(lambda: b"completed" in redis_server.command("GET", KEY_PREFIX + fingerprint(BODY)))
    late = b.start(MODEL, BODY)
    assert late is not None
    b.complete(late, 30)  # completion may come before the worker's answer
    wait_for(lambda: late.checked)
    assert late.state == "completed"
    wait_for(lambda: fleet.total(b, semconv.ANTHROPIC_DUPLICATES_TOKENS.name) == 55)
    assert fleet.by_state(b, semconv.ANTHROPIC_DUPLICATES.name) == {"in_flight": 1, "completed": 1}
    assert fleet.by_state(b, semconv.ANTHROPIC_DUPLICATES_TOKENS.name) == {"in_flight": 25, "completed": 30}
    assert fleet.points(a, semconv.ANTHROPIC_DUPLICATES.name) == []
    ttl = int(redis_server.command("PTTL", KEY_PREFIX + fingerprint(BODY)).strip(b":\r\n"))
    assert 86_000_000 < ttl <= 86_400_000


def test_fail_clears_only_its_own_in_flight_mark(redis_server: RedisServer, fleet: Fleet) -> None:
    a, b = fleet.detector(redis_server.url), fleet.detector(redis_server.url)
    first = started(a, BODY)
    second = started(b, BODY)
    assert second.state == "in_flight"
    b.fail(second)  # not b's mark: a's stays
    key = KEY_PREFIX + fingerprint(BODY)
    probe = started(b, body(99))  # the worker is FIFO: once this is answered, the fail was applied
    assert probe.state is None
    assert redis_server.command("GET", key).split(b"\r\n")[1].startswith(b"in_flight ")
    a.fail(first)
    wait_for(lambda: redis_server.command("EXISTS", key) == b":0\r\n")
    again = started(b, BODY)
    assert again.state is None


def test_redis_keys_hold_only_fingerprint_state_and_model(redis_server: RedisServer, fleet: Fleet) -> None:
    detector = fleet.detector(redis_server.url)
    secret = {**BODY, "messages": [{"role": "user", "content": "my password is hunter2"}]}
    ticket = started(detector, secret)
    detector.complete(ticket, 1)
    key = KEY_PREFIX + fingerprint(secret)
    wait_for(lambda: b"completed" in redis_server.command("GET", key))
    assert redis_server.command("KEYS", "*") == b"*1\r\n$%d\r\n%s\r\n" % (len(key), key.encode())
    assert redis_server.command("GET", key) == b"$%d\r\ncompleted - %s\r\n" % (
        len(MODEL) + 12,
        MODEL.encode(),
    )


def test_hmac_key_is_used_for_redis_keys(redis_server: RedisServer, fleet: Fleet) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    settings = Settings(dedup="redis", dedup_redis_url=redis_server.url, dedup_hmac_key="fleet-secret")
    detector = DuplicateDetector(settings, provider.get_meter("t"))
    try:
        started(detector, BODY)
        key = KEY_PREFIX + fingerprint(BODY, b"fleet-secret")
        assert redis_server.command("EXISTS", key) == b":1\r\n"
        assert redis_server.command("EXISTS", KEY_PREFIX + fingerprint(BODY)) == b":0\r\n"
    finally:
        detector.shutdown()
        provider.shutdown()


# -- outages: killed, stalled, restarted --------------------------------------------------------


def test_redis_killed_mid_run_fails_no_call_and_detection_continues_in_memory(
    redis_server: RedisServer, fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    detector = fleet.detector(redis_server.url, redis_retry_interval_s=0.05)
    peer = fleet.detector(redis_server.url)
    client = FakeAnthropic().client()
    failures = 0
    tickets: list[Ticket] = []

    def call(request: dict[str, Any]) -> Ticket:
        nonlocal failures
        ticket = detector.start(MODEL, request)
        assert ticket is not None
        try:
            response = client.messages.create(**request)
        except Exception:
            failures += 1
            detector.fail(ticket)
            raise
        detector.complete(ticket, response.usage.input_tokens + response.usage.output_tokens)
        tickets.append(ticket)
        return ticket

    with caplog.at_level(logging.INFO, logger=semconv.LOGGER):
        for n in range(10):
            call(body(n))
        wait_for(lambda: all(t.checked for t in tickets))
        redis_server.kill()
        for n in range(10, 20):
            call(body(n))
        # Sent before the kill (mirrored locally) and after it: both found in memory.
        before, after = call(body(3)), call(body(15))
        wait_for(lambda: all(t.checked for t in tickets))
        client.close()
        assert failures == 0
        assert (before.state, after.state) == ("completed", "completed")
        assert fleet.total(detector, semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name) >= 1
        errors = fleet.points(detector, semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name)
        assert [attrs for attrs, _ in errors] == [{semconv.ANTHROPIC_DEDUP_STORE: "redis"}]
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "Redis unavailable" in warnings[0].getMessage()

        # Restarted on the same port (empty): picked up again at the next probe.
        redis_server.start()

        def reaches_redis() -> bool:
            probe = started(detector, body(1000 + len(tickets)))
            tickets.append(probe)
            return redis_server.command("EXISTS", KEY_PREFIX + probe.fp) == b":1\r\n"

        wait_for(reaches_redis)
        assert "Redis is back" in caplog.text
        shared = started(detector, body(5000))
        seen_by_peer = started(peer, body(5000))
        assert (shared.state, seen_by_peer.state) == (None, "in_flight")
    assert fleet.by_state(detector, semconv.ANTHROPIC_DUPLICATES.name) == {"completed": 2}
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_instrumented_calls_go_on_when_redis_is_killed_and_duplicates_are_still_found(
    redis_server: RedisServer,
) -> None:
    """The same through the instrumentor (ANTHROPIC_OTEL_DEDUP=redis): real SDK calls, none fails."""
    from anthropic_otel import AnthropicInstrumentor

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    AnthropicInstrumentor().instrument(
        meter_provider=provider, dedup="redis", dedup_redis_url=redis_server.url
    )
    client = FakeAnthropic().client()
    try:
        for n in range(5):
            client.messages.create(**body(n))
        last = KEY_PREFIX + fingerprint(body(4))
        wait_for(lambda: b"completed" in redis_server.command("GET", last))
        redis_server.kill()
        for n in range(5, 10):
            client.messages.create(**body(n))  # raises nothing: Redis is observation only
        client.messages.create(**body(2))  # answered before the kill: the local mirror knows it
        client.messages.create(**body(7))  # answered after the kill: the memory store knows it
    finally:
        AnthropicInstrumentor().uninstrument()
        client.close()
    totals: dict[tuple[str, Any], float] = {}
    for spec in (
        semconv.ANTHROPIC_REQUESTS,
        semconv.ANTHROPIC_DUPLICATES,
        semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS,
    ):
        for attrs, value in sums(reader, spec.name):
            key = (spec.name, attrs.get(semconv.ANTHROPIC_DUPLICATE_STATE))
            totals[key] = totals.get(key, 0) + value
    provider.shutdown()
    assert totals[(semconv.ANTHROPIC_REQUESTS.name, None)] == 12
    assert totals[(semconv.ANTHROPIC_DUPLICATES.name, "completed")] == 2
    assert (semconv.ANTHROPIC_DUPLICATES.name, "in_flight") not in totals
    assert totals[(semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name, None)] >= 1


def test_stalled_redis_never_blocks_the_calling_thread(redis_server: RedisServer, fleet: Fleet) -> None:
    detector = fleet.detector(redis_server.url, redis_timeout_s=0.2, redis_retry_interval_s=60)
    first = started(detector, BODY)
    detector.complete(first, 5)
    redis_server.pause()
    try:
        t0 = time.perf_counter()
        ticket = detector.start(MODEL, BODY)
        detector.complete(ticket, 5) if ticket is not None else None
        elapsed = time.perf_counter() - t0
        assert ticket is not None
        assert elapsed < 0.05
        wait_for(lambda: ticket.checked)
        assert ticket.state == "completed"  # answered from memory after the 0.2 s timeout
        assert fleet.total(detector, semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name) == 1
        assert fleet.by_state(detector, semconv.ANTHROPIC_DUPLICATES_TOKENS.name) == {"completed": 5}
    finally:
        redis_server.resume()


def test_full_queue_drops_and_counts(redis_server: RedisServer, fleet: Fleet) -> None:
    detector = fleet.detector(redis_server.url, queue_size=1, redis_timeout_s=5.0)
    started(detector, body(0))  # worker thread running
    redis_server.pause()
    try:
        blocked = detector.start(MODEL, body(1))
        worker = detector._worker
        assert worker is not None and blocked is not None
        wait_for(lambda: worker.queue.qsize() == 0)  # taken: the worker now waits on Redis
        queued = detector.start(MODEL, body(2))
        dropped = [detector.start(MODEL, body(n)) for n in range(3, 8)]
        assert queued is not None and not queued.dropped
        assert all(t is not None and t.dropped for t in dropped)
        points = fleet.points(detector, semconv.ANTHROPIC_OTEL_DEDUP_DROPPED.name)
        assert points == [({semconv.ANTHROPIC_DEDUP_STORE: "redis"}, 5)]
    finally:
        redis_server.resume()
    wait_for(lambda: queued.checked)


def test_unreachable_url_at_startup_still_detects_in_memory(fleet: Fleet) -> None:
    from tests.e2e.redis_server import free_port

    detector = fleet.detector(f"redis://127.0.0.1:{free_port()}/0", redis_retry_interval_s=60)
    first = started(detector, BODY)
    second = started(detector, BODY)
    assert (first.state, second.state) == (None, "in_flight")
    assert fleet.total(detector, semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name) == 1
