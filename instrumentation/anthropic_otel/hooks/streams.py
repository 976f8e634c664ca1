"""Stream hook for every SDK generation: observe server-sent events as the SDK decodes them.

`Stream._iter_events` (and the async twin) yields each decoded event to the SDK's `__stream__`
on every version from 0.40 on; wrapping it sees `message_start`, `message_delta`,
`message_stop` and `error` before the SDK acts on them. Per event the only work is reading the
event name; JSON is parsed again only for the two events that carry usage.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable

from .._call import CallRecord
from .._guard import guard
from ..record.errors import api_error_type
from ..record.usage import StreamUsage
from ._context import RESPONSE_ATTR

_USAGE_EVENTS = frozenset({"message_start", "message_delta"})


class _StreamObserver:
    __slots__ = ("record", "usage", "stopped")

    def __init__(self, record: CallRecord) -> None:
        self.record = record
        self.usage = StreamUsage()
        self.stopped = False

    def event(self, sse: Any) -> None:
        """Called for every event whose name is not a plain content delta."""
        name = sse.event
        record = self.record
        if name in _USAGE_EVENTS:
            self.usage.feed(sse.json())
            record.usage = self.usage.usage
        elif name == "message_stop":
            self.stopped = True
            self._settle()
            # The SDK ends its span only after this event; enrich it and finish while it is open.
            record.finish()
        elif name == "error":
            self._settle()
            record.finish(error_type=_error_event_type(sse))

    def delta(self, sse: Any) -> None:
        record = self.record
        if record.first_chunk_at is None:
            record.first_chunk_at = time.perf_counter()
        if record.output_text is not None:
            data = sse.json().get("delta") or {}
            text = data.get("text")
            if isinstance(text, str):
                record.output_text.append(text)

    def _settle(self) -> None:
        usage = self.usage
        record = self.record
        record.usage = usage.usage
        record.response_model = usage.model
        record.stop_reason = usage.stop_reason

    def ended(self, error: BaseException | None) -> None:
        if self.record.finished:
            return
        self._settle()
        self.record.finish(error=error)


def _error_event_type(sse: Any) -> str:
    try:
        return api_error_type(sse.json()) or "api_error"
    except Exception:
        return "api_error"


def _record_of(stream: Any) -> CallRecord | None:
    record = getattr(getattr(stream, "response", None), RESPONSE_ATTR, None)
    if isinstance(record, CallRecord) and not record.finished:
        return record
    return None


def _observe(observer: _StreamObserver, events: Iterator[Any]) -> Iterator[Any]:
    error: BaseException | None = None
    try:
        for sse in events:
            if sse.event == "content_block_delta":
                if observer.record.first_chunk_at is None or observer.record.output_text is not None:
                    with guard("stream.delta"):
                        observer.delta(sse)
            elif not observer.record.finished:
                with guard("stream.event"):
                    observer.event(sse)
            yield sse
    except GeneratorExit:
        raise  # the caller closed the stream: not an API failure
    except BaseException as err:
        error = err
        raise
    finally:
        with guard("stream.end"):
            observer.ended(error)


async def _observe_async(observer: _StreamObserver, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
    error: BaseException | None = None
    try:
        async for sse in events:
            if sse.event == "content_block_delta":
                if observer.record.first_chunk_at is None or observer.record.output_text is not None:
                    with guard("stream.delta"):
                        observer.delta(sse)
            elif not observer.record.finished:
                with guard("stream.event"):
                    observer.event(sse)
            yield sse
    except GeneratorExit:
        raise  # the caller closed the stream: not an API failure
    except BaseException as err:
        error = err
        raise
    finally:
        with guard("stream.end"):
            observer.ended(error)


def iter_events_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    events = wrapped(*args, **kwargs)
    record = None
    with guard("stream.start"):
        record = _record_of(instance)
    if record is None:
        return events
    return _observe(_StreamObserver(record), events)


def aiter_events_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    events = wrapped(*args, **kwargs)
    record = None
    with guard("stream.start"):
        record = _record_of(instance)
    if record is None:
        return events
    return _observe_async(_StreamObserver(record), events)
