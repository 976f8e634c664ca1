"""Classify failures into the contract's `error.type`: of a call from its exception, of an HTTP
attempt from its status and body; and an attempt's two other facts, the delay the server asked
for and whether a failed attempt may already have been billed.

The API's own `error.type` wins when the response carried one (so a 529 is `overloaded_error`
whatever exception class an SDK version maps it to); otherwise `timeout`, `connection_error`,
`malformed_response` (a body or event that is not JSON), or the exception's class name.
Duck-typed: no SDK import, works for every SDK generation. Every value is bounded: a
server-supplied type outside the API's documented ones becomes `semconv.ERROR_OTHER` (it goes
into metric attributes, where each new string is a new series), and class names are bounded by
the code that defines them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from .. import semconv

_TIMEOUT_NAMES = frozenset(
    {
        "APITimeoutError",
        "ReadTimeout",
        "WriteTimeout",
        "ConnectTimeout",
        "PoolTimeout",
        "TimeoutException",
        "TimeoutError",
    }
)
_CONNECTION_NAMES = frozenset(
    {
        "APIConnectionError",
        "ConnectError",
        "RemoteProtocolError",
        "ReadError",
        "WriteError",
        "NetworkError",
        "ProtocolError",
        "ConnectionError",
    }
)

# What the SDK raises, unwrapped, for a response body or stream event that is not JSON.
_MALFORMED_NAMES = frozenset({"JSONDecodeError"})


def api_error_type(body: Any) -> str | None:
    """`error.type` from an API error body (`{"type": "error", "error": {"type": ...}}`), else None.

    A type the API does not document comes back as `semconv.ERROR_OTHER`.
    """
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            kind = inner.get("type")
            if isinstance(kind, str) and kind:
                return known_api_error_type(kind)
        kind = body.get("type")
        if isinstance(kind, str) and kind and kind != "error":
            return known_api_error_type(kind)
    return None


def known_api_error_type(kind: str) -> str:
    """`kind` if it is one of the API's documented error types, else `semconv.ERROR_OTHER`."""
    return kind if kind in semconv.API_ERROR_TYPES else semconv.ERROR_OTHER


def error_type(err: BaseException) -> str:
    """The `error.type` attribute value for `err`."""
    from_body = api_error_type(getattr(err, "body", None))
    if from_body is not None:
        return from_body
    names = {cls.__name__ for cls in type(err).__mro__}
    if names & _MALFORMED_NAMES:
        return semconv.ERROR_MALFORMED_RESPONSE
    if names & _TIMEOUT_NAMES:
        return semconv.ERROR_TIMEOUT
    if names & _CONNECTION_NAMES:
        return semconv.ERROR_CONNECTION
    return type(err).__name__


# The API's documented error type per HTTP status, for an error body that names none (Bedrock and
# Vertex send other error bodies): a 529 is `overloaded_error` whatever exception an SDK version raises.
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


def api_error_message(body: bytes | None) -> str | None:
    """`error.message` of an API error body, or None. The API's own words (a 429 names the limit it
    hit); read for a fixed phrase, never recorded, since some messages quote the request."""
    if not body:
        return None
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    inner = decoded.get("error") if isinstance(decoded, dict) else None
    message = inner.get("message") if isinstance(inner, dict) else None
    return message if isinstance(message, str) else None


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
        when = parsedate_to_datetime(raw).timestamp()
        return max(when - (time.time() if now is None else now), 0.0)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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
