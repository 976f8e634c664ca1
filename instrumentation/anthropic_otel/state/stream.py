"""The stream state machine and its idle watchdog: every stream ends exactly once, with one reason.

A `StreamState` is made when a streamed call returns; hooks feed it events and endings, and its
end runs once, whichever path gets there first (message_stop, an error event, a dropped or
timed-out read, a clean close before message_stop, the caller's close or task cancellation, or
the garbage collector / interpreter exit for a stream dropped unclosed).

Ends found by the garbage collector (a finaliser, a weakref callback, a generator closed by the
collector, the SDK's `__del__`) run at any allocation point of any thread, possibly while that
thread holds one of our locks, the OTel SDK's, or is inside `ContextVar.set`. There the state only
claims its end (a lock-free run-once counter) and is put on a `queue.SimpleQueue` (documented as
safe there); no lock, no context, no metric. One daemon thread records those ends a moment later
and also watches every open stream for silence longer than `ANTHROPIC_OTEL_STREAM_IDLE_TIMEOUT_S`:
it counts them in `anthropic.streams.stalled` while they hang and, only when enforcement is on,
closes their response so the caller's loop ends (reason `timeout`). Partial output is kept
compactly, bounded per stream, for `partial_text()`, and is never exported unless content capture
is on.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import queue
import threading
import time
import weakref
from typing import Any, Callable

from .. import semconv
from .._guard import guard, report
from ..extract.end_reasons import outcome_error_type
from ..extract.usage import StreamUsage
from .call import CallRecord

# Where a stream's state rides along: an attribute on the HTTP response the stream reads.
RESPONSE_ATTR = "_anthropic_otel_stream"
# Open streams watched at once.
MAX_WATCHED_STREAMS = 100_000
# Raw text-delta events kept per stream for partial_text(), in characters of their JSON: 4 MiB
# holds a maximal output (128k tokens are about 25k text deltas of about 100 characters each).
MAX_KEPT_CHARS = 4 * 1024 * 1024
# Deltas kept as separate strings before they are joined into one (one object per block, not per delta).
KEPT_BLOCK = 256
_SEPARATOR = "\n"  # never inside one event's JSON: a raw newline cannot appear in a JSON string

# Guards `_active`/`_by_span` writes and the watchdog's snapshot. Never taken at collection time.
_lock = threading.Lock()
_active: dict[int, StreamState] = {}
# Read without the lock, from the SDK's span ender at collection time (one dict lookup is atomic).
_by_span: dict[int, StreamState] = {}
# Ends claimed at collection time (StreamState), and failures met there ((site, exception)).
_collected: queue.SimpleQueue[Any] = queue.SimpleQueue()


class StreamState:
    __slots__ = (
        "record",
        "usage",
        "stopped",
        "events",
        "deltas",
        "kept",
        "kept_blocks",
        "kept_chars",
        "last_event_at",
        "stalled",
        "enforced",
        "ended",
        "collected",
        "collected_error_type",
        "end_reason",
        "closer",
        "finalizer",
        "_claims",
        "__weakref__",
    )

    def __init__(self, record: CallRecord, closer: Callable[[], None] | None) -> None:
        self.record = record
        self.usage = StreamUsage()
        self.stopped = False
        self.events = 0
        self.deltas = 0
        # Raw `data:` JSON of text deltas, decoded only if partial_text() is asked for. None once
        # MAX_KEPT_CHARS are kept: later deltas are counted, not kept.
        self.kept: list[str] | None = []
        self.kept_blocks: list[str] = []
        self.kept_chars = 0
        self.last_event_at = time.monotonic()
        self.stalled = False
        self.enforced = False
        self.ended = False
        # Ended at collection time and queued: the watchdog records it.
        self.collected = False
        self.collected_error_type: str | None = None
        self.end_reason: str | None = None
        self.closer = closer
        self.finalizer: weakref.finalize[..., Any] | None = None
        # `next()` on it is atomic under the GIL and takes no lock: the first caller owns the end.
        self._claims = itertools.count()
        inst = record.runtime.instruments
        inst.streams_active.add(1, inst.attrs(("m", record.model), lambda: _model_attrs(record.model)))
        with _lock:
            if len(_active) < MAX_WATCHED_STREAMS:
                _active[id(self)] = self
            span = record.span
            if span is not None and not record.owns_span:
                _by_span[id(span)] = self
        _WATCHDOG.ensure_running(record.runtime.settings.stream_idle_timeout_s)

    # -- events --------------------------------------------------------------------------------
    def usage_event(self, data: dict[str, Any]) -> None:
        self.usage.feed(data)
        self.record.usage = self.usage.usage

    def compact_kept(self) -> None:
        """Join the deltas kept so far into one string; stop keeping past MAX_KEPT_CHARS."""
        kept = self.kept
        if not kept:
            return
        block = _SEPARATOR.join(kept)
        kept.clear()
        self.kept_blocks.append(block)
        self.kept_chars += len(block)
        if self.kept_chars >= MAX_KEPT_CHARS:
            self.kept = None

    def unstall(self) -> None:
        with _lock:
            if not self.stalled:
                return
            self.stalled = False
        inst = self.record.runtime.instruments
        model = self.record.model
        inst.streams_stalled.add(-1, inst.attrs(("m", model), lambda: _model_attrs(model)))

    def mark_stalled(self) -> bool:
        """Count this stream as stalled; False when it already ended or was already counted."""
        with _lock:
            if self.ended or self.stalled:
                return False
            self.stalled = True
        inst = self.record.runtime.instruments
        model = self.record.model
        inst.streams_stalled.add(1, inst.attrs(("m", model), lambda: _model_attrs(model)))
        return True

    def enforce_timeout(self) -> None:
        """Idle enforcement: end with `timeout`, then close the response so the caller's read ends."""
        self.enforced = True
        self.end(semconv.END_TIMEOUT)
        closer = self.closer
        if closer is not None:
            closer()

    # -- the one end ---------------------------------------------------------------------------
    def _claim(self, reason: str) -> bool:
        if next(self._claims):
            return False
        self.ended = True
        self.end_reason = reason
        return True

    def end(self, reason: str, error: BaseException | None = None, error_type: str | None = None) -> None:
        """End once, from the app's or our own thread: record now. Later calls do nothing."""
        if self._claim(reason):
            self._record_and_finish(reason, error, error_type)

    def end_at_collection(self, reason: str = semconv.END_ABANDONED, error_type: str | None = None) -> None:
        """End once, from garbage collection: claim and queue only; the watchdog records it."""
        if self._claim(reason):
            self.collected_error_type = error_type
            self.collected = True
            _collected.put(self)

    def _forget(self) -> None:
        with _lock:
            _active.pop(id(self), None)
            span = self.record.span
            if span is not None:
                _by_span.pop(id(span), None)
        finalizer = self.finalizer
        if finalizer is not None:
            finalizer.detach()

    def _record_and_finish(self, reason: str, error: BaseException | None, error_type: str | None) -> None:
        with guard("stream.end.forget"):
            self._forget()
        with guard("stream.end.record"):
            self._record_end(reason)
        outcome = outcome_error_type(reason, error, error_type)
        self.record.incomplete = reason != semconv.END_COMPLETE
        self.record.finish(error=error if outcome is not None else None, error_type=outcome)

    def _record_end(self, reason: str) -> None:
        record = self.record
        usage = self.usage
        record.usage = usage.usage
        record.response_model = usage.model
        record.stop_reason = usage.stop_reason
        inst = record.runtime.instruments
        model = record.model
        self.unstall()
        inst.streams_active.add(-1, inst.attrs(("m", model), lambda: _model_attrs(model)))
        inst.streams.add(
            1,
            inst.attrs(
                ("end", model, reason),
                lambda: {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ANTHROPIC_STREAM_END_REASON: reason},
            ),
        )
        self.annotate_span(reason)
        if record.output_text is not None and not record.output_text:
            record.output_text.extend(self.text_so_far())

    def annotate_span(self, reason: str) -> None:
        span = self.record.span
        if span is not None and span.is_recording():
            span.set_attribute(semconv.ANTHROPIC_STREAM_END_REASON, reason)
            span.set_attribute(semconv.ANTHROPIC_STREAM_EVENTS, self.events)
            if reason != semconv.END_COMPLETE:
                span.set_attribute(
                    semconv.ANTHROPIC_STREAM_PARTIAL_OUTPUT_TOKENS, self.partial_output_tokens()
                )

    def partial_output_tokens(self) -> int:
        """Lower bound of output tokens delivered: the larger of the last usage seen and the deltas."""
        seen = self.usage.usage
        return max(seen.output if seen is not None else 0, self.deltas)

    def text_so_far(self) -> list[str]:
        parts: list[str] = []
        pending = _SEPARATOR.join(self.kept or ())
        for block in (*self.kept_blocks, pending):
            for raw in block.split(_SEPARATOR) if block else ():
                try:
                    delta = json.loads(raw).get("delta") or {}
                except ValueError:
                    continue
                if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                    parts.append(delta["text"])
        return parts


