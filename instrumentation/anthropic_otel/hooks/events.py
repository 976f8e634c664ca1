"""Stream hooks for every SDK generation: see each server-sent event, and every way a stream ends.

- `Stream._iter_events` (and the async twin) yields each decoded event to the SDK's `__stream__`
  on every version from 0.40 on: wrapping it sees `message_start`, `message_delta`,
  `message_stop` and `error` before the SDK acts on them, and sees reads that fail or stop early.
  Per event the work is reading the event name and a clock; JSON is parsed again only for the
  two events that carry usage.
- `Stream.close`, `MessageStream.close` (and async): the caller closed the stream before its end:
  `cancelled`. Older SDKs' `MessageStream.close` closes the response without `Stream.close`.
- `Stream.__init__`: a second `Stream` over the same response (older SDKs' `MessageStream`).
- `FirstEnd.end` (SDK >= 1.14): the SDK is about to end its own span for this stream; the state
  ends first so its attributes land on that span while it is still open.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable

from .. import semconv
from .._guard import guard
from ..extract.end_reasons import reason_for_exception
from ..extract.errors import api_error_type
from ..state.stream import (
    KEPT_BLOCK,
    RESPONSE_ATTR,
    StreamState,
    report_at_collection,
    state_for_span,
    watch_collection,
)

_USAGE_EVENTS = frozenset({"message_start", "message_delta"})
_monotonic = time.monotonic


def _on_event(state: StreamState, sse: Any) -> None:
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
            state.end(semconv.END_ERROR, error_type=semconv.ERROR_MALFORMED_RESPONSE)
            return
        state.usage_event(data)
    elif name == "message_stop":
        state.stopped = True
        # The SDK ends its span only after this event: finish while it is still open.
        state.end(semconv.END_COMPLETE)
    elif name == "error":
        state.end(semconv.END_ERROR, error_type=_error_event_type(sse))


def _on_first_delta(state: StreamState) -> None:
    record = state.record
    if record.first_chunk_at is None:
        record.first_chunk_at = time.perf_counter()


def _error_event_type(sse: Any) -> str:
    try:
        body = sse.json()
    except ValueError:
        return semconv.ERROR_MALFORMED_RESPONSE  # an error, but which one the server did not say readably
    except Exception:
        return "api_error"
    return api_error_type(body) or "api_error"


def _on_stop_iteration(state: StreamState) -> None:
    # The body ended cleanly without message_stop: the SDK raises nothing, only we can tell.
    state.end(semconv.END_UNEXPECTED_CLOSE)


def _on_exception(state: StreamState, err: BaseException) -> None:
    state.end(semconv.END_TIMEOUT if state.enforced else reason_for_exception(err), error=err)


def _on_generator_exit(state: StreamState, last: Any) -> None:
    # The generator is being closed unfinished: by the garbage collector, at loop shutdown, or
    # because the SDK raised on the event we yielded last (it failed to parse it: the app got that
    # exception). Collection time: no guard (it locks and logs), only the lock-free claim and queue.
    try:
        if last is not None and last.data and not _parses(last.data):
            state.end_at_collection(semconv.END_ERROR, semconv.ERROR_MALFORMED_RESPONSE)
            return
        state.end_at_collection()
    except Exception as err:
        report_at_collection("stream.generator_exit", err)


def _parses(data: Any) -> bool:
    try:
        json.loads(data)
    except (TypeError, ValueError):
        return False
    return True


def _see(state: StreamState, sse: Any) -> None:
    """Per event, sync and async alike: counters and a clock; content deltas are kept, not parsed."""
    state.events += 1
    state.last_event_at = _monotonic()
    if state.stalled:
        with guard("stream.unstall"):
            state.unstall()
    if sse.event == "content_block_delta":
        state.deltas += 1
        kept = state.kept
        if kept is not None:
            data = sse.data
            if '"text_delta"' in data:
                kept.append(data)
                if len(kept) >= KEPT_BLOCK:
                    with guard("stream.keep_text"):
                        state.compact_kept()
        if state.deltas == 1:
            with guard("stream.first_delta"):
                _on_first_delta(state)
    elif not state.ended:
        with guard("stream.event"):
            _on_event(state, sse)


def _observe(state: StreamState, events: Iterator[Any]) -> Iterator[Any]:
    sse = None
    try:
        for sse in events:
            _see(state, sse)
            yield sse
    except GeneratorExit:
        if not state.ended:
            _on_generator_exit(state, sse)
        raise
    except BaseException as err:
        if not state.ended:
            with guard("stream.end"):
                _on_exception(state, err)
        raise
    if not state.ended:
        with guard("stream.end"):
            _on_stop_iteration(state)


async def _observe_async(state: StreamState, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
    sse = None
    try:
        async for sse in events:
            _see(state, sse)
            yield sse
    except GeneratorExit:
        if not state.ended:
            _on_generator_exit(state, sse)
        raise
    except BaseException as err:
        if not state.ended:
            with guard("stream.end"):
                _on_exception(state, err)
        raise
    if not state.ended:
        with guard("stream.end"):
            _on_stop_iteration(state)


def _state_of(stream: Any) -> StreamState | None:
    state = getattr(getattr(stream, "response", None), RESPONSE_ATTR, None)
    if isinstance(state, StreamState) and not state.ended:
        return state
    return None


def iter_events_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    events = wrapped(*args, **kwargs)
    state = None
    with guard("stream.start"):
        state = _state_of(instance)
    if state is None:
        return events
    return _observe(state, events)


def aiter_events_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    events = wrapped(*args, **kwargs)
    state = None
    with guard("stream.start"):
        state = _state_of(instance)
    if state is None:
        return events
    return _observe_async(state, events)


def init_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """A `Stream` built over a response that already has a state takes over reading it (older SDKs'
    `MessageStream` does this and drops the first one): watch the new owner for collection."""
    result = wrapped(*args, **kwargs)
    with guard("stream.init"):
        state = _state_of(instance)
        if state is not None:
            watch_collection(state, instance)
    return result


def close_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    with guard("stream.close"):
        state = _state_of(instance)
        if state is not None:
            state.end(semconv.END_CANCELLED)
    return wrapped(*args, **kwargs)


async def aclose_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    with guard("stream.close"):
        state = _state_of(instance)
        if state is not None:
            state.end(semconv.END_CANCELLED)
    return await wrapped(*args, **kwargs)


def _current_task_cancelling() -> bool:
    """A task being cancelled closes its response on the way out, before the CancelledError reaches us."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running event loop: a sync stream
        return False
    cancelling = getattr(task, "cancelling", None)  # Python >= 3.11
    return bool(cancelling()) if cancelling is not None else False


