"""The `error.type` classifier, as tables over exceptions the SDK and its HTTP library really raise:
the API's documented types, our own values (timeout, connection_error, malformed_response), the
exception's class name, and the bounded `_OTHER` for any other server-supplied type."""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import Any

import anthropic
import pytest
from anthropic_otel.extract.errors import api_error_type, error_type, status_error_type

from tests.sdk_exceptions import http as httplib
from tests.sdk_exceptions import sdk_connection_error, sdk_timeout, status_error, transport_error

OVERLOADED = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'


def _json_error(text: str) -> json.JSONDecodeError:
    """What `json.loads` raises for `text` (the SDK lets it through for a body or event it cannot parse)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        return err
    raise AssertionError(f"{text!r} parsed")


def _with_body(err: BaseException, body: object) -> BaseException:
    """Any exception carrying a `body`: the classifier is duck-typed, not tied to the SDK's classes."""
    err.body = body  # type: ignore[attr-defined]
    return err


def _named(name: str, *bases: type[BaseException]) -> BaseException:
    """An instance of a class called `name` (as another library would define it)."""
    return type(name, bases or (Exception,), {})("raised elsewhere")


class ProxyReadTimeout(httplib.ReadTimeout):  # type: ignore[misc,name-defined]
    """A library's own subclass of the transport's read timeout."""


class MalformedAndTimedOut(json.JSONDecodeError, TimeoutError):
    """Matches two rules: the first one in the classifier's order wins."""


