"""Per-attempt hook for SDK < 0.108, which has no middleware: wrap the `send` of each client's own
HTTP client instance (never the `httpx` class: other users of httpx in the process stay untouched).

Every SDK retry goes through that `send`, inside the `request()` call whose state the context
variable holds. Installed once per SDK client, on its first Messages call; after `uninstrument()`
the wrapper passes straight through.
"""

from __future__ import annotations

from typing import Any

from .. import _runtime
from .._guard import guard
from ._context import CURRENT_CALL
from .error_body import aread_error_body, read_error_body

_MARK = "_anthropic_otel_send_wrapped"


def install(client: Any, is_async: bool) -> None:
    http_client = getattr(client, "_client", None)
    if http_client is None or getattr(http_client, _MARK, False):
        return
    original = http_client.send

    if is_async:

        async def send_async(request: Any, *args: Any, **kwargs: Any) -> Any:
            call = CURRENT_CALL.get()
            if call is None or _runtime.current is None:
                return await original(request, *args, **kwargs)
            with guard("send.attempt"):
                call.attempt_started()
            try:
                response = await original(request, *args, **kwargs)
            except Exception as err:
                with guard("send.attempt"):
                    call.attempt_failed(err)
                raise
            with guard("send.attempt"):
                body = await aread_error_body(response)
                call.attempt_answered(int(response.status_code), response.headers, body)
            return response

        http_client.send = send_async
    else:

        def send(request: Any, *args: Any, **kwargs: Any) -> Any:
            call = CURRENT_CALL.get()
            if call is None or _runtime.current is None:
                return original(request, *args, **kwargs)
            with guard("send.attempt"):
                call.attempt_started()
            try:
                response = original(request, *args, **kwargs)
            except Exception as err:
                with guard("send.attempt"):
                    call.attempt_failed(err)
                raise
            with guard("send.attempt"):
                call.attempt_answered(int(response.status_code), response.headers, read_error_body(response))
            return response

        http_client.send = send
    setattr(http_client, _MARK, True)
