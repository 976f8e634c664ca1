"""The logical-call boundary for every SDK generation: a wrapper around `APIClient.request`.

`request()` runs once per SDK method call, around all of the SDK's retries (on every version
from 0.40 on), so it is where a call starts and ends. It reads what the SDK was asked (the request
options, whether the client traces itself) and hands it to `start_call`; the call's state is put in
a context variable so the per-attempt hook finds it, sync and async alike.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any, Callable

from opentelemetry import trace

from .. import _runtime
from .._guard import guard, report
from ..state.call import CallState, start_call
from ..state.stream import open_stream
from . import middleware, send
from ._context import CURRENT_CALL


def _start(client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallState | None:
    runtime = _runtime.current
    if runtime is None:
        return None
    options = args[1] if len(args) > 1 else kwargs.get("options")
    return start_call(
        runtime,
        getattr(options, "url", None),
        getattr(options, "method", ""),
        getattr(options, "json_data", None),
        getattr(options, "extra_json", None),
        bool(kwargs.get("stream", False)),
        _sdk_traces(client),
    )


def _sdk_traces(client: Any) -> bool:
    """SDK >= 1.14 traces each call itself unless its tracing is off (`_tracer` is None then)."""
    if not hasattr(type(client), "_tracer"):
        return False
    return getattr(client, "_tracer", None) is not None


def _install_attempt_hook(client: Any, is_async: bool) -> None:
    """Every client gets its per-attempt hook, also one built before `instrument()` (at import time,
    before `opentelemetry-instrument` or a later `instrument()`): installed lazily on its first call."""
    if not middleware.SUPPORTED or not middleware.install_into(client):
        send.install(client, is_async)


def _leave(token: contextvars.Token[CallState | None]) -> None:
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
    call = None
    with guard("request.start"):
        call = _start(instance, args, kwargs)
        if call is not None:
            _install_attempt_hook(instance, False)
    if call is None:
        return wrapped(*args, **kwargs)
    token = CURRENT_CALL.set(call)
    try:
        if call.owns_span and call.span is not None:
            with trace.use_span(
                call.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                result = wrapped(*args, **kwargs)
        else:
            result = wrapped(*args, **kwargs)
    except BaseException as err:
        call.finish(error=err)
        raise
    finally:
        _leave(token)
    with guard("request.end"):
        if call.stream:
            open_stream(call, result)
        else:
            call.returned(result)
    return result


async def async_request_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    call = None
    with guard("request.start"):
        call = _start(instance, args, kwargs)
        if call is not None:
            _install_attempt_hook(instance, True)
    if call is None:
        return await wrapped(*args, **kwargs)
    token = CURRENT_CALL.set(call)
    try:
        if call.owns_span and call.span is not None:
            with trace.use_span(
                call.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                result = await wrapped(*args, **kwargs)
        else:
            result = await wrapped(*args, **kwargs)
    except BaseException as err:
        call.finish(error=err)
        raise
    finally:
        _leave(token)
    with guard("request.end"):
        if call.stream:
            open_stream(call, result, asyncio.get_running_loop())
        else:
            call.returned(result)
    return result
