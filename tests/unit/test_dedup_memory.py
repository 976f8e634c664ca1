"""The memory store and the detector on it: states, windows, bounds, concurrency and exact metrics."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.dedup import DuplicateDetector, MemoryStore, fingerprint
from anthropic_otel.settings import Settings
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.clock import Clock
from tests.readers import sums

MODEL = "claude-sonnet-4-5"
BODY: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
OTHER: dict[str, Any] = {**BODY, "messages": [{"role": "user", "content": "Bye"}]}


class Metrics:
    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        self.meter = self.provider.get_meter("test")

    def points(self, name: str) -> list[tuple[dict[str, Any], float]]:
        return sums(self.reader, name)

    def by_state(self, name: str) -> dict[str, float]:
        return {attrs[semconv.ANTHROPIC_DUPLICATE_STATE]: value for attrs, value in self.points(name)}


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    m = Metrics()
    yield m
    m.provider.shutdown()


# -- MemoryStore --------------------------------------------------------------------------------


def test_begin_marks_in_flight_and_reports_existing_states() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    assert store.begin("a", owner=1, in_flight_ttl_s=60) is None
    assert store.begin("a", owner=2, in_flight_ttl_s=60) == "in_flight"
    store.complete("a", window_s=600)
    assert store.begin("a", owner=3, in_flight_ttl_s=60) == "completed"
    assert store.get("a") == "completed"
    assert len(store) == 1


def test_in_flight_mark_expires_after_its_ttl_and_completed_after_the_window() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    store.begin("a", 1, 60)
    clock.now += 59.9
    assert store.get("a") == "in_flight"
    clock.now += 0.1
    assert store.get("a") is None
    assert store.begin("a", 2, 60) is None
    store.complete("a", 600)
    clock.now += 599.9
    assert store.begin("b", 3, 60) is None
    assert store.get("a") == "completed"
    clock.now += 0.1
    assert store.begin("a", 4, 60) is None


def test_a_duplicate_does_not_extend_the_completed_window() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    store.complete("a", 600)
    clock.now += 500
    assert store.begin("a", 1, 60) == "completed"
    clock.now += 100
    assert store.get("a") is None


def test_clear_removes_only_the_owners_in_flight_mark() -> None:
    store = MemoryStore()
    store.begin("a", 1, 60)
    store.clear("a", owner=2)
    assert store.get("a") == "in_flight"
    store.clear("a", owner=1)
    assert store.get("a") is None
    store.complete("a", 600)
    store.clear("a", owner=0)
    assert store.get("a") == "completed"


def test_least_recently_used_is_evicted_at_the_cap() -> None:
    store = MemoryStore(cap=3)
    for fp in ("a", "b", "c"):
        store.begin(fp, 1, 60)
    assert store.begin("a", 2, 60) == "in_flight"  # touches a: b is now the oldest
    store.begin("d", 1, 60)
    assert len(store) == 3
    assert store.get("b") is None
    assert [store.get(fp) for fp in ("a", "c", "d")] == ["in_flight"] * 3


def test_expired_entries_at_the_old_end_are_swept() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    for i in range(4):
        store.begin(str(i), 1, 10)
    clock.now += 11
    store.begin("x", 1, 10)
    store.begin("y", 1, 10)
    assert len(store) == 2


# Run in a fresh interpreter: RSS in a process that already ran hundreds of tests measures the
# allocator's earlier fragmentation, not the store.
_MILLION_SCRIPT = """
import gc, json, os, time
from anthropic_otel.dedup import MemoryStore

def rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

gc.collect()
before = rss_bytes()
store = MemoryStore()
started = time.perf_counter()
for i in range(1_000_000):
    store.begin(f"{i:064x}", i, 60.0)
elapsed = time.perf_counter() - started
gc.collect()
after = rss_bytes()
for i in range(1_000_000, 1_500_000):
    store.begin(f"{i:064x}", i, 60.0)
