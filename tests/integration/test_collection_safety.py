"""Streams dropped unclosed are ended by the garbage collector, which runs at any allocation of any
thread: inside our own locks, the OTel SDK's, or `ContextVar.set`. That path must never block,
never raise into the app and never lose an end: it only claims the end and queues it, and the
watchdog thread records it. Real SDK over the fake API, sync and async, with and without the
SDK's own span.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Iterator
from typing import Any

from anthropic_otel.fake import FakeAnthropic
from anthropic_otel.state import watchdog

from tests.polling import wait_for

from . import sdk
from .test_streams import _kwargs, assert_one_stream


def _drop_in_cycle(c: Any) -> None:
    """Read a few events, then drop the stream unclosed inside a reference cycle: only the collector frees it."""
    stream = c.messages.create(stream=True, **_kwargs())
    for i, _event in enumerate(stream):
        if i == 2:
            break
    cycle: dict[str, Any] = {"stream": stream}
    cycle["self"] = cycle


async def _adrop_in_cycle(c: Any) -> None:
    stream = await c.messages.create(stream=True, **_kwargs())
    i = 0
    async for _event in stream:
        i += 1
        if i == 3:
            break
    cycle: dict[str, Any] = {"stream": stream}
    cycle["self"] = cycle


@contextlib.contextmanager
def _no_automatic_collection() -> Iterator[None]:
    """The dropped cycle stays uncollected until the test's own `gc.collect()`, inside the lock."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _in_thread(fn: Any, timeout: float = 10.0) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as err:  # noqa: BLE001 - reported to the test below
            errors.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "deadlock: the collection blocked the thread that ran it"
    assert errors == []


def test_collection_while_this_thread_holds_the_stream_lock(
    telemetry: Any, watchdog_held: None, sdk_tracing: bool
) -> None:
    """The deadlock once seen: a collection inside `_Watchdog.check()`'s locked snapshot ended an
    abandoned stream, whose end took the same non-reentrant lock."""
    c = sdk.client(FakeAnthropic(), False, sdk_tracing)

    def drop_and_collect_under_the_lock() -> None:
        with _no_automatic_collection():
            _drop_in_cycle(c)
            with watchdog._lock:
                gc.collect()

    _in_thread(drop_and_collect_under_the_lock)
    assert telemetry.points("anthropic.streams") == []
    assert watchdog._collected.qsize() == 1
    watchdog.record_collected_ends()
    assert_one_stream(telemetry, "abandoned")


def test_collection_inside_a_metric_sum_lock(telemetry: Any, watchdog_held: None, sdk_tracing: bool) -> None:
    c = sdk.client(FakeAnthropic(), False, sdk_tracing)
    from anthropic_otel import _runtime

    runtime = _runtime.current
    assert runtime is not None
    sums = runtime.recorder

    def drop_and_collect_under_the_locks() -> None:
        with _no_automatic_collection():
            _drop_in_cycle(c)
            with sums._streams._lock, sums._streams_active._lock, sums._requests._lock:
                gc.collect()

    _in_thread(drop_and_collect_under_the_locks)
    watchdog.record_collected_ends()
    assert_one_stream(telemetry, "abandoned")


def test_many_threads_dropping_streams_in_cycles_while_the_watchdog_runs(telemetry: Any) -> None:
    """Collections from several threads at once, at a low GC threshold so they land anywhere, with
    the watchdog checking every 20 ms: every stream ends exactly once, nothing blocks or raises."""
    telemetry.reinstrument(stream_idle_timeout_s=0.08)
    fake = FakeAnthropic()
    per_thread = 30
    sync_threads = 3
    errors: list[BaseException] = []

    def sync_worker() -> None:
        c = sdk.client(fake, False)
        try:
            for _ in range(per_thread):
                _drop_in_cycle(c)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    def async_worker() -> None:
        async def loop() -> None:
            c = sdk.client(fake, True)
            for _ in range(per_thread):
                await _adrop_in_cycle(c)

        try:
            asyncio.run(loop())
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threshold = gc.get_threshold()
    gc.set_threshold(20)
    try:
        threads = [threading.Thread(target=sync_worker, daemon=True) for _ in range(sync_threads)]
        threads.append(threading.Thread(target=async_worker, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(t.is_alive() for t in threads), "a worker thread is blocked"
    finally:
        gc.set_threshold(*threshold)
    gc.collect()
    total = per_thread * (sync_threads + 1)
    assert errors == []
    wait_for(lambda: telemetry.value("anthropic.streams") == total, 10.0)
    assert telemetry.value("anthropic.streams", anthropic__stream__end_reason="abandoned") == total
    assert telemetry.value("anthropic.streams.active") == 0
    assert telemetry.value("anthropic.requests") == total
    wait_for(lambda: len(telemetry.spans()) == total, 10.0)
    assert {s.attributes.get("anthropic.stream.end_reason") for s in telemetry.spans()} == {"abandoned"}
