"""The logical-call boundary for every SDK generation: a wrapper around `APIClient.request`.

`request()` runs once per SDK method call, around all of the SDK's retries (on every version
from 0.40 on), so it is where a call starts and ends. The record of the running call is put in a
context variable so the per-attempt middleware (SDK >= 0.108) finds it, sync and async alike.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from typing import Any, Callable

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from .. import _runtime, semconv
from .._guard import guard, report
from ..state.call import CallRecord
from ..state.stream import RESPONSE_ATTR, StreamState, watch_collection
from . import _sockets, middleware, send
from ._context import CURRENT_CALL

# Billed Messages calls; count_tokens and batches are not (batches are out of scope).
_MESSAGES_PATHS = frozenset({"/v1/messages"})


def _start(client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallRecord | None:
    runtime = _runtime.current
    if runtime is None:
        return None
    options = args[1] if len(args) > 1 else kwargs.get("options")
    url = getattr(options, "url", None)
    if not isinstance(url, str) or url.partition("?")[0] not in _MESSAGES_PATHS:
        return None
    if str(getattr(options, "method", "")).lower() != "post":
        return None
    body = getattr(options, "json_data", None)
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or not model:
        model = "unknown"
    stream = bool(kwargs.get("stream", False))
    if _sdk_traces(client):
        # The SDK starts its own span inside request(); the middleware picks it up. Never a second span.
        record = CallRecord(runtime, model, stream, None, False, body)
        record.outer = trace.get_current_span()
    else:
        record = CallRecord(runtime, model, stream, _start_span(runtime, model), True, body)
    if isinstance(body, dict):
        extra = getattr(options, "extra_json", None)
        # The SDK sends `extra_body` merged into the body: so does the fingerprint.
        record.dedup = runtime.dedup.start(model, {**body, "extra_body": extra} if extra else body)
    return record


def _start_span(runtime: _runtime.Runtime, model: str) -> trace.Span:
    return runtime.tracer.start_span(
        f"{semconv.OPERATION_CHAT} {model}",
        kind=SpanKind.CLIENT,
        attributes={
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
            semconv.GEN_AI_PROVIDER_NAME: semconv.PROVIDER_ANTHROPIC,
            semconv.GEN_AI_REQUEST_MODEL: model,
        },
    )


def _sdk_traces(client: Any) -> bool:
    """SDK >= 1.14 traces each call itself unless its tracing is off (`_tracer` is None then)."""
    if not hasattr(type(client), "_tracer"):
        return False
    return getattr(client, "_tracer", None) is not None


def _on_result(record: CallRecord, result: Any, loop: asyncio.AbstractEventLoop | None = None) -> None:
    if record.stream:
        response = getattr(result, "response", None) or getattr(result, "http_response", None)
        if response is None:
            record.finish()
            return
        state = StreamState(record, _closer(response, loop))
        setattr(response, RESPONSE_ATTR, state)
        watch_collection(state, result)
        return
    if record.usage is None and hasattr(result, "usage"):
        record.take_message(result)
    record.finish()


def _closer(response: Any, loop: asyncio.AbstractEventLoop | None) -> Callable[[], None]:
    """How the idle watchdog (another thread) closes this stream's HTTP response.

    Holds the response weakly: the response carries the state, and a strong reference back would
    keep a dropped response (and the SDK's span, which ends when it is collected) alive in a cycle.
    A sync read blocked on a real connection only returns when its socket is shut down; the reader's
    thread then closes the connection itself (see `_sockets`). Without a socket, close the response.
    """
    ref = weakref.ref(response)

    def close() -> None:
        target = ref()
        # A body read to its end has handed its connection back to the pool, maybe to another call.
        if target is None or getattr(target, "is_closed", False):
            return
        sock = _sockets.response_socket(target)
        if sock is None or not _sockets.shut_down(sock):
            target.close()

    if loop is None:
        return close

    def close_in_loop() -> None:
        def schedule() -> None:
            target = ref()
            if target is not None:
                _PENDING_CLOSES.add(task := loop.create_task(target.aclose()))
                task.add_done_callback(_PENDING_CLOSES.discard)

        loop.call_soon_threadsafe(schedule)

    return close_in_loop


# Keeps scheduled aclose() tasks referenced until they finish.
_PENDING_CLOSES: set[asyncio.Task[Any]] = set()


def _install_attempt_hook(client: Any, is_async: bool) -> None:
    """Every client gets its per-attempt hook, also one built before `instrument()` (at import time,
    before `opentelemetry-instrument` or a later `instrument()`): installed lazily on its first call."""
    if not middleware.SUPPORTED or not middleware.install_into(client):
        send.install(client, is_async)


def _leave(token: contextvars.Token[CallRecord | None]) -> None:
    """Restore the caller's current call. Never raises into the app: should the context have
    changed under us, the call simply stops being current."""
    try:
        CURRENT_CALL.reset(token)
    except (ValueError, LookupError, RuntimeError) as err:
        CURRENT_CALL.set(None)
        report("request.context_reset", err)


def request_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    record = None
    with guard("request.start"):
        record = _start(instance, args, kwargs)
        if record is not None:
            _install_attempt_hook(instance, False)
    if record is None:
        return wrapped(*args, **kwargs)
    token = CURRENT_CALL.set(record)
    try:
        if record.owns_span and record.span is not None:
            with trace.use_span(
                record.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                result = wrapped(*args, **kwargs)
        else:
            result = wrapped(*args, **kwargs)
    except BaseException as err:
        record.finish(error=err)
        raise
    finally:
        _leave(token)
    with guard("request.end"):
        _on_result(record, result)
    return result


async def async_request_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    record = None
    with guard("request.start"):
        record = _start(instance, args, kwargs)
        if record is not None:
            _install_attempt_hook(instance, True)
    if record is None:
        return await wrapped(*args, **kwargs)
    token = CURRENT_CALL.set(record)
    try:
        if record.owns_span and record.span is not None:
            with trace.use_span(
                record.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                result = await wrapped(*args, **kwargs)
        else:
            result = await wrapped(*args, **kwargs)
    except BaseException as err:
        record.finish(error=err)
        raise
    finally:
        _leave(token)
    with guard("request.end"):
        _on_result(record, result, asyncio.get_running_loop())
    return result