gc.collect()
plateau = rss_bytes()
print(json.dumps({
    "cap": store.cap, "size": len(store), "elapsed": elapsed, "growth": after - before,
    "plateau": plateau - after,
    "newest": store.get(f"{1_499_999:064x}"), "evicted": store.get(f"{1_399_999:064x}"),
}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc")
def test_a_million_distinct_requests_keep_the_default_store_at_its_cap() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MILLION_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)
    print(
        f"\n1,000,000 distinct fingerprints in {m['elapsed']:.2f} s; store size {m['size']}; RSS growth "
        f"{m['growth'] / 1e6:.1f} MB; 500,000 more: {m['plateau'] / 1e6:+.1f} MB"
    )
    assert (m["cap"], m["size"]) == (100_000, 100_000)
    assert m["newest"] == "in_flight"
    assert m["evicted"] is None
    # About 0.5 KB per fingerprint at the cap, and flat from there on.
    assert m["growth"] < 70_000_000
    assert m["plateau"] < 1_000_000
    assert m["elapsed"] < 15


def test_a_small_cap_holds_under_many_times_its_size() -> None:
    store = MemoryStore(cap=1_000)
    for i in range(200_000):
        store.begin(str(i), i, 60.0)
        if i % 997 == 0:
            store.complete(str(i), 600.0)
    assert len(store) == 1_000
    assert store.get("199999") == "in_flight"
    assert store.get("198999") is None


def test_threads_racing_on_one_fingerprint_see_exactly_one_first() -> None:
    store = MemoryStore()
    results: list[str | None] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def work(owner: int) -> None:
        barrier.wait()
        mine = [store.begin("same", owner * 1000 + i, 60) for i in range(500)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 1
    assert results.count("in_flight") == 3999


# -- DuplicateDetector on the memory store ----------------------------------------------------


def test_same_request_twice_counts_one_completed_duplicate_and_its_tokens(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(), metrics.meter)
    first = detector.start(MODEL, BODY)
    assert first is not None and first.state is None and first.checked
    detector.complete(first, 120)
    second = detector.start(MODEL, {**BODY, "metadata": {"user_id": "other"}, "stream": True})
    assert second is not None and second.state == "completed"
    detector.complete(second, 130)
    assert metrics.by_state(semconv.ANTHROPIC_DUPLICATES.name) == {"completed": 1}
    assert metrics.by_state(semconv.ANTHROPIC_DUPLICATES_TOKENS.name) == {"completed": 130}
    detector.shutdown()


def test_concurrent_copy_is_an_in_flight_duplicate(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(), metrics.meter)
    first = detector.start(MODEL, BODY)
    second = detector.start(MODEL, BODY)
    other = detector.start(MODEL, OTHER)
    assert first is not None and second is not None and other is not None
    assert (first.state, second.state, other.state) == (None, "in_flight", None)
    detector.complete(second, 50)
    detector.complete(first, 50)
    detector.complete(other, 7)
    assert metrics.points(semconv.ANTHROPIC_DUPLICATES.name) == [
        ({semconv.GEN_AI_REQUEST_MODEL: MODEL, semconv.ANTHROPIC_DUPLICATE_STATE: "in_flight"}, 1)
    ]
    assert metrics.by_state(semconv.ANTHROPIC_DUPLICATES_TOKENS.name) == {"in_flight": 50}


def test_failed_call_clears_its_mark_and_is_never_completed(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(), metrics.meter)
    failed = detector.start(MODEL, BODY)
    assert failed is not None
    detector.fail(failed)
    retry = detector.start(MODEL, BODY)
    assert retry is not None and retry.state is None
    detector.complete(retry, 10)
    assert metrics.points(semconv.ANTHROPIC_DUPLICATES.name) == []


def test_fail_after_another_ticket_took_over_leaves_the_completed_mark(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(), metrics.meter)
    first = detector.start(MODEL, BODY)
    second = detector.start(MODEL, BODY)
    assert first is not None and second is not None
    detector.complete(first, 10)
    detector.fail(second)
    third = detector.start(MODEL, BODY)
    assert third is not None and third.state == "completed"
    assert metrics.by_state(semconv.ANTHROPIC_DUPLICATES.name) == {"in_flight": 1, "completed": 1}


def test_window_setting_bounds_completed_duplicates(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(dedup_window_s=30.0), metrics.meter)
    clock = Clock(1000.0)
    detector.memory = MemoryStore(clock=clock)
    ticket = detector.start(MODEL, BODY)
    assert ticket is not None
    detector.complete(ticket, 1)
    clock.now += 29.0
    again = detector.start(MODEL, BODY)
    assert again is not None and again.state == "completed"
    clock.now += 1.0
    later = detector.start(MODEL, BODY)
    assert later is not None and later.state is None


def test_hmac_key_from_settings_is_used(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(dedup_hmac_key="k3y"), metrics.meter)
    ticket = detector.start(MODEL, BODY)
    assert ticket is not None
    assert ticket.fp == fingerprint(BODY, b"k3y") != fingerprint(BODY)


def test_off_returns_no_ticket_and_records_nothing(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(dedup="off"), metrics.meter)
    assert detector.start(MODEL, BODY) is None
    assert detector.start(MODEL, BODY) is None
    assert len(detector.memory) == 0
    assert metrics.points(semconv.ANTHROPIC_DUPLICATES.name) == []


def test_redis_without_url_falls_back_to_memory(metrics: Metrics, caplog: pytest.LogCaptureFixture) -> None:
    detector = DuplicateDetector(Settings(dedup="redis"), metrics.meter)
    assert detector.store_name == "memory"
    assert semconv.ENV_DEDUP_REDIS_URL in caplog.text
    first, second = detector.start(MODEL, BODY), detector.start(MODEL, BODY)
    assert first is not None and second is not None and second.state == "in_flight"


def test_unfingerprintable_body_gives_no_ticket_and_never_raises(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(), metrics.meter)
    messages = iter([{"role": "user", "content": "Hi"}])
    assert detector.start(MODEL, {**BODY, "messages": messages}) is None
    assert next(messages) == {"role": "user", "content": "Hi"}


def test_concurrent_asyncio_tasks_count_exactly(metrics: Metrics) -> None:
    detector = DuplicateDetector(Settings(), metrics.meter)

    async def call(i: int) -> None:
        ticket = detector.start(MODEL, {**BODY, "max_tokens": 64 + i % 10})
        assert ticket is not None
        await asyncio.sleep(0)
        detector.complete(ticket, 100)

    async def main() -> None:
        await asyncio.gather(*(call(i) for i in range(100)))

    asyncio.run(main())
    # 10 distinct requests, 100 calls, all started before any completed: 90 in-flight duplicates.
    assert metrics.by_state(semconv.ANTHROPIC_DUPLICATES.name) == {"in_flight": 90}
    assert metrics.by_state(semconv.ANTHROPIC_DUPLICATES_TOKENS.name) == {"in_flight": 9000}


def test_start_costs_a_few_microseconds() -> None:
    detector = DuplicateDetector(Settings(), MeterProvider().get_meter("t"))
    bodies = [{**BODY, "max_tokens": i} for i in range(20_000)]
    started = time.perf_counter()
    for body in bodies:
        ticket = detector.start(MODEL, body)
        assert ticket is not None
        detector.complete(ticket, 1)
    per_call_us = (time.perf_counter() - started) / len(bodies) * 1e6
    print(f"\nmemory detector start+complete: {per_call_us:.1f} us per call")
    assert per_call_us < 50


# -- the explicit replay wrapper ----------------------------------------------------------------


def test_idempotent_replays_a_completed_duplicate_without_calling_the_api() -> None:
    from anthropic.types import Message
    from anthropic_otel.dedup import MemoryResponseStore, idempotent
    from anthropic_otel.fake import FakeAnthropic

    fake = FakeAnthropic()
    raw = fake.client()
    store = MemoryResponseStore()
    client = idempotent(raw, store)
    kwargs: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": BODY["messages"]}
    first = client.messages.create(**kwargs)
    replayed = client.messages.create(**kwargs, metadata={"user_id": "again"}, timeout=5)
    different = client.messages.create(**{**kwargs, "stop_sequences": ["END"]})
    assert len(fake.records("/v1/messages")) == 2
    assert isinstance(replayed, Message)
    assert replayed == first and replayed is not first
    assert different.id != first.id
    assert len(store) == 2
    assert client.base_url is raw.base_url  # everything else passes through
    raw.close()


def test_idempotent_never_replays_streams_and_survives_a_broken_store() -> None:
    from anthropic_otel.dedup import idempotent
    from anthropic_otel.fake import FakeAnthropic

    class Broken:
        def get(self, fp: str) -> str | None:
            raise RuntimeError("store down")

        def put(self, fp: str, payload: str, ttl_s: float) -> None:
            raise RuntimeError("store down")

    fake = FakeAnthropic()
    raw = fake.client()
    client = idempotent(raw, Broken())
    kwargs: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": BODY["messages"]}
    a = client.messages.create(**kwargs)
    b = client.messages.create(**kwargs)
    with client.messages.create(**kwargs, stream=True) as stream:
        events = [event.type for event in stream]
    assert a.id != b.id
    assert events[-1] == "message_stop"
    assert len(fake.records("/v1/messages")) == 3
    raw.close()


def test_idempotent_async_client_and_generator_messages() -> None:
    from anthropic_otel.dedup import idempotent
    from anthropic_otel.fake import FakeAnthropic

    fake = FakeAnthropic()
    raw = fake.async_client()
    client = idempotent(raw)

    async def main() -> tuple[Any, Any]:
        one = await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=32, messages=(m for m in BODY["messages"])
        )
        two = await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=32, messages=(m for m in BODY["messages"])
        )
        await raw.close()
        return one, two

    one, two = asyncio.run(main())
    assert one == two
    assert len(fake.records("/v1/messages")) == 1


def test_idempotent_replays_only_on_the_exact_fingerprint_of_a_huge_body() -> None:
    """Two long conversations the capped fingerprint cannot tell apart: each gets its own answer."""
    from anthropic_otel.dedup import MemoryResponseStore, idempotent
    from anthropic_otel.dedup.fingerprint import CAPPED_PREFIX
    from anthropic_otel.fake import FakeAnthropic

    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i:05d}"} for i in range(5001)]
    edited = [dict(m) for m in turns]
    edited[2000]["content"] = "TURN 02000"  # unsampled, same length
    first = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": turns}
    second = {**first, "messages": edited}
    assert fingerprint(first) == fingerprint(second) and fingerprint(first).startswith(CAPPED_PREFIX)
    fake = FakeAnthropic()
    raw = fake.client()
    store = MemoryResponseStore()
    client = idempotent(raw, store)
    a = client.messages.create(**first)
    b = client.messages.create(**second)
    again = client.messages.create(**first)
    assert len(fake.records("/v1/messages")) == 2
    assert b.id != a.id and again == a
    assert len(store) == 2
    raw.close()
