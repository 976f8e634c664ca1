"""The deferred queue: order, errors, the worker's batches, back-pressure, a drain that waits for the
item in flight, and a fresh start after fork."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from anthropic_otel import _deferred, _guard
from anthropic_otel._deferred import BATCH, MAX_PENDING, Deferred

from tests.polling import wait_for


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sites: list[str] = []
    monkeypatch.setattr(_guard, "on_internal_error", sites.append)
    _guard.reset_for_tests()
    return sites


def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Deferred, "_wake_worker", lambda self: None)


def test_drain_runs_every_item_in_the_order_put(monkeypatch: pytest.MonkeyPatch) -> None:
    no_worker(monkeypatch)
    queue = Deferred()
    ran: list[tuple[int, str]] = []
    for i in range(10):
        queue.put(lambda n, tag: ran.append((n, tag)), i, "x")
    assert ran == []
    queue.drain()
    assert ran == [(i, "x") for i in range(10)]
    queue.drain()
    assert len(ran) == 10


def test_a_failing_item_is_reported_and_the_rest_still_run(
    monkeypatch: pytest.MonkeyPatch, errors: list[str]
) -> None:
    no_worker(monkeypatch)
    queue = Deferred()
    ran: list[int] = []

    def boom() -> None:
        raise RuntimeError("broken")

    queue.put(ran.append, 1)
    queue.put(boom)
    queue.put(ran.append, 2)
    queue.drain()
    assert ran == [1, 2]
    assert errors == [f"deferred.{boom.__qualname__}"]


def test_the_worker_runs_a_full_batch_and_leaves_the_rest_to_the_next_drain() -> None:
    queue = Deferred()
    ran: list[int] = []
    for i in range(BATCH - 1):
        queue.put(ran.append, i)
    assert ran == []  # under a batch: nothing wakes the worker
    queue.put(ran.append, BATCH - 1)
    wait_for(lambda: len(ran) == BATCH)
    assert ran == list(range(BATCH))
    queue.put(ran.append, BATCH)
    queue.drain()
    assert ran == list(range(BATCH + 1))


def test_past_the_bound_the_caller_runs_the_oldest_item(monkeypatch: pytest.MonkeyPatch) -> None:
    no_worker(monkeypatch)
    queue = Deferred()
    ran: list[int] = []
    for i in range(MAX_PENDING):
        queue.put(ran.append, i)
    assert ran == []
    queue.put(ran.append, MAX_PENDING)
    queue.put(ran.append, MAX_PENDING + 1)
    assert ran == [0, 1]  # one item run per item added: the queue stops growing
    queue.drain()
    assert ran == list(range(MAX_PENDING + 2))


def test_a_drain_waits_for_the_item_another_thread_is_running(monkeypatch: pytest.MonkeyPatch) -> None:
    no_worker(monkeypatch)
    queue = Deferred()
    started, release = threading.Event(), threading.Event()
    done: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(10)
        done.append("slow")

    queue.put(slow)
    runner = threading.Thread(target=queue.drain)
    runner.start()
    assert started.wait(10)
    drained: list[bool] = []
    collector = threading.Thread(target=lambda: (queue.drain(), drained.append(True)))
    collector.start()
    # The queue is empty, but the item taken by the first drain has not finished: the second waits.
    assert not drained
    release.set()
    wait_for(lambda: drained == [True])
    assert done == ["slow"]
    runner.join(10)
    collector.join(10)


def test_after_reset_nothing_queued_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    no_worker(monkeypatch)
    queue = Deferred()
    ran: list[Any] = []
    queue.put(ran.append, 1)
    queue.reset()
    queue.drain()
    assert ran == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_a_forked_child_starts_with_the_process_queue_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    no_worker(monkeypatch)
    ran: list[int] = []
    _deferred.DEFERRED.put(ran.append, 1)
    pid = os.fork()
    if pid == 0:  # the child: the parent's item is the parent's
        _deferred.DEFERRED.drain()
        os._exit(0 if ran == [] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    _deferred.DEFERRED.drain()
    assert ran == [1]
