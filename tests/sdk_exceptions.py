"""Exceptions built the way the installed `anthropic` SDK and its HTTP library raise them, for the
classifier tests: no network, but the real classes, bodies and cause chains an instrumented app sees.

The HTTP library is the one the SDK imports (`httpx` before 1.0, its fork `httpx2` from 1.0), picked
the same way the fake transport picks it.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import anthropic
from anthropic_otel.fake.transport import resolve_lib

http: Any = importlib.import_module(resolve_lib())
URL = "https://api.anthropic.com/v1/messages"


def request() -> Any:
    return http.Request("POST", URL)


def status_error(status: int, body: bytes = b"") -> anthropic.APIStatusError:
    """What the SDK raises for a response with `status` and `body`: its own status-to-class mapping
    (which differs between SDK versions) and its own body parsing (JSON when it parses, else text)."""
    response = http.Response(status, request=request(), content=body)
    with anthropic.Anthropic(api_key="test", max_retries=0) as client:  # builds the error, sends nothing
        err: anthropic.APIStatusError = client._make_status_error_from_response(response)
    return err


def transport_error(name: str) -> BaseException:
    """`<http>.<name>` as its transport raises it: a message and the request (InvalidURL: message only)."""
    cls = getattr(http, name)
    if name == "InvalidURL":
        err: BaseException = cls("Invalid non-printable ASCII character in URL")
    else:
        err = cls("simulated", request=request())
    return err


def raised(make: Callable[[], BaseException], cause: BaseException | None = None) -> BaseException:
    """`make()` raised `from cause`, as the SDK wraps a transport error (`APIConnectionError ... from err`)."""
    try:
        raise make() from cause
    except BaseException as err:
        return err


def raised_while_handling(make: Callable[[], BaseException], context: BaseException) -> BaseException:
    """`make()` raised inside `except context:` without `from`: chained by Python as `__context__` only."""
    try:
        try:
            raise context
        except BaseException:
            raise make()  # noqa: B904 - the implicit chain is the point
    except BaseException as err:
        return err


def sdk_timeout(cause: BaseException | None = None) -> BaseException:
    """`APITimeoutError`, as the SDK raises it after its retries, from the transport's timeout."""
    return raised(lambda: anthropic.APITimeoutError(request=request()), cause)


def sdk_connection_error(cause: BaseException | None = None) -> BaseException:
    """`APIConnectionError`, as the SDK raises it after its retries, from the transport's error."""
    return raised(lambda: anthropic.APIConnectionError(request=request()), cause)
