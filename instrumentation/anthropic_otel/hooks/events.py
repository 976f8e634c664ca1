"""Stream hooks for every SDK generation: hand each server-sent event, and every way a stream stops,
to its `StreamState`.

- `Stream._iter_events` (and the async twin) yields each decoded event to the SDK's `__stream__`
  on every version from 0.40 on: wrapping it sees `message_start`, `message_delta`,
  `message_stop` and `error` before the SDK acts on them, and sees reads that fail or stop early.
- `Stream.close`, `MessageStream.close` (and async): the caller closed the stream. Older SDKs'
  `MessageStream.close` closes the response without `Stream.close`.
- `Stream.__init__`: a second `Stream` over the same response (older SDKs' `MessageStream`).
- `FirstEnd.end` (SDK >= 1.14): the SDK is about to end its own span for this stream; the state
  ends first so its attributes land on that span while it is still open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable

from .._guard import guard
from ..state.stream import StreamState, state_of
from ..state.watchdog import report_at_collection, state_for_span


def _observe(state: StreamState, events: Iterator[Any]) -> Iterator[Any]:
    sse = None
    try:
        for sse in events:
            state.see(sse)
            yield sse
    except GeneratorExit:
        state.generator_closed(sse)
        raise
    except BaseException as err:
        state.read_failed(err)
        raise
    state.body_ended()


async def _observe_async(state: StreamState, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
    sse = None
    try:
        async for sse in events:
            state.see(sse)
            yield sse
    except GeneratorExit:
        state.generator_closed(sse)
        raise
    except BaseException as err:
        state.read_failed(err)
        raise
    state.body_ended()


def iter_events_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    events = wrapped(*args, **kwargs)
    state = None
    with guard("stream.start"):
        state = state_of(instance)
    if state is None:
        return events
    return _observe(state, events)


def aiter_events_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    events = wrapped(*args, **kwargs)
    state = None
    with guard("stream.start"):
        state = state_of(instance)
    if state is None:
        return events
    return _observe_async(state, events)


def init_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """A `Stream` built over a response that already has a state takes over reading it."""
    result = wrapped(*args, **kwargs)
    with guard("stream.init"):
        state = state_of(instance)
        if state is not None:
            state.watch_collection(instance)
    return result


def close_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    with guard("stream.close"):
        state = state_of(instance)
        if state is not None:
            state.caller_closed()
    return wrapped(*args, **kwargs)


async def aclose_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    with guard("stream.close"):
        state = state_of(instance)
        if state is not None:
            state.caller_closed()
    return await wrapped(*args, **kwargs)


def first_end_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
    """SDK >= 1.14: `FirstEnd.end(how, error)` is about to end the SDK's span of a stream. It may run
    at collection time (the SDK's `__del__`): no guard here (it locks and logs), see `state.stream`."""
    try:
        span = getattr(getattr(instance, "inner", None), "_span", None)
        state = state_for_span(span) if span is not None else None
        if state is not None:
            how = args[0] if args else kwargs.get("how")
            error = args[1] if len(args) > 1 else kwargs.get("error")
            state.sdk_ended(how, error)
    except Exception as err:
        report_at_collection("stream.sdk_end", err)
    return wrapped(*args, **kwargs)
