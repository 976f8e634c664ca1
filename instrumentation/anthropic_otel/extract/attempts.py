"""Pure classification of one HTTP attempt: its `error.type`, server-advised retry delay, and
whether a failed attempt may already have been billed.

Status codes map to the API's documented error types when the body carries none (Bedrock and
Vertex send other error bodies), so a 529 is always `overloaded_error`, whatever exception an
SDK version raises for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from .. import semconv
from .errors import api_error_type, error_type

# The API's documented error type per HTTP status.
_STATUS_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: semconv.ERROR_TIMEOUT,
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: semconv.ERROR_TIMEOUT,
    529: semconv.ERROR_OVERLOADED,
}

# Failures that happen before the request leaves the client: the server cannot have billed them.
_NOT_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol", "InvalidURL"})


def status_error_type(status: int, body: bytes | None) -> str | None:
    """`error.type` of a response with `status`: None for success, else from the body or the status."""
    if status < 400:
        return None
    if body:
        try:
            found = api_error_type(json.loads(body))
        except (ValueError, UnicodeDecodeError):
            found = None
        if found:
            return found
    return _STATUS_ERROR_TYPES.get(status, "api_error" if status >= 500 else "http_error")


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The delay the server asked for: `retry-after-ms`, else `retry-after` (seconds or HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        import time

        when = parsedate_to_datetime(raw).timestamp()
        return max(when - (time.time() if now is None else now), 0.0)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def exception_error_type(err: BaseException) -> str:
    """`error.type` of an attempt that got no response (timeout, dropped connection, ...)."""
    return error_type(err)


def maybe_billed(err: BaseException) -> bool:
    """Whether the request may have reached the server before `err`: true unless it never connected."""
    seen: set[int] = set()
    current: Any = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ in _NOT_SENT:
            return False
        current = current.__cause__ or current.__context__
    return error_type(err) in (semconv.ERROR_TIMEOUT, semconv.ERROR_CONNECTION)
