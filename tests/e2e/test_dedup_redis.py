"""Duplicate detection across processes through a real redis-server: exact counts, in-flight vs
completed, exactly what is stored, Redis killed, stalled, saturated and restarted mid-run without one
failed call, and a shutdown that waits no longer than its flush timeout."""

from __future__ import annotations

import hashlib
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
from anthropic_otel.recorder import Recorder
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
            Recorder(provider.get_meter("t")),
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


def owner_token(detector: DuplicateDetector, ticket: Ticket) -> bytes:
    worker = detector._worker
    assert worker is not None
    return (
        hashlib.blake2b(ticket.owner.to_bytes(8, "big"), key=worker.token, digest_size=8).hexdigest().encode()
    )


def test_redis_holds_only_keyed_states(redis_server: RedisServer, fleet: Fleet) -> None:
    """Every key and value written, read back: the state, and for an in-flight mark its opaque owner."""
    a, b = fleet.detector(redis_server.url), fleet.detector(redis_server.url)
    secret = {**BODY, "messages": [{"role": "user", "content": "my password is hunter2"}]}
    done = started(a, secret)
    a.complete(done, 40)
    copy = started(b, secret)  # a duplicate: writes nothing
    b.complete(copy, 40)
    failed = started(a, body(1))
    a.fail(failed)
    pending = started(b, body(2))
    probe = started(a, body(3))  # the worker is FIFO: once this is answered, the rest was applied
    a.fail(probe)
    wait_for(lambda: redis_server.call("EXISTS", KEY_PREFIX + probe.fp) == 0)
    assert copy.state == "completed"
    assert redis_server.contents() == {
        (KEY_PREFIX + fingerprint(secret)).encode(): b"completed",
        (KEY_PREFIX + fingerprint(body(2))).encode(): b"in_flight " + owner_token(b, pending),
    }
    assert len(owner_token(b, pending)) == 16
    everything = b"".join(k + v for k, v in redis_server.contents().items())
    for leak in (MODEL.encode(), b"hunter2", b"claude"):
        assert leak not in everything


def test_hmac_key_is_used_for_redis_keys(redis_server: RedisServer, fleet: Fleet) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    settings = Settings(dedup="redis", dedup_redis_url=redis_server.url, dedup_hmac_key="fleet-secret")
    detector = DuplicateDetector(settings, Recorder(provider.get_meter("t")))
    try:
        started(detector, BODY)
        key = KEY_PREFIX + fingerprint(BODY, b"fleet-secret")
        assert redis_server.command("EXISTS", key) == b":1\r\n"
        assert redis_server.command("EXISTS", KEY_PREFIX + fingerprint(BODY)) == b":0\r\n"
    finally:
        detector.shutdown()
        provider.shutdown()


UNKEYED_PROCESS = """
import logging, sys
from anthropic_otel.dedup import DuplicateDetector
from anthropic_otel.recorder import Recorder
from anthropic_otel.settings import Settings
from opentelemetry.sdk.metrics import MeterProvider

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
meter = MeterProvider().get_meter("t")
url = sys.argv[1]
detectors = [
    DuplicateDetector(Settings(dedup="memory"), Recorder(meter)),
    DuplicateDetector(Settings(dedup="redis", dedup_redis_url=url, dedup_hmac_key="fleet-secret"), Recorder(meter)),
    DuplicateDetector(Settings(dedup="redis", dedup_redis_url=url), Recorder(meter)),
    DuplicateDetector(Settings(dedup="redis", dedup_redis_url=url), Recorder(meter)),
]
for detector in detectors:
    detector.shutdown()
"""


