"""One stream while it runs: what each server-sent event means, and its one end.

A `StreamState` is opened when a streamed call returns. Hooks hand it each event (`see`) and each
way the reading stops (`read_failed`, `body_ended`, `generator_closed`, `caller_closed`,
`sdk_ended`); the watchdog hands it silence (`idle`) and the garbage collector a drop (`dropped`).
Each of those is one signal for the one classifier (`extract.end_reasons.end_reason`), and the
stream ends once, with that one reason, whichever signal comes first.

Ends met at garbage-collection time (a finaliser, a generator closed by the collector, the SDK's
`__del__`) run at any allocation point of any thread, possibly while it holds one of our locks,
the OTel SDK's, or is inside `ContextVar.set`: there the state only claims its end (a lock-free
run-once counter) and is queued for the watchdog (`state.watchdog`), which records it a moment
later. Partial output is kept compactly, bounded per stream, for `partial_text()`, and is never
exported unless content capture is on.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable

from .. import semconv
from .._guard import guard
from ..extract.cache_diagnosis import event_cache_miss_reason
from ..extract.end_reasons import EndSignal, end_reason, outcome_error_type
from ..extract.errors import api_error_type
from ..extract.usage import StreamUsage
from . import hops, watchdog
from .closing import closer
from .watchdog import report_at_collection

if TYPE_CHECKING:
    from ..semconv import EndReason
    from .call import CallState

# Where a stream's state rides along: an attribute on the HTTP response the stream reads.
RESPONSE_ATTR = "_anthropic_otel_stream"
# Raw text-delta events kept per stream for partial_text(), in characters of their JSON: 4 MiB
# holds a maximal output (128k tokens are about 25k text deltas of about 100 characters each).
MAX_KEPT_CHARS = 4 * 1024 * 1024
# Deltas kept as separate strings before they are joined into one (one object per block, not per delta).
KEPT_BLOCK = 256
_SEPARATOR = "\n"  # never inside one event's JSON: a raw newline cannot appear in a JSON string
_USAGE_EVENTS = frozenset({"message_start", "message_delta"})
_monotonic = time.monotonic


def open_stream(call: CallState, result: Any, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """A streamed call returned `result` (`Stream`, `MessageStream`, or the raw response wrapper):
    the stream starts. Its state rides on the HTTP response, and ends as abandoned when `result` is
    dropped unclosed. `loop`: the event loop an async stream is read on (the watchdog closes it there)."""
    response = getattr(result, "response", None) or getattr(result, "http_response", None)
    if response is None:
        call.finish()
        return
    state = StreamState(call, closer(response, loop))
    setattr(response, RESPONSE_ATTR, state)
    state.watch_collection(result)


def state_of(stream: Any) -> StreamState | None:
    """The open state of an SDK stream object (`Stream`/`AsyncStream`), if it has one."""
    state = getattr(getattr(stream, "response", None), RESPONSE_ATTR, None)
    if isinstance(state, StreamState) and not state.ended:
        return state
    return None


class StreamState:
    __slots__ = (
        "call",
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

    def __init__(self, call: CallState, closer: Callable[[], None] | None) -> None:
        self.call = call
        self.usage = StreamUsage()
        self.stopped = False
        self.events = 0
        self.deltas = 0
        # Raw `data:` JSON of text deltas, decoded only if partial_text() is asked for. None once
        # MAX_KEPT_CHARS are kept: later deltas are counted, not kept.
        self.kept: list[str] | None = []
        self.kept_blocks: list[str] = []
        self.kept_chars = 0
        self.last_event_at = _monotonic()
        self.stalled = False
        self.enforced = False
        self.ended = False
        # Ended at collection time and queued: the watchdog records it.
        self.collected = False
        self.collected_error_type: str | None = None
        self.end_reason: EndReason | None = None
        self.closer = closer
        self.finalizer: weakref.finalize[..., Any] | None = None
        # `next()` on it is atomic under the GIL and takes no lock: the first caller owns the end.
        self._claims = itertools.count()
        call.runtime.recorder.stream_opened(call.model)
        watchdog.watch(
            self, call.span if not call.owns_span else None, call.runtime.settings.stream_idle_timeout_s
        )

    # -- each event (the hot path) ----------------------------------------------------------------
    def see(self, sse: Any) -> None:
        """One server-sent event, sync and async alike: counters and a clock; content deltas are
        kept, not parsed; the handful of other events are read."""
        self.events += 1
        self.last_event_at = _monotonic()
        if self.stalled:
            with guard("stream.unstall"):
                self.unstall()
        if sse.event == "content_block_delta":
            self.deltas += 1
            kept = self.kept
            if kept is not None:
                data = sse.data
                if '"text_delta"' in data:
                    kept.append(data)
                    if len(kept) >= KEPT_BLOCK:
                        with guard("stream.keep_text"):
                            self.compact_kept()
            if self.deltas == 1:
                with guard("stream.first_delta"):
                    self._first_delta()
        elif not self.ended:
            with guard("stream.event"):
                self._event(sse)

    def _first_delta(self) -> None:
        call = self.call
        if call.first_chunk_at is None:
            call.first_chunk_at = time.perf_counter()

    def _event(self, sse: Any) -> None:
        """Every event that is not a content delta: at most a handful per stream."""
        name = sse.event
        if name in _USAGE_EVENTS:
            if not sse.data:
                return  # nothing to read (newer SDKs skip such an event too)
            try:
                data = sse.json()
            except ValueError:
                # Not JSON: the SDK parses this same event next and raises to the caller. The server's
                # fault, not ours: the stream ends here, as an error of its own kind.
                self.end("malformed_event", error_type=semconv.ERROR_MALFORMED_RESPONSE)
                return
            self.usage.feed(data)
            self.call.usage = self.usage.usage
            reason = event_cache_miss_reason(data)
            if reason is not None:
                self.call.cache_miss_reason = reason
        elif name == "message_stop":
            self.stopped = True
            # The SDK ends its span only after this event: finish while it is still open.
            self.end("message_stop")
        elif name == "error":
            self.end("error_event", error_type=_error_event_type(sse))
        elif name == "content_block_start" and '"fallback"' in sse.data:
            # A fallback hop (server side, or spliced in by the SDK's refusal middleware): rare.
            try:
                data = sse.json()
            except ValueError:
                return  # not JSON: the SDK raises on this same event next
            if isinstance(data, dict):
                hops.stream_block(self.call, data.get("content_block"))

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

    # -- how the reading stops (each hands one signal to the classifier) ---------------------------
    def read_failed(self, err: BaseException) -> None:
        if not self.ended:
            with guard("stream.end"):
                self.end("read_failed", error=err)

    def body_ended(self) -> None:
        # The body ended; before message_stop the SDK raises nothing, only we can tell.
        if not self.ended:
            with guard("stream.end"):
                self.end("body_ended")

    def generator_closed(self, last: Any) -> None:
        """The event generator is closed unfinished: by the garbage collector, at loop shutdown, or
        because the SDK raised on the event we yielded last (it failed to parse it: the app got that
        exception). Collection time: no guard (it locks and logs), only the lock-free claim and queue."""
        if self.ended:
            return
        try:
            if last is not None and last.data and not _parses(last.data):
                self.end_at_collection("malformed_event", semconv.ERROR_MALFORMED_RESPONSE)
                return
            self.end_at_collection("dropped")
        except Exception as err:
            report_at_collection("stream.generator_exit", err)

    def caller_closed(self) -> None:
        self.end("caller_closed")

    def sdk_ended(self, how: Any, error: Any) -> None:
        """SDK >= 1.14 is about to end its span of this stream (`FirstEnd.end(how, error)`).

        `how == "closed"` with the state still open comes from the SDK's `__del__` of a dropped body
        (collection time, any thread), or from a cancelled task closing its response: there the end
        is only claimed and queued, and the span annotated: the SDK ends it right after, in this same
        call, under the span's own lock, so annotating adds no lock the SDK does not take. Every
        other end comes from the reading thread.
        """
        if self.ended:
            if self.collected and self.end_reason is not None:
                # Ended by the collector a moment ago (its generator closed first): the span ends now.
                self.annotate_span(self.end_reason)
            return
        if how == "closed":
            if self.end_at_collection("sdk_closed") and self.end_reason is not None:
                self.annotate_span(self.end_reason)
            return
        with guard("stream.sdk_end"):
            # After enforcement the error is the watchdog's own doing: the end is `timeout`, plain.
            failed = isinstance(error, BaseException) and not self.enforced
            self.end("sdk_ended", error=error if failed else None)

    def went_silent(self) -> None:
        """The watchdog found no event for longer than the idle threshold: a stall, counted while it
        lasts, and with enforcement on, the end."""
        if self.mark_stalled() and self.call.runtime.settings.stream_idle_enforce:
            self.idle()

    def idle(self) -> None:
        """The watchdog found the stream silent too long and enforcement is on: end with `timeout`,
        then close the response so the caller's read ends."""
        self.enforced = True
        self.end("idle")
        closer = self.closer
        if closer is not None:
            closer()

    def dropped(self) -> None:
        """At uninstrument and exit: nobody read the stream to its end."""
        self.end("dropped")

    # -- stalls -----------------------------------------------------------------------------------
    def mark_stalled(self) -> bool:
        """Count this stream as stalled; False when it already ended or was already counted."""
        with watchdog.lock():
            if self.ended or self.stalled:
                return False
            self.stalled = True
        self.call.runtime.recorder.stream_stalled(self.call.model)
        return True

    def unstall(self) -> None:
        with watchdog.lock():
            if not self.stalled:
                return
            self.stalled = False
        self.call.runtime.recorder.stream_resumed(self.call.model)

    # -- the one end ------------------------------------------------------------------------------
    def _claim(self, signal: EndSignal, error: BaseException | None) -> bool:
        """Claim the end for `signal`: lock-free, so safe at collection time. The one place a
        reason is decided."""
        if next(self._claims):
            return False
        self.ended = True
        self.end_reason = end_reason(
            signal,
            error,
            enforced=self.enforced,
            stopped=self.stopped,
            cancelling=signal == "sdk_closed" and _current_task_cancelling(),
        )
        return True

    def end(
        self, signal: EndSignal, error: BaseException | None = None, error_type: str | None = None
    ) -> None:
        """End once, from the app's or our own thread: record now. Later calls do nothing."""
        if self._claim(signal, error):
            self.record_end(error, error_type)

    def end_at_collection(self, signal: EndSignal, error_type: str | None = None) -> bool:
        """End once, from garbage collection: claim and queue only; the watchdog records it."""
        if not self._claim(signal, None):
            return False
        self.collected_error_type = error_type
        self.collected = True
        watchdog.queue_collected(self)
        return True

    def claim_silently(self) -> None:
        """In a forked child: the parent's stream is the parent's to end; never recorded here."""
        self._claim("dropped", None)

    def record_end(self, error: BaseException | None, error_type: str | None) -> None:
        """Record a claimed end and finish the call (the watchdog calls it for collected ends)."""
        reason = self.end_reason or semconv.END_ABANDONED
        if self.collected:
            error_type = self.collected_error_type
        with guard("stream.end.forget"):
            self._forget()
        with guard("stream.end.record"):
            self._record_end(reason)
        outcome = outcome_error_type(reason, error, error_type)
        call = self.call
        call.incomplete = reason != semconv.END_COMPLETE
        call.finish(error=error if outcome is not None else None, error_type=outcome)

    def _forget(self) -> None:
        watchdog.forget(self, self.call.span)
        finalizer = self.finalizer
        if finalizer is not None:
            finalizer.detach()

    def _record_end(self, reason: EndReason) -> None:
        call = self.call
        usage = self.usage
        call.usage = usage.usage
        call.response_model = usage.model
        call.stop_reason = usage.stop_reason
        self.unstall()
        call.runtime.recorder.stream_ended(call.model, reason)
        self.annotate_span(reason)
        if call.output_text is not None and not call.output_text:
            call.output_text.extend(self.text_so_far())

    def annotate_span(self, reason: EndReason) -> None:
        span = self.call.span
        if span is not None and span.is_recording():
            span.set_attribute(semconv.ANTHROPIC_STREAM_END_REASON, reason)
            span.set_attribute(semconv.ANTHROPIC_STREAM_EVENTS, self.events)
            if reason != semconv.END_COMPLETE:
                span.set_attribute(
                    semconv.ANTHROPIC_STREAM_PARTIAL_OUTPUT_TOKENS, self.partial_output_tokens()
                )

    # -- what was delivered ----------------------------------------------------------------------
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

    # -- collection -------------------------------------------------------------------------------
    def watch_collection(self, owner: Any) -> None:
        """End as `abandoned` when `owner` (the stream object) is collected, or at exit.

        Called again when another object takes over reading the same response (older SDKs, 0.40 among
        them, build a second `Stream` inside `MessageStream` and drop the first): the newest owner is
        the one watched.
        """
        previous = self.finalizer
        if previous is not None:
            previous.detach()
        try:
            self.finalizer = weakref.finalize(owner, _abandon, weakref.ref(self))
        except TypeError:  # an object that cannot be weakly referenced: exit and uninstrument still end it
            self.finalizer = None


def _abandon(ref: weakref.ref[StreamState]) -> None:
    # A finaliser: runs at collection time (see the module docstring). No guard: it logs and locks.
    try:
        state = ref()
        if state is not None:
            state.end_at_collection("dropped")
    except Exception as err:
        report_at_collection("stream.abandoned", err)


def _error_event_type(sse: Any) -> str:
    try:
        body = sse.json()
    except ValueError:
        return semconv.ERROR_MALFORMED_RESPONSE  # an error, but which one the server did not say readably
    except Exception:
        return "api_error"
    return api_error_type(body) or "api_error"


def _parses(data: Any) -> bool:
    try:
        json.loads(data)
    except (TypeError, ValueError):
        return False
    return True


def _current_task_cancelling() -> bool:
    """A task being cancelled closes its response on the way out, before the CancelledError reaches us."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running event loop: a sync stream
        return False
    cancelling = getattr(task, "cancelling", None)  # Python >= 3.11
    return bool(cancelling()) if cancelling is not None else False


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
