"""Open streams, the ends the garbage collector found, and the one thread that watches both.

Every open stream's state is registered here. One daemon thread (sync and async streams alike: no
thread or task per stream) records the ends claimed at collection time as soon as they are queued
(`queue.SimpleQueue.put` is documented as safe there; nothing else is done at collection time), and
checks every quarter of `ANTHROPIC_OTEL_STREAM_IDLE_TIMEOUT_S` (at most 1 s) for streams silent
longer than that: it counts them in `anthropic.streams.stalled` while they hang and, only when
enforcement is on, hands them `idle()`. At uninstrument and interpreter exit every open stream
ends, so no stream span is left open; in a forked child the parent's streams are forgotten.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
from typing import Any, Protocol

from .._guard import guard, report


class Watched(Protocol):
    """What the watchdog needs of an open stream (`state.stream.StreamState`)."""

    ended: bool
    stalled: bool
    last_event_at: float

    def went_silent(self) -> None: ...
    def dropped(self) -> None: ...
    def record_end(self, error: BaseException | None, error_type: str | None) -> None: ...
    def claim_silently(self) -> None: ...
    def sdk_ended(self, how: Any, error: Any) -> None: ...


# Open streams watched at once.
MAX_WATCHED_STREAMS = 100_000

# Guards `_active`/`_by_span` writes and the stall flags. Never taken at collection time.
_lock = threading.Lock()
_active: dict[int, Watched] = {}
# Read without the lock, from the SDK's span ender at collection time (one dict lookup is atomic).
_by_span: dict[int, Watched] = {}
# Ends claimed at collection time (stream states), and failures met there ((site, exception)).
_collected: queue.SimpleQueue[Any] = queue.SimpleQueue()


def lock() -> threading.Lock:
    return _lock


def watch(state: Watched, sdk_span: Any, idle_timeout_s: float) -> None:
    """Watch an open stream; `sdk_span` is the SDK's span it enriches, found again at its end."""
    with _lock:
        if len(_active) < MAX_WATCHED_STREAMS:
            _active[id(state)] = state
        if sdk_span is not None:
            _by_span[id(sdk_span)] = state
    _WATCHDOG.ensure_running(idle_timeout_s)


def forget(state: Watched, span: Any) -> None:
    with _lock:
        _active.pop(id(state), None)
        if span is not None:
            _by_span.pop(id(span), None)


def state_for_span(span: Any) -> Watched | None:
    """The open stream whose span this is. Lock-free: called at collection time."""
    return _by_span.get(id(span))


def queue_collected(state: Watched) -> None:
    """An end claimed at collection time: the watchdog records it."""
    _collected.put(state)


def report_at_collection(site: str, err: BaseException) -> None:
    """A failure met at collection time: queued, logged and counted later by the watchdog."""
    _collected.put((site, err))


def _record_collected(item: Any) -> None:
    if isinstance(item, tuple):
        report(*item)
    elif item is not None:
        with guard("stream.collected_end"):
            item.record_end(None, None)


def record_collected_ends() -> None:
    """Record the ends the garbage collector found (watchdog thread, uninstrument, exit)."""
    while True:
        try:
            item = _collected.get_nowait()
        except queue.Empty:
            return
        _record_collected(item)


def end_all_open() -> None:
    """At uninstrument and exit (so before provider shutdown): no stream span is left open."""
    record_collected_ends()
    with _lock:
        states = list(_active.values())
    for state in states:
        with guard("stream.end_all"):
            state.dropped()


_exit_hook_registered = False


def register_exit_hook() -> None:
    """End open streams at interpreter exit. Registered at instrument(), after the providers exist,
    so it runs before their own exit-time shutdown (atexit runs in reverse order)."""
    global _exit_hook_registered
    if not _exit_hook_registered:
        _exit_hook_registered = True
        atexit.register(end_all_open)


class _Watchdog:
    """It waits on the collected-ends queue, so an end found by the collector is recorded as soon as
    it is queued, and checks for silent streams every quarter of the idle threshold (at most 1 s)."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._timeout_s = 30.0
        self._start_lock = threading.Lock()

    def ensure_running(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="anthropic-otel-stream-watchdog", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            _collected.put(None)  # wakes the thread from its wait on the queue
            thread.join(timeout=2)
        self._thread = None

    def reset_after_fork(self) -> None:
        self._thread = None
        self._stop = threading.Event()
        self._start_lock = threading.Lock()

    def _run(self) -> None:
        next_check = time.monotonic()
        while not self._stop.is_set():
            period = min(max(self._timeout_s / 4, 0.02), 1.0)
            try:
                item = _collected.get(timeout=max(next_check - time.monotonic(), 0.0))
            except queue.Empty:
                item = None
            if item is not None:
                _record_collected(item)
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + period
                with guard("stream.watchdog"):
                    self.check()

    def check(self) -> None:
        now = time.monotonic()
        timeout_s = self._timeout_s
        with _lock:
            states = list(_active.values())
        for state in states:
            if state.ended or state.stalled or now - state.last_event_at <= timeout_s:
                continue
            state.went_silent()


_WATCHDOG = _Watchdog()


def check_now() -> None:
    """One check for silent streams, now (what the watchdog thread does periodically)."""
    _WATCHDOG.check()


def stop() -> None:
    _WATCHDOG.stop()


def _reset_after_fork() -> None:
    """In a forked child: the parent's open streams are the parent's to end, and a lock another
    thread held at fork time would stay held forever."""
    global _lock, _collected
    _lock = threading.Lock()
    for state in list(_active.values()):
        state.claim_silently()
    _active.clear()
    _by_span.clear()
    _collected = queue.SimpleQueue()
    _WATCHDOG.reset_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)