def test_redis_without_an_hmac_key_warns_once_per_process_naming_the_variable(
    redis_server: RedisServer,
) -> None:
    """Two unkeyed Redis detectors in one fresh process: one warning; keyed and memory ones: none."""
    done = subprocess.run(
        [sys.executable, "-c", UNKEYED_PROCESS, redis_server.url],
        env=env_for_subprocess(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "WARNING anthropic_otel anthropic-otel: ANTHROPIC_OTEL_DEDUP=redis without ANTHROPIC_OTEL_DEDUP_HMAC_KEY: "
        "the fingerprints shared in Redis are plain SHA-256 of the request, so anyone who can read that Redis "
        "can confirm a guessed prompt by hashing it; set ANTHROPIC_OTEL_DEDUP_HMAC_KEY to the same secret on "
        "every process"
    ]


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
        warnings = outage_warnings(caplog)
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
    assert len(outage_warnings(caplog)) == 1


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Warnings but the one about unkeyed fingerprints, which only the first detector of a process logs."""
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and semconv.ENV_DEDUP_HMAC_KEY not in r.getMessage()
    ]


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
        # Blocking would mean waiting out the 0.2 s Redis timeout on the calling thread.
        assert elapsed < 0.2
        wait_for(lambda: ticket.checked)
        assert ticket.state == "completed"  # answered from memory after the 0.2 s timeout
        assert fleet.total(detector, semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name) == 1
        assert fleet.by_state(detector, semconv.ANTHROPIC_DUPLICATES_TOKENS.name) == {"completed": 5}
    finally:
        redis_server.resume()


def saturation_logs(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if "dedup queue to Redis" in r.getMessage()]


def test_a_full_queue_drops_counts_and_logs_once_per_episode(
    redis_server: RedisServer, fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    detector = fleet.detector(redis_server.url, queue_size=2, redis_timeout_s=30.0)
    worker = detector._worker
    assert worker is not None
    started(detector, body(0))  # the worker thread is running
    n = 1

    def saturate(drops: int) -> list[Ticket]:
        """Redis stopped: one operation held by the worker, two queued, then `drops` dropped."""
        nonlocal n
        redis_server.pause()
        held = detector.start(MODEL, body(n))
        wait_for(lambda: worker.queue.qsize() == 0)  # taken: the worker now waits on Redis
        tickets = [detector.start(MODEL, body(n + 1 + i)) for i in range(2 + drops)]
        n += 3 + drops
        assert held is not None and all(t is not None for t in tickets)
        return [held, *(t for t in tickets if t is not None)]

    def recover(tickets: list[Ticket]) -> None:
        redis_server.resume()
        wait_for(lambda: all(t.checked for t in tickets if not t.dropped))
        wait_for(lambda: worker.queue.qsize() == 0)

    with caplog.at_level(logging.INFO, logger=semconv.LOGGER):
        first = saturate(drops=5)
        assert [t.dropped for t in first] == [False, False, False, True, True, True, True, True]
        assert fleet.points(detector, semconv.ANTHROPIC_OTEL_DEDUP_DROPPED.name) == [
            ({semconv.ANTHROPIC_DEDUP_STORE: "redis"}, 5)
        ]
        assert saturation_logs(caplog) == [
            (
                logging.WARNING,
                "anthropic-otel: dedup queue to Redis full (2 operations waiting); dropping operations "
                "until it has room (counted in anthropic_otel.dedup.dropped)",
            )
        ]
        recover(first)
        assert len(saturation_logs(caplog)) == 1  # recovery is logged when an operation is accepted
        started(detector, body(1000))
        second = saturate(drops=3)
        recover(second)
        started(detector, body(1001))
    assert [level for level, _ in saturation_logs(caplog)] == [
        logging.WARNING,
        logging.INFO,
        logging.WARNING,
        logging.INFO,
    ]
    assert saturation_logs(caplog)[1][1] == (
        "anthropic-otel: dedup queue to Redis has room again; 5 operations were dropped"
    )
    assert saturation_logs(caplog)[3][1].endswith("; 3 operations were dropped")
    assert fleet.total(detector, semconv.ANTHROPIC_OTEL_DEDUP_DROPPED.name) == 8
    assert fleet.total(detector, semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name) == 0


def stuck_worker(redis_server: RedisServer, detector: DuplicateDetector, queued: int) -> Any:
    """Redis stopped with the worker inside a round trip (on body(1)) and `queued` operations waiting."""
    worker = detector._worker
    assert worker is not None
    started(detector, body(0))
    redis_server.pause()
    detector.start(MODEL, body(1))
    wait_for(lambda: worker.queue.qsize() == 0)
    for i in range(queued):
        detector.start(MODEL, body(2 + i))
    return worker


@pytest.mark.parametrize("flush_timeout_s", [0.0, 0.5])
def test_shutdown_waits_no_longer_than_its_flush_timeout_for_a_stopped_redis(
    redis_server: RedisServer, fleet: Fleet, caplog: pytest.LogCaptureFixture, flush_timeout_s: float
) -> None:
    detector = fleet.detector(redis_server.url, queue_size=100, redis_timeout_s=30.0)
    worker = stuck_worker(redis_server, detector, queued=150)  # 100 queued, 50 dropped
    try:
        with caplog.at_level(logging.INFO, logger=semconv.LOGGER):
            t0 = time.monotonic()
            detector.shutdown(flush_timeout_s)
            elapsed = time.monotonic() - t0
        # A spec bound with a generous margin: before, this took 4 s (2 s to enqueue the stop, 2 s to join).
        assert elapsed < flush_timeout_s + 1.0
        assert any(
            "stopped waiting for the dedup queue to flush" in r.getMessage()
            and semconv.ENV_DEDUP_FLUSH_TIMEOUT_S in r.getMessage()
            for r in caplog.records
        )
    finally:
        redis_server.resume()
    thread = worker._thread
    assert thread is not None
    thread.join(40)  # the round trip it was in completes; then it exits, dropping the queue
    assert not thread.is_alive()
    assert set(redis_server.contents()) == {(KEY_PREFIX + fingerprint(body(i))).encode() for i in (0, 1)}


def test_shutdown_flushes_the_queue_when_redis_answers(redis_server: RedisServer, fleet: Fleet) -> None:
    detector = fleet.detector(redis_server.url)
    tickets = [detector.start(MODEL, body(i)) for i in range(500)]
    detector.shutdown(30.0)
    assert all(t is not None and t.checked for t in tickets)
    assert len(redis_server.contents()) == 500


def test_uninstrument_returns_within_the_flush_timeout_when_redis_is_stopped(
    redis_server: RedisServer,
) -> None:
    from anthropic_otel import AnthropicInstrumentor, _runtime

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    AnthropicInstrumentor().instrument(
        meter_provider=provider,
        dedup="redis",
        dedup_redis_url=redis_server.url,
        dedup_hmac_key="k",
        dedup_flush_timeout_s=0,
    )
    client = FakeAnthropic().client()
    runtime = _runtime.current
    assert runtime is not None and runtime.settings.dedup_flush_timeout_s == 0.0
    worker = runtime.dedup._worker
    assert worker is not None
    try:
        client.messages.create(**body(0))
        redis_server.pause()
        # What the hooks do at call start: the worker sends it and waits (up to 0.5 s) for Redis.
        runtime.dedup.start(MODEL, body(1))
        wait_for(lambda: worker.queue.qsize() == 0)
        client.messages.create(**body(2))  # queued behind it
        t0 = time.monotonic()
        AnthropicInstrumentor().uninstrument()
        elapsed = time.monotonic() - t0
        # Setting 0: no wait. Before, uninstrument waited out the round trip (the 0.5 s Redis timeout).
        assert elapsed < 0.25
    finally:
        redis_server.resume()
        client.close()
        provider.shutdown()
    thread = worker._thread
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()


def test_unreachable_url_at_startup_still_detects_in_memory(fleet: Fleet) -> None:
    from tests.e2e.redis_server import free_port

    detector = fleet.detector(f"redis://127.0.0.1:{free_port()}/0", redis_retry_interval_s=60)
    first = started(detector, BODY)
    second = started(detector, BODY)
    assert (first.state, second.state) == (None, "in_flight")
    assert fleet.total(detector, semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS.name) == 1
