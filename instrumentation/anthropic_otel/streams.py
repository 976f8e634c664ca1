"""The stream state machine and its idle watchdog: every stream ends exactly once, with one reason.

A `StreamState` is made when a streamed call returns; hooks feed it events and endings, and its
`end()` runs once, whichever path gets there first (message_stop, an error event, a dropped or
timed-out read, a clean close before message_stop, the caller's close or task cancellation, or
the garbage collector / interpreter exit for a stream dropped unclosed). An end found by the
garbage collector is recorded later, by the watchdog thread: a collection can run inside the
metrics SDK's own locks, and recording from there would deadlock. One daemon thread
watches every open stream for silence longer than `ANTHROPIC_OTEL_STREAM_IDLE_TIMEOUT_S`: it
counts them in `anthropic.streams.stalled` while they hang and, only when enforcement is on,
closes their response so the caller's loop ends (reason `timeout`). Partial output stays in
memory for `partial_text()` and is never exported unless content capture is on.
"""

from __future__ import annotations

import atexit
import json
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable

from . import semconv
from ._call import CallRecord
from ._guard import guard
from .record.end_reasons import outcome_error_type
from .record.usage import StreamUsage

# Where a stream's state rides along: an attribute on the HTTP response the stream reads.
RESPONSE_ATTR = "_anthropic_otel_stream"
# Bounds: open streams watched at once, and text deltas kept per stream for partial_text().
MAX_WATCHED_STREAMS = 100_000
MAX_KEPT_DELTAS = 1_000_000

_lock = threading.Lock()
_active: dict[int, StreamState] = {}
_by_span: dict[int, StreamState] = {}
# Ends found by the garbage collector, waiting for the watchdog thread to record them.
_collected_ends: deque[StreamState] = deque()


class StreamState:
    __slots__ = (
        "record",
        "usage",
        "stopped",
        "events",
        "deltas",
        "delta_data",
        "last_event_at",
        "stalled",
        "enforced",
        "ended",
        "end_reason",
        "closer",
        "finalizer",
        "__weakref__",
    )

    def __init__(self, record: CallRecord, closer: Callable[[], None] | None) -> None:
        self.record = record
        self.usage = StreamUsage()
        self.stopped = False
        self.events = 0
        self.deltas = 0
        # Raw `data:` text of content deltas, decoded only if partial_text() is asked for.
        self.delta_data: list[str] = []
        self.last_event_at = time.monotonic()
        self.stalled = False
        self.enforced = False
        self.ended = False
        self.end_reason: str | None = None
        self.closer = closer
        self.finalizer: weakref.finalize[..., Any] | None = None
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
    def end(
        self,
        reason: str,
        error: BaseException | None = None,
        error_type: str | None = None,
        *,
        collected: bool = False,
    ) -> None:
        """End once. `collected`: called from garbage collection, where only the span is touched now."""
        with _lock:
            if self.ended:
                return
            self.ended = True
            _active.pop(id(self), None)
            span = self.record.span
            if span is not None:
                _by_span.pop(id(span), None)
        self.end_reason = reason
        finalizer = self.finalizer
        if finalizer is not None:
            finalizer.detach()
        if collected:
            # The SDK ends its span right after this: annotate it now, record metrics from the watchdog.
            with guard("stream.end.span"):
                self._annotate_span(reason)
            _collected_ends.append(self)
            return
        self._record_and_finish(reason, error, error_type)

    def _record_and_finish(self, reason: str, error: BaseException | None, error_type: str | None) -> None:
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
        self._annotate_span(reason)
        if record.output_text is not None and not record.output_text:
            record.output_text.extend(self.text_so_far())

    def _annotate_span(self, reason: str) -> None:
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
        for raw in self.delta_data:
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
    with _lock:
        return _by_span.get(id(span))


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
    state = ref()
    if state is not None and not state.ended:
        with guard("stream.abandoned"):
            state.end(semconv.END_ABANDONED, collected=True)


def record_collected_ends() -> None:
    """Record the ends the garbage collector found (watchdog thread, uninstrument, exit)."""
    while _collected_ends:
        try:
            state = _collected_ends.popleft()
        except IndexError:  # another thread took the last one
            return
        with guard("stream.collected_end"):
            state._record_and_finish(semconv.END_ABANDONED, None, None)


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
    Returns "" for a stream the instrumentation did not see.
    """
    for candidate in (stream, getattr(stream, "_raw_stream", None)):
        response = getattr(candidate, "response", None) or getattr(candidate, "http_response", None)
        state = getattr(response, RESPONSE_ATTR, None)
        if isinstance(state, StreamState):
            return "".join(state.text_so_far())
    return ""


class _Watchdog:
    """One daemon thread for every open stream (sync and async): no thread or task per stream."""

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
            thread.join(timeout=2)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(min(max(self._timeout_s / 4, 0.02), 1.0)):
            record_collected_ends()
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
