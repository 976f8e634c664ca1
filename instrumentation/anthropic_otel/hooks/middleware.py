"""Per-attempt hook for SDK >= 0.108: client middleware, appended to every client at construction.

The SDK has no class-level default middleware, so `SyncAPIClient.__init__` and
`AsyncAPIClient.__init__` are wrapped to append one `OtelMiddleware` (once: clients derived with
`with_options` already carry it). The chain runs inside the SDK's call span, which is how the
SDK's own span (>= 1.14) is found and enriched while it is still open.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .. import _runtime
from .._guard import guard
from ..state import hops
from ._context import CURRENT_CALL
from .error_body import aread_error_body, read_error_body

try:  # SDK >= 0.108 only; the instrumentor checks `SUPPORTED` before using anything here.
    from anthropic._middleware import Middleware as _Base

    SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the installed SDK
    _Base = object  # type: ignore[assignment,misc]
    SUPPORTED = False


def _body_read(response: Any) -> bool:
    # Parsing an unread body would read it for the app (with_streaming_response): leave those alone.
    http_response = getattr(response, "http_response", None)
    return bool(getattr(http_response, "is_closed", False))


class OtelMiddleware(_Base):
    """Sees every HTTP attempt; a no-op when instrumentation is off or the call is not a Messages call."""

    def handle(self, request: Any, call_next: Callable[[Any], Any]) -> Any:
        call = CURRENT_CALL.get()
        if call is None or _runtime.current is None:
            return call_next(request)
        with guard("middleware.attempt"):
            call.attempt_started()
            if call.refused_model is not None:
                hops.attempt_request(call, request)
        try:
            response = call_next(request)
        except Exception as err:
            with guard("middleware.attempt"):
                call.attempt_failed(err)
            raise
        http_response = response.http_response
        with guard("middleware.attempt"):
            status = int(http_response.status_code)
            call.attempt_answered(status, http_response.headers, read_error_body(http_response))
        with guard("middleware.response"):
            if call.wants_message(response.status_code) and _body_read(response):
                try:
                    message = response.parse()
                except ValueError:
                    # Not JSON: the server's fault, not ours. The SDK raises the same error to the app
                    # next, and the call is recorded then as `malformed_response` (extract.errors).
                    return response
                call.message_received(message)
        return response

    async def handle_async(self, request: Any, call_next: Callable[[Any], Any]) -> Any:
        call = CURRENT_CALL.get()
        if call is None or _runtime.current is None:
            return await call_next(request)
        with guard("middleware.attempt"):
            call.attempt_started()
            if call.refused_model is not None:
                hops.attempt_request(call, request)
        try:
            response = await call_next(request)
        except Exception as err:
            with guard("middleware.attempt"):
                call.attempt_failed(err)
            raise
        http_response = response.http_response
        with guard("middleware.attempt"):
            status = int(http_response.status_code)
            call.attempt_answered(status, http_response.headers, await aread_error_body(http_response))
        with guard("middleware.response"):
            if call.wants_message(response.status_code) and _body_read(response):
                try:
                    message = await response.parse()
                except ValueError:
                    # Not JSON: the server's fault, not ours. The SDK raises the same error to the app
                    # next, and the call is recorded then as `malformed_response` (extract.errors).
                    return response
                call.message_received(message)
        return response


def install_into(client: Any) -> bool:
    """Append the middleware to a client that lacks it (one built before `instrument()`).

    True when the client has it now; False when this SDK's client keeps its middleware some other
    way (the caller then hooks the client's HTTP send instead, as on SDKs without middleware).
    """
    current = getattr(client, "_middleware", None)
    if not isinstance(current, tuple):
        return False
    if _SHARED in current:  # every call of every instrumented client: one identity scan
        return True
    with _install_lock:
        current = client._middleware
        if not any(isinstance(entry, OtelMiddleware) for entry in current):
            client._middleware = (*current, _SHARED)
            build = getattr(client, "_build_middleware_chain", None)
            if build is not None and hasattr(client, "_middleware_chain"):
                client._middleware_chain = build()  # prebuilt at construction from the old tuple
    return True


def init_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    with guard("middleware.install"):
        existing = tuple(kwargs.get("middleware") or ())
        if not any(isinstance(entry, OtelMiddleware) for entry in existing):
            kwargs["middleware"] = (*existing, _SHARED)
    return wrapped(*args, **kwargs)


# Stateless: one instance serves every client, sync and async.
_SHARED = OtelMiddleware()
# Two threads making the first call of one pre-existing client must not both append it.
_install_lock = threading.Lock()
