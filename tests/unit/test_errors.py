"""The `error.type` classifier: the API's documented types, our own values, and a bounded fallback."""

from __future__ import annotations

import json

import pytest
from anthropic_otel.extract.attempts import status_error_type
from anthropic_otel.extract.errors import api_error_type, error_type


class APIStatusError(Exception):
    def __init__(self, body: object) -> None:
        super().__init__("status error")
        self.body = body


class APIConnectionError(Exception):
    pass


class APITimeoutError(APIConnectionError):
    pass


def test_api_body_wins_over_the_exception_class() -> None:
    err = APIStatusError({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert error_type(err) == "overloaded_error"


def test_bare_error_object_body() -> None:
    # Some SDK versions hand the inner error object as `body`.
    assert api_error_type({"type": "rate_limit_error", "message": "slow down"}) == "rate_limit_error"


def test_timeout_before_connection_error() -> None:
    assert error_type(APITimeoutError()) == "timeout"
    assert error_type(APIConnectionError()) == "connection_error"


def test_unparsable_body_falls_back_to_class_name() -> None:
    assert error_type(APIStatusError("<html>bad gateway</html>")) == "APIStatusError"
    assert error_type(ValueError("x")) == "ValueError"


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


@pytest.mark.parametrize("kind", DOCUMENTED)
def test_documented_types_are_kept(kind: str) -> None:
    assert api_error_type({"type": "error", "error": {"type": kind, "message": "m"}}) == kind
    assert api_error_type({"type": kind, "message": "m"}) == kind
    assert error_type(APIStatusError({"type": "error", "error": {"type": kind}})) == kind


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
    assert error_type(APIStatusError({"type": "error", "error": {"type": kind}})) == "_OTHER"


@pytest.mark.parametrize("body", [{"type": "error"}, {"type": "error", "error": {"type": ""}}, {}, None, []])
def test_no_server_type_is_none(body: object) -> None:
    assert api_error_type(body) is None


def test_status_classification_goes_through_the_same_bound() -> None:
    long_body = json.dumps({"type": "error", "error": {"type": "y" * 500, "message": "m"}}).encode()
    assert status_error_type(500, long_body) == "_OTHER"
    assert (
        status_error_type(529, b'{"type":"error","error":{"type":"overloaded_error"}}') == "overloaded_error"
    )
    assert status_error_type(529, b"<html>") == "overloaded_error"  # no type in the body: by status


def test_class_names_of_exceptions_are_kept() -> None:
    # Bounded by the code that defines them, and they say what failed.
    class RemoteDisconnected(Exception):
        pass

    assert error_type(RemoteDisconnected()) == "RemoteDisconnected"
