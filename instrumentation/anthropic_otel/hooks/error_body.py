"""Read an error response's body for the attempt's `error.type` (the middleware and the send hook).

The SDK reads it anyway before raising, and a retried one is a few hundred bytes; a success body is
never touched here (a stream's body belongs to the caller).
"""

from __future__ import annotations

from typing import Any


def read_error_body(http_response: Any) -> bytes | None:
    if http_response.status_code < 400:
        return None
    return bytes(http_response.read())


async def aread_error_body(http_response: Any) -> bytes | None:
    if http_response.status_code < 400:
        return None
    return bytes(await http_response.aread())