def _model_attrs(model: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model}


def state_for_span(span: Any) -> StreamState | None:
    """The open stream whose span this is. Lock-free: called at collection time."""
    return _by_span.get(id(span))


def report_at_collection(site: str, err: BaseException) -> None:
    """A failure met at collection time: queued, logged and counted later by the watchdog."""
    _collected.put((site, err))


def watch_collection(state: StreamState, owner: Any) -> None:
    """End `state` as `abandoned` when `owner` (the stream object) is collected, or at exit.

    Called again when another object takes over reading the same response (older SDKs, 0.40 among
    them, build a second `Stream` inside `MessageStream` and drop the first): the newest owner is the one watched.
    """
    previous = state.finalizer
    if previous is not None:
        previous.detach()
    try:
        state.finalizer = weakref.finalize(owner, _abandon, weakref.ref(state))
    except TypeError:  # an object that cannot be weakly referenced: exit and uninstrument still end it
        state.finalizer = None


def _abandon(ref: weakref.ref[StreamState]) -> None:
    # A finaliser: runs at collection time (see the module docstring). No guard: it logs and locks.
    try:
        state = ref()
        if state is not None:
            state.end_at_collection()
    except Exception as err:
        report_at_collection("stream.abandoned", err)


def _record_collected(item: Any) -> None:
    if isinstance(item, StreamState):
        with guard("stream.collected_end"):
            item._record_and_finish(item.end_reason or semconv.END_ABANDONED, None, item.collected_error_type)
    elif isinstance(item, tuple):
        report(*item)


