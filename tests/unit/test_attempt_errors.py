"""One HTTP attempt, classified, as tables: its `error.type` from status and body, the retry delay the
server asked for, and whether a failed attempt may already have been billed."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

import anthropic
import pytest
from anthropic_otel.extract.errors import (
    error_type,
    maybe_billed,
    retry_after_seconds,
    status_error_type,
)

from tests.sdk_exceptions import (
    http,
    raised,
    raised_while_handling,
    request,
    sdk_connection_error,
    sdk_timeout,
    status_error,
    transport_error,
)

OVERLOADED = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
API_ERROR = b'{"type":"error","error":{"type":"api_error","message":"Internal server error"}}'

# --- status_error_type ------------------------------------------------------------------------

STATUS_ROWS = [
    # Success and redirects: no error, whatever the body says.
    pytest.param(200, None, None, id="200"),
    pytest.param(201, b"", None, id="201"),
    pytest.param(304, None, None, id="304"),
    pytest.param(399, b"", None, id="399"),
    pytest.param(200, OVERLOADED, None, id="200-with-an-error-body"),
    # Every status in the table, with no body to read.
    pytest.param(400, None, "invalid_request_error", id="400"),
    pytest.param(401, None, "authentication_error", id="401"),
    pytest.param(402, None, "billing_error", id="402"),
    pytest.param(403, None, "permission_error", id="403"),
    pytest.param(404, None, "not_found_error", id="404"),
    pytest.param(408, None, "timeout", id="408"),
    pytest.param(413, None, "request_too_large", id="413"),
    pytest.param(429, None, "rate_limit_error", id="429"),
    pytest.param(500, None, "api_error", id="500"),
    pytest.param(504, None, "timeout", id="504"),
    pytest.param(529, None, "overloaded_error", id="529"),
    pytest.param(529, b"", "overloaded_error", id="529-empty-body"),
    # Statuses not in the table: 5xx is the API's api_error, any other error status http_error.
    pytest.param(418, None, "http_error", id="418"),
    pytest.param(409, None, "http_error", id="409"),
    pytest.param(422, None, "http_error", id="422"),
    pytest.param(499, None, "http_error", id="499"),
    pytest.param(502, None, "api_error", id="502"),
    pytest.param(503, None, "api_error", id="503"),
    pytest.param(599, None, "api_error", id="599"),
    # The body's type wins over the status.
    pytest.param(500, OVERLOADED, "overloaded_error", id="500-overloaded-body"),
    pytest.param(529, API_ERROR, "api_error", id="529-api-error-body"),
    pytest.param(418, OVERLOADED, "overloaded_error", id="418-overloaded-body"),
    pytest.param(429, b'{"type":"rate_limit_error","message":"slow"}', "rate_limit_error", id="bare-object"),
    pytest.param(500, b'{"type":"error","error":{"type":"future_error"}}', "_OTHER", id="undocumented-type"),
    pytest.param(500, OVERLOADED.decode().encode("utf-16"), "overloaded_error", id="utf-16-json"),
    # A body without a type: by status.
    pytest.param(529, b"<html>Service Unavailable</html>", "overloaded_error", id="529-html"),
    pytest.param(502, b"Bad Gateway", "api_error", id="502-text"),
    pytest.param(429, b'{"message":"Too many requests"}', "rate_limit_error", id="429-bedrock"),
    pytest.param(
        429,
        b'{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}',
        "rate_limit_error",
        id="429-vertex",
    ),
    pytest.param(500, b"[1, 2]", "api_error", id="json-list"),
    pytest.param(500, b"null", "api_error", id="json-null"),
    pytest.param(400, b'"overloaded_error"', "invalid_request_error", id="json-string"),
    pytest.param(400, b'{"type":"error","error":{"type":"inval', "invalid_request_error", id="cut-json"),
    # Bytes that are not UTF-8: UnicodeDecodeError, or a UTF-16 mark then JSONDecodeError.
    pytest.param(429, b"\x80\x81\x82", "rate_limit_error", id="not-utf-8"),
    pytest.param(503, b"\xc3(", "api_error", id="truncated-utf-8"),
    pytest.param(500, b"\xff\xfe", "api_error", id="utf-16-mark-only"),
]


@pytest.mark.parametrize(("status", "body", "expected"), STATUS_ROWS)
def test_status_error_type(status: int, body: bytes | None, expected: str | None) -> None:
    assert status_error_type(status, body) == expected


# --- retry_after_seconds ------------------------------------------------------------------------

# "Wed, 21 Oct 2015 07:28:00 GMT": 16,436 days from 1970 to 2015 (45 years, 11 leap days) + 293 days
# to 21 October (273 to 1 October + 20) = 16,729 days = 1,445,385,600 s, + 7 h 28 min (26,880 s).
DATE = "Wed, 21 Oct 2015 07:28:00 GMT"
DATE_TS = 1_445_412_480.0

RETRY_AFTER_ROWS = [
    # retry-after-ms: milliseconds, negative clamped to 0, and it wins over retry-after.
    pytest.param({"retry-after-ms": "1"}, None, 0.001, id="ms-1"),
    pytest.param({"retry-after-ms": "1500"}, None, 1.5, id="ms-1500"),
    pytest.param({"retry-after-ms": "2.5"}, None, 0.0025, id="ms-fraction"),
    pytest.param({"retry-after-ms": "0"}, None, 0.0, id="ms-zero"),
    pytest.param({"retry-after-ms": "-5"}, None, 0.0, id="ms-negative"),
    pytest.param({"retry-after-ms": "250", "retry-after": "7"}, None, 0.25, id="ms-wins"),
    pytest.param({"retry-after-ms": "soon", "retry-after": "3"}, None, 3.0, id="ms-garbage-then-seconds"),
    pytest.param({"retry-after-ms": "soon"}, None, None, id="ms-garbage-alone"),
    # retry-after: seconds.
    pytest.param({"retry-after": "3"}, None, 3.0, id="seconds"),
    pytest.param({"retry-after": "1.5"}, None, 1.5, id="seconds-fraction"),
    pytest.param({"retry-after": " 4 "}, None, 4.0, id="seconds-padded"),
    pytest.param({"retry-after": "0"}, None, 0.0, id="seconds-zero"),
    pytest.param({"retry-after": "-2"}, None, 0.0, id="seconds-negative"),
    # retry-after: an HTTP date, counted from `now`; a date already past is 0.
    pytest.param({"retry-after": DATE}, DATE_TS - 30, 30.0, id="date-30s-ahead"),
    pytest.param({"retry-after": DATE}, DATE_TS, 0.0, id="date-now"),
    pytest.param({"retry-after": DATE}, DATE_TS + 60, 0.0, id="date-past"),
    # 07:28 at +02:00 is 05:28 UTC, 7,200 s before DATE_TS.
    pytest.param({"retry-after": "Wed, 21 Oct 2015 07:28:00 +0200"}, DATE_TS - 7_210, 10.0, id="date-offset"),
    pytest.param({"retry-after": DATE}, None, 0.0, id="date-past-against-the-real-clock"),
    # Garbage and absence.
    pytest.param({"retry-after": "soon"}, None, None, id="garbage"),
    pytest.param({"retry-after": ""}, None, None, id="empty"),
    pytest.param({"retry-after": "Wed, 99 Foo 2015"}, None, None, id="bad-date"),
    pytest.param({"retry-after": "Wed, 21 Oct 2015 25:61:00 GMT"}, None, None, id="bad-time"),
    pytest.param({"retry-after": "Mon, 01 Jan 10000 00:00:00 GMT"}, None, None, id="year-10000"),
    pytest.param({}, None, None, id="no-header"),
    pytest.param({"x-should-retry": "true"}, None, None, id="other-headers-only"),
    # The HTTP library's headers, as the hooks pass them: names are case-insensitive.
    pytest.param(http.Headers({"Retry-After-Ms": "20"}), None, 0.02, id="headers-ms"),
    pytest.param(http.Headers({"Retry-After": DATE}), DATE_TS - 5, 5.0, id="headers-date"),
]


@pytest.mark.parametrize(("headers", "now", "expected"), RETRY_AFTER_ROWS)
def test_retry_after_seconds(headers: Mapping[str, str], now: float | None, expected: float | None) -> None:
    assert retry_after_seconds(headers, now) == expected


# --- maybe_billed -------------------------------------------------------------------------------

MAYBE_BILLED_ROWS = [
    # Never sent: the connection or the request never got made.
    pytest.param(transport_error("ConnectError"), False, id="ConnectError"),
    pytest.param(transport_error("ConnectTimeout"), False, id="ConnectTimeout"),
    pytest.param(transport_error("PoolTimeout"), False, id="PoolTimeout"),
    pytest.param(transport_error("UnsupportedProtocol"), False, id="UnsupportedProtocol"),
    pytest.param(transport_error("InvalidURL"), False, id="InvalidURL"),
    # Sent, then no answer: the server may have billed it.
    pytest.param(transport_error("ReadTimeout"), True, id="ReadTimeout"),
    pytest.param(transport_error("WriteTimeout"), True, id="WriteTimeout"),
    pytest.param(transport_error("TimeoutException"), True, id="TimeoutException"),
    pytest.param(transport_error("ReadError"), True, id="ReadError"),
    pytest.param(transport_error("WriteError"), True, id="WriteError"),
    pytest.param(transport_error("RemoteProtocolError"), True, id="RemoteProtocolError"),
    pytest.param(transport_error("CloseError"), True, id="CloseError"),
    pytest.param(ConnectionResetError(104, "reset by peer"), True, id="ConnectionResetError"),
    pytest.param(TimeoutError("timed out"), True, id="TimeoutError"),
    # Not a timeout or a connection failure: an answer came, or our side failed.
    pytest.param(status_error(529, OVERLOADED), False, id="529"),
    pytest.param(status_error(500, b"<html>"), False, id="500"),
    pytest.param(ValueError("x"), False, id="ValueError"),
    pytest.param(transport_error("DecodingError"), False, id="DecodingError"),
    # The SDK's own errors, raised `from` the transport's: the cause decides.
    pytest.param(sdk_timeout(transport_error("ReadTimeout")), True, id="sdk-timeout-from-ReadTimeout"),
    pytest.param(sdk_timeout(transport_error("ConnectTimeout")), False, id="sdk-timeout-from-ConnectTimeout"),
    pytest.param(sdk_timeout(transport_error("PoolTimeout")), False, id="sdk-timeout-from-PoolTimeout"),
    pytest.param(
        sdk_connection_error(transport_error("ConnectError")), False, id="sdk-conn-from-ConnectError"
    ),
    pytest.param(
        sdk_connection_error(transport_error("RemoteProtocolError")),
        True,
        id="sdk-conn-from-RemoteProtocolError",
    ),
    pytest.param(sdk_connection_error(), True, id="sdk-conn-without-cause"),
    pytest.param(sdk_timeout(), True, id="sdk-timeout-without-cause"),
    # Chains: `__context__` when raised while handling, two links deep, and `__cause__` first.
    pytest.param(
        raised_while_handling(
            lambda: anthropic.APIConnectionError(request=request()), transport_error("ConnectError")
        ),
        False,
        id="context-ConnectError",
    ),
    pytest.param(
        sdk_connection_error(raised(lambda: OSError("wrapped"), transport_error("ConnectError"))),
        False,
        id="cause-of-cause-ConnectError",
    ),
    pytest.param(
        raised(lambda: ConnectionResetError(104, "reset"), transport_error("ConnectError")),
        False,
        id="ConnectionResetError-from-ConnectError",
    ),
]


def _cause_over_context() -> BaseException:
    # `raise ... from` inside an `except`: the explicit cause (a read error, sent) is followed, not the
    # context (a connect error of an earlier attempt).
    try:
        raise transport_error("ConnectError")
    except BaseException:
        return sdk_connection_error(transport_error("ReadError"))


MAYBE_BILLED_ROWS.append(pytest.param(_cause_over_context(), True, id="cause-over-context"))


@pytest.mark.parametrize(("err", "expected"), MAYBE_BILLED_ROWS)
def test_maybe_billed(err: BaseException, expected: bool) -> None:
    assert maybe_billed(err) is expected


def _cycle(outer: BaseException, inner: BaseException, attr: str) -> BaseException:
    """`outer` -> `inner` -> `outer` through `attr` (`__cause__` or `__context__`)."""
    setattr(outer, attr, inner)
    setattr(inner, attr, outer)
    return outer


def _self_cycle(err: BaseException) -> BaseException:
    err.__cause__ = err
    return err


CYCLE_ROWS = [
    pytest.param(_self_cycle(sdk_connection_error()), True, id="self-cause"),
    pytest.param(
        _cycle(transport_error("ReadError"), OSError("x"), "__cause__"), True, id="read-error-cause-loop"
    ),
    pytest.param(
        _cycle(ValueError("a"), RuntimeError("b"), "__context__"), False, id="no-network-context-loop"
    ),
    pytest.param(
        _cycle(sdk_connection_error(), transport_error("ConnectError"), "__cause__"),
        False,
        id="connect-error-in-loop",
    ),
]


@pytest.mark.parametrize(("err", "expected"), CYCLE_ROWS)
def test_maybe_billed_returns_on_a_cycle_in_the_chain(err: BaseException, expected: bool) -> None:
    # In a thread with a deadline, so that a walk that never ends fails the test instead of hanging it.
    answers: list[bool] = []
    walker = threading.Thread(target=lambda: answers.append(maybe_billed(err)), daemon=True)
    walker.start()
    walker.join(timeout=10.0)
    assert not walker.is_alive(), "maybe_billed walked the cause chain forever"
    assert answers == [expected]


# --- error_type of an attempt without response ---------------------------------------------------


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        pytest.param(transport_error("ReadTimeout"), "timeout", id="ReadTimeout"),
        pytest.param(transport_error("RemoteProtocolError"), "connection_error", id="RemoteProtocolError"),
        pytest.param(transport_error("ConnectError"), "connection_error", id="ConnectError"),
        pytest.param(
            json.JSONDecodeError("Expecting value", "<html>", 0), "malformed_response", id="not-json"
        ),
    ],
)
def test_error_type_of_an_attempt_without_response(err: BaseException, expected: str) -> None:
    assert error_type(err) == expected
