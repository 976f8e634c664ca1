"""Classify a failed call into the contract's `error.type` value, from the exception alone.

The API's own `error.type` wins when the response carried one (so a 529 is `overloaded_error`
whatever exception class an SDK version maps it to); otherwise `timeout`, `connection_error`,
`malformed_response` (a body or event that is not JSON), or the exception's class name.
Duck-typed: no SDK import, works for every SDK generation. Every value is bounded: a
server-supplied type outside the API's documented ones becomes `semconv.ERROR_OTHER` (it goes
into metric attributes, where each new string is a new series), and class names are bounded by
the code that defines them.
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