ERROR_TYPE_ROWS = [
    # The API's error type in the body wins over whatever class the SDK raised for the status.
    pytest.param(status_error(529, OVERLOADED), "overloaded_error", id="529-overloaded-body"),
    pytest.param(status_error(500, OVERLOADED), "overloaded_error", id="500-overloaded-body"),
    pytest.param(
        status_error(429, b'{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}'),
        "rate_limit_error",
        id="429-rate-limit-body",
    ),
    pytest.param(
        status_error(400, b'{"type":"error","error":{"type":"invalid_request_error","message":"m"}}'),
        "invalid_request_error",
        id="400-invalid-request-body",
    ),
    pytest.param(
        status_error(429, b'{"type":"rate_limit_error","message":"slow down"}'),
        "rate_limit_error",
        id="429-bare-error-object-body",
    ),
    pytest.param(
        _with_body(RuntimeError("x"), {"type": "error", "error": {"type": "api_error"}}),
        "api_error",
        id="any-exception-with-an-api-body",
    ),
    # A type the API does not document: bounded to _OTHER, whatever the status.
    pytest.param(
        status_error(500, b'{"type":"error","error":{"type":"future_error","message":"m"}}'),
        "_OTHER",
        id="500-undocumented-type",
    ),
    pytest.param(
        status_error(529, json.dumps({"type": "error", "error": {"type": "x" * 500}}).encode()),
        "_OTHER",
        id="529-500-char-type",
    ),
    # A body without a type (a proxy's page, an empty body): the SDK's class name.
    pytest.param(status_error(500, b"<html>502 Bad Gateway</html>"), "InternalServerError", id="500-html"),
    pytest.param(status_error(500, b""), "InternalServerError", id="500-empty"),
    pytest.param(status_error(418, b"<html>teapot</html>"), "APIStatusError", id="418-html"),
    # A body or event that is not JSON, let through by the SDK unwrapped.
    pytest.param(_json_error("<html>"), "malformed_response", id="JSONDecodeError"),
    pytest.param(_json_error('{"type": "message_delta", "usage": {'), "malformed_response", id="cut-event"),
    pytest.param(MalformedAndTimedOut("m", "doc", 0), "malformed_response", id="malformed-before-timeout"),
    # Each timeout class name.
    pytest.param(sdk_timeout(transport_error("ReadTimeout")), "timeout", id="APITimeoutError"),
    pytest.param(transport_error("ReadTimeout"), "timeout", id="ReadTimeout"),
    pytest.param(transport_error("WriteTimeout"), "timeout", id="WriteTimeout"),
    pytest.param(transport_error("ConnectTimeout"), "timeout", id="ConnectTimeout"),
    pytest.param(transport_error("PoolTimeout"), "timeout", id="PoolTimeout"),
    pytest.param(transport_error("TimeoutException"), "timeout", id="TimeoutException"),
    pytest.param(TimeoutError("timed out"), "timeout", id="TimeoutError"),
    # Each connection class name.
    pytest.param(
        sdk_connection_error(transport_error("RemoteProtocolError")),
        "connection_error",
        id="APIConnectionError",
    ),
    pytest.param(transport_error("ConnectError"), "connection_error", id="ConnectError"),
    pytest.param(transport_error("RemoteProtocolError"), "connection_error", id="RemoteProtocolError"),
    pytest.param(transport_error("ReadError"), "connection_error", id="ReadError"),
    pytest.param(transport_error("WriteError"), "connection_error", id="WriteError"),
    pytest.param(transport_error("NetworkError"), "connection_error", id="NetworkError"),
    pytest.param(transport_error("ProtocolError"), "connection_error", id="ProtocolError"),
    pytest.param(ConnectionError("reset"), "connection_error", id="ConnectionError"),
    # Subclasses, found through the MRO.
    pytest.param(sdk_timeout(), "timeout", id="APITimeoutError-subclass-of-APIConnectionError"),
    pytest.param(ProxyReadTimeout("slow proxy", request=None), "timeout", id="subclass-of-ReadTimeout"),
    pytest.param(asyncio.TimeoutError(), "timeout", id="asyncio.TimeoutError"),
    pytest.param(transport_error("CloseError"), "connection_error", id="CloseError-is-a-NetworkError"),
    pytest.param(transport_error("LocalProtocolError"), "connection_error", id="LocalProtocolError"),
    pytest.param(ConnectionResetError(104, "reset by peer"), "connection_error", id="ConnectionResetError"),
    pytest.param(BrokenPipeError(32, "broken pipe"), "connection_error", id="BrokenPipeError"),
    pytest.param(ConnectionRefusedError(111, "refused"), "connection_error", id="ConnectionRefusedError"),
    pytest.param(
        http.client.RemoteDisconnected("closed"), "connection_error", id="http.client.RemoteDisconnected"
    ),
    # Any other class: its own name, bounded by the code that defines it.
    pytest.param(ValueError("x"), "ValueError", id="ValueError"),
    pytest.param(KeyError("usage"), "KeyError", id="KeyError"),
    pytest.param(_named("RemoteDisconnected"), "RemoteDisconnected", id="unrelated-RemoteDisconnected"),
    pytest.param(anthropic.AnthropicError("x"), "AnthropicError", id="AnthropicError"),
    pytest.param(transport_error("TransportError"), "TransportError", id="TransportError"),
    pytest.param(transport_error("UnsupportedProtocol"), "UnsupportedProtocol", id="UnsupportedProtocol"),
    pytest.param(transport_error("DecodingError"), "DecodingError", id="DecodingError"),
    pytest.param(transport_error("InvalidURL"), "InvalidURL", id="InvalidURL"),
]


@pytest.mark.parametrize(("err", "expected"), ERROR_TYPE_ROWS)
def test_error_type(err: BaseException, expected: str) -> None:
    assert error_type(err) == expected


