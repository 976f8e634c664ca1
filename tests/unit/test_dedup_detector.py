"""The duplicate detector on the memory store: states, windows, settings, concurrency and exact metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.dedup import DuplicateDetector, MemoryStore, fingerprint
from anthropic_otel.recorder import Recorder
from anthropic_otel.settings import Settings
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.clock import Clock
from tests.readers import sums

MODEL = "claude-sonnet-4-5"
BODY: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
OTHER: dict[str, Any] = {**BODY, "messages": [{"role": "user", "content": "Bye"}]}


def _detector(settings: Settings, meter: Meter, **kw: Any) -> DuplicateDetector:
    """Every detector in this file is built here, so a change of the constructor is adapted once."""
    return DuplicateDetector(settings, Recorder(meter), **kw)


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


def test_same_request_twice_counts_one_completed_duplicate_and_its_tokens(metrics: Metrics) -> None:
    detector = _detector(Settings(), metrics.meter)
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
    detector = _detector(Settings(), metrics.meter)
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
    detector = _detector(Settings(), metrics.meter)
    failed = detector.start(MODEL, BODY)
    assert failed is not None
    detector.fail(failed)
    retry = detector.start(MODEL, BODY)
    assert retry is not None and retry.state is None
    detector.complete(retry, 10)
    assert metrics.points(semconv.ANTHROPIC_DUPLICATES.name) == []


def test_fail_after_another_ticket_took_over_leaves_the_completed_mark(metrics: Metrics) -> None:
    detector = _detector(Settings(), metrics.meter)
    first = detector.start(MODEL, BODY)
    second = detector.start(MODEL, BODY)
    assert first is not None and second is not None
    detector.complete(first, 10)
    detector.fail(second)
    third = detector.start(MODEL, BODY)
    assert third is not None and third.state == "completed"
    assert metrics.by_state(semconv.ANTHROPIC_DUPLICATES.name) == {"in_flight": 1, "completed": 1}


def test_window_setting_bounds_completed_duplicates(metrics: Metrics) -> None:
    detector = _detector(Settings(dedup_window_s=30.0), metrics.meter)
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
    detector = _detector(Settings(dedup_hmac_key="k3y"), metrics.meter)
    ticket = detector.start(MODEL, BODY)
    assert ticket is not None
    assert ticket.fp == fingerprint(BODY, b"k3y") != fingerprint(BODY)


def test_off_returns_no_ticket_and_records_nothing(metrics: Metrics) -> None:
    detector = _detector(Settings(dedup="off"), metrics.meter)
    assert detector.start(MODEL, BODY) is None
    assert detector.start(MODEL, BODY) is None
    assert len(detector.memory) == 0
    assert metrics.points(semconv.ANTHROPIC_DUPLICATES.name) == []


def test_redis_without_url_falls_back_to_memory(metrics: Metrics, caplog: pytest.LogCaptureFixture) -> None:
    detector = _detector(Settings(dedup="redis"), metrics.meter)
    assert detector.store_name == "memory"
    assert semconv.ENV_DEDUP_REDIS_URL in caplog.text
    first, second = detector.start(MODEL, BODY), detector.start(MODEL, BODY)
    assert first is not None and second is not None and second.state == "in_flight"


def test_unfingerprintable_body_gives_no_ticket_and_never_raises(metrics: Metrics) -> None:
    detector = _detector(Settings(), metrics.meter)
    messages = iter([{"role": "user", "content": "Hi"}])
    assert detector.start(MODEL, {**BODY, "messages": messages}) is None
    assert next(messages) == {"role": "user", "content": "Hi"}


def test_concurrent_asyncio_tasks_count_exactly(metrics: Metrics) -> None:
    detector = _detector(Settings(), metrics.meter)

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