def first_end_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """SDK >= 1.14: `FirstEnd.end(how, error)` is about to end the SDK's span of a stream.

    `how == "closed"` with the state still open comes from the SDK's `__del__` of a dropped body
    (collection time, any thread, see `streams`), or from a cancelled task closing its response:
    there the end is only claimed and queued, and the span annotated: the SDK ends it right after,
    in this same call, under the span's own lock, so annotating adds no lock the SDK does not take.
    Every other end comes from the reading thread.
    """
    try:
        _see_sdk_end(instance, args, kwargs)
    except Exception as err:
        report_at_collection("stream.sdk_end", err)
    return wrapped(*args, **kwargs)


def _see_sdk_end(instance: Any, args: tuple[Any, ...], kwargs: Any) -> None:
    span = getattr(getattr(instance, "inner", None), "_span", None)
    state = state_for_span(span) if span is not None else None
    if state is None:
        return
    if state.ended:
        if state.collected and state.end_reason is not None:
            # Ended by the collector a moment ago (its generator closed first): the span ends now.
            state.annotate_span(state.end_reason)
        return
    how = args[0] if args else kwargs.get("how")
    error = args[1] if len(args) > 1 else kwargs.get("error")
    if how == "closed":
        reason = semconv.END_CANCELLED if _current_task_cancelling() else semconv.END_ABANDONED
        state.end_at_collection(reason)
        state.annotate_span(reason)
        return
    with guard("stream.sdk_end"):
        if state.enforced:
            state.end(semconv.END_TIMEOUT)
        elif error is not None:
            state.end(reason_for_exception(error), error=error)
        else:
            state.end(semconv.END_COMPLETE if state.stopped else semconv.END_UNEXPECTED_CLOSE)
