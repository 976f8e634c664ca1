"""Classify a failed call into the contract's `error.type` value, from the exception alone.

The API's own `error.type` wins when the response carried one (so a 529 is `overloaded_error`
whatever exception class an SDK version maps it to); otherwise `timeout`, `connection_error`,
`malformed_response` (a body or event that is not JSON), or the exception's class name.
Duck-typed: no SDK import, works for every SDK generation.
"""

from __future__ import annotations

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
    """`error.type` from an API error body (`{"type": "error", "error": {"type": ...}}`), else None."""
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            kind = inner.get("type")
            if isinstance(kind, str) and kind:
                return kind
        kind = body.get("type")
        if isinstance(kind, str) and kind and kind != "error":
            return kind
    return None


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
