"""Work handed off by the application's thread: a finished call's metrics, a response's rate-limit lines.

Recording a call's metrics costs tens of microseconds inside the OTel SDK (three histogram records
that each validate and hash their attributes). None of it changes what the application gets back, so
the calling thread only appends the work to a queue. The recorder's observable callbacks run what is
queued before they report, so every collection sees, exactly, every call that ended before it; a
worker thread runs a batch whenever `BATCH` items have built up between collections. First in, first
out, one item at a time: a gauge's "last value" is the last response's. Items hold small values
(counts, a usage, a context, one string of header values), never a request or a response. Bounded:
past `MAX_PENDING` queued items the calling thread runs the oldest itself, one per item it adds, so a
stalled worker cannot grow memory.

The work is moved, not removed: it costs the process the same CPU, less on a collection (one thread,
warm caches) and more on the worker, which contends with the application's threads for the GIL; the
batch keeps the worker rare (`make bench` shows both the calling thread's time and the CPU per call).
"""

from __future__ import annotations

import collections
import os
import threading
from typing import Any, Callable, Final

from ._guard import report

# Items queued between collections that wake the worker (a few hundred calls: each queues 2 or 3).
BATCH: Final = 1024
# Past this many queued items the calling thread helps (one item per item it adds).
MAX_PENDING: Final = 8 * BATCH


class Deferred:
    __slots__ = ("_queue", "_drain_lock", "_wake", "_worker", "_start_lock")

    def __init__(self) -> None:
        self._queue: collections.deque[tuple[Callable[..., None], tuple[Any, ...]]] = collections.deque()
        # Reentrant: work that ends up collecting (a test's reader inside a callback) must not deadlock.
        self._drain_lock = threading.RLock()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def put(self, work: Callable[..., None], *args: Any) -> None:
        """Run `work(*args)` later, before the next collection; exceptions are reported, never raised."""
        queue = self._queue
        queue.append((work, args))
        size = len(queue)
        if size > MAX_PENDING:
            self._run_one(blocking=False)  # the worker is behind: help, unless it is running one
        elif not size % BATCH:
            # Once per batch, not on every item while the queue stays above one: a worker woken per
            # item would fight the calling thread for the GIL.
            self._wake_worker()

    def drain(self) -> None:
        """Run everything queued so far, in order (the recorder's callbacks call this first)."""
        # Each take waits for the lock: an item another thread is running finishes first, so it too
        # is in the collection that drains here.
        while self._run_one():
            pass

    def _run_one(self, blocking: bool = True) -> bool:
        """Take the oldest item and run it, both under the lock, so items run one at a time in order."""
        if not self._drain_lock.acquire(blocking):
            return False
        try:
            try:
                work, args = self._queue.popleft()
            except IndexError:
                return False
            try:
                work(*args)
            except Exception as err:
                report("deferred." + getattr(work, "__qualname__", "work"), err)
            return True
        finally:
            self._drain_lock.release()

    def _wake_worker(self) -> None:
        worker = self._worker
        if worker is None or not worker.is_alive():
            with self._start_lock:
                worker = self._worker
                if worker is None or not worker.is_alive():
                    try:
                        worker = threading.Thread(
                            target=self._run, name="anthropic-otel-deferred", daemon=True
                        )
                        worker.start()
                    except RuntimeError:  # interpreter shutting down: the caller's thread does the work
                        self.drain()
                        return
                    self._worker = worker
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            # The batch that woke it, not a chase after items still arriving: those wait for the
            # next batch or the next collection.
            for _ in range(len(self._queue)):
                if not self._run_one():
                    break

    def reset(self) -> None:
        """Empty, with fresh locks and no worker: a forked child starts from zero (the parent's
        pending work is the parent's, and a lock held at fork time would never be released)."""
        Deferred.__init__(self)


# One per process: every recorder's callbacks drain it, whichever instrument() queued the work.
DEFERRED: Final = Deferred()

if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=DEFERRED.reset)