def record_collected_ends() -> None:
    """Record the ends the garbage collector found (watchdog thread, uninstrument, exit)."""
    while True:
        try:
            item = _collected.get_nowait()
        except queue.Empty:
            return
        _record_collected(item)


def end_all_open(reason: str = semconv.END_ABANDONED) -> None:
    """At uninstrument and exit (so before provider shutdown): no stream span is left open."""
    record_collected_ends()
    with _lock:
        states = list(_active.values())
    for state in states:
        with guard("stream.end_all"):
            state.end(reason)


_exit_hook_registered = False


def register_exit_hook() -> None:
    """End open streams at interpreter exit. Registered at instrument(), after the providers exist,
    so it runs before their own exit-time shutdown (atexit runs in reverse order)."""
    global _exit_hook_registered
    if not _exit_hook_registered:
        _exit_hook_registered = True
        atexit.register(end_all_open)


def partial_text(stream: Any) -> str:
    """The text a wrapped stream has delivered so far, whatever its end (complete, dropped, hung).

    Accepts what the SDK returned: `Stream`/`AsyncStream` from `messages.create(stream=True)`,
    `MessageStream`/`AsyncMessageStream` from `messages.stream(...)`, or the raw response wrapper.
    Returns "" for a stream the instrumentation did not see. At most the text of the first
    `MAX_KEPT_CHARS` characters of text-delta events is kept per stream.
    """
    for candidate in (stream, getattr(stream, "_raw_stream", None)):
        response = getattr(candidate, "response", None) or getattr(candidate, "http_response", None)
        state = getattr(response, RESPONSE_ATTR, None)
        if isinstance(state, StreamState):
            return "".join(state.text_so_far())
    return ""


class _Watchdog:
    """One daemon thread for every open stream (sync and async): no thread or task per stream.

    It waits on the collected-ends queue, so an end found by the collector is recorded as soon as
    it is queued, and checks for silent streams every quarter of the idle threshold (at most 1 s).
    """

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
            if state.mark_stalled() and state.record.runtime.settings.stream_idle_enforce:
                state.enforce_timeout()


_WATCHDOG = _Watchdog()


def stop_watchdog() -> None:
    _WATCHDOG.stop()


def _reset_after_fork() -> None:
    """In a forked child: the parent's open streams are the parent's to end, and a lock another
    thread held at fork time would stay held forever."""
    global _lock, _collected
    _lock = threading.Lock()
    for state in list(_active.values()):
        state._claim(semconv.END_ABANDONED)  # claimed, never recorded: no end is the child's to report
    _active.clear()
    _by_span.clear()
    _collected = queue.SimpleQueue()
    _WATCHDOG.reset_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)
