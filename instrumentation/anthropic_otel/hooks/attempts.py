"""Turn one HTTP attempt into a call-record entry; shared by the middleware and the legacy hook.

Both paths hand over either the HTTP response of the attempt or the exception that ended it. An
error response's body is read here (the SDK reads it anyway before raising, and a retried one is
a few hundred bytes) so the API's own `error.type` wins over the status code.
"""

from __future__ import annotations

from typing import Any

from ..extract.attempts import exception_error_type, maybe_billed, retry_after_seconds, status_error_type
from ..state.call import CallRecord


def attempt_response(record: CallRecord, http_response: Any, body: bytes | None) -> None:
    status = int(http_response.status_code)
    record.end_attempt(
        status,
        status_error_type(status, body),
        retry_after_seconds(http_response.headers) if status >= 400 else None,
        False,
    )


def attempt_exception(record: CallRecord, err: BaseException) -> None:
    record.end_attempt(None, exception_error_type(err), None, maybe_billed(err))


def read_error_body(http_response: Any) -> bytes | None:
    if http_response.status_code < 400:
        return None
    return bytes(http_response.read())


async def aread_error_body(http_response: Any) -> bytes | None:
    if http_response.status_code < 400:
        return None
    return bytes(await http_response.aread())