API_ERROR_TYPE_ROWS = [
    # The API's shape: {"type": "error", "error": {"type": ...}}
    pytest.param(
        {"type": "error", "error": {"type": "overloaded_error", "message": "m"}},
        "overloaded_error",
        id="envelope",
    ),
    pytest.param({"error": {"type": "rate_limit_error"}}, "rate_limit_error", id="no-outer-type"),
    pytest.param({"type": "error", "error": {"type": "future_error"}}, "_OTHER", id="undocumented"),
    pytest.param({"type": "error", "error": {"type": "Overloaded_Error"}}, "_OTHER", id="case-matters"),
    # The inner error object alone (some SDK versions hand it as `body`).
    pytest.param({"type": "rate_limit_error", "message": "slow down"}, "rate_limit_error", id="bare-object"),
    pytest.param({"type": "future_error"}, "_OTHER", id="bare-undocumented"),
    # An inner object without a usable type: the outer type, unless it is the envelope's "error".
    pytest.param({"type": "api_error", "error": {"type": ""}}, "api_error", id="inner-empty-outer-typed"),
    pytest.param({"type": "api_error", "error": "overloaded"}, "api_error", id="inner-string-outer-typed"),
    pytest.param({"type": "error", "error": {"type": ""}}, None, id="inner-empty"),
    pytest.param({"type": "error", "error": {"type": None}}, None, id="inner-null"),
    pytest.param({"type": "error", "error": {"type": 529}}, None, id="inner-number"),
    pytest.param({"type": "error", "error": {}}, None, id="inner-without-type"),
    pytest.param({"type": "error", "error": "overloaded_error"}, None, id="inner-is-a-string"),
    pytest.param({"type": "error"}, None, id="envelope-only"),
    # Other providers' bodies (Bedrock, Vertex) and anything that is not a JSON object.
    pytest.param({"message": "Too many requests"}, None, id="bedrock"),
    pytest.param(
        {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
        None,
        id="vertex",
    ),
    pytest.param({"type": ""}, None, id="empty-type"),
    pytest.param({"type": 5}, None, id="number-type"),
    pytest.param({}, None, id="empty-object"),
    pytest.param(None, None, id="None"),
    pytest.param([], None, id="empty-list"),
    pytest.param([{"type": "error", "error": {"type": "api_error"}}], None, id="list-of-bodies"),
    pytest.param("overloaded_error", None, id="string"),
    pytest.param(OVERLOADED, None, id="unparsed-bytes"),
]


@pytest.mark.parametrize(("body", "expected"), API_ERROR_TYPE_ROWS)
def test_api_error_type(body: Any, expected: str | None) -> None:
    assert api_error_type(body) == expected


# The API's documented error types (platform.claude.com/docs/en/api/errors), kept as they are.
DOCUMENTED = [
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
]


def _sdk_error_with_type(kind: str) -> BaseException:
    return status_error(500, json.dumps({"type": "error", "error": {"type": kind, "message": "m"}}).encode())


@pytest.mark.parametrize("kind", DOCUMENTED)
def test_documented_types_are_kept(kind: str) -> None:
    assert api_error_type({"type": "error", "error": {"type": kind, "message": "m"}}) == kind
    assert api_error_type({"type": kind, "message": "m"}) == kind
    assert error_type(_sdk_error_with_type(kind)) == kind


@pytest.mark.parametrize(
    "kind",
    [
        "x" * 500,
        "Overloaded_Error",
        "overloaded_error ",
        "future_error",
        "timeout",
        "connection_error",
        "_OTHER",
    ],
)
def test_any_other_server_type_becomes_other(kind: str) -> None:
    # Our own values (`timeout`, `connection_error`) are ours to give, never the server's.
    assert api_error_type({"type": "error", "error": {"type": kind, "message": "m"}}) == "_OTHER"
    assert api_error_type({"type": kind}) == "_OTHER"
    assert error_type(_sdk_error_with_type(kind)) == "_OTHER"


@pytest.mark.parametrize("body", [{"type": "error"}, {"type": "error", "error": {"type": ""}}, {}, None, []])
def test_no_server_type_is_none(body: object) -> None:
    assert api_error_type(body) is None


def test_status_classification_goes_through_the_same_bound() -> None:
    long_body = json.dumps({"type": "error", "error": {"type": "y" * 500, "message": "m"}}).encode()
    assert status_error_type(500, long_body) == "_OTHER"
    assert status_error_type(529, OVERLOADED) == "overloaded_error"
    assert status_error_type(529, b"<html>") == "overloaded_error"  # no type in the body: by status
