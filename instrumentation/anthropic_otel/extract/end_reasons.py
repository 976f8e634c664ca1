"""Pure classification of how a stream ended, and what its call's outcome is.

Streams end with exactly one reason (see semconv.END_REASONS). The request outcome follows from
it: a complete stream, or one the caller closed or dropped, is a successful request; an error
event, a timeout or a connection that closed before `message_stop` fails it.
"""

from __future__ import annotations

from .. import semconv
from .errors import error_type as classify


def reason_for_exception(err: BaseException) -> str:
    """The end reason of a stream whose read raised `err` (before `message_stop`)."""
    if isinstance(err, GeneratorExit):
        return semconv.END_ABANDONED
    name = type(err).__name__
    if name == "CancelledError" or isinstance(err, KeyboardInterrupt):
        return semconv.END_CANCELLED
    kind = classify(err)
    if kind == semconv.ERROR_TIMEOUT:
        return semconv.END_TIMEOUT
    if kind == semconv.ERROR_CONNECTION:
        return semconv.END_UNEXPECTED_CLOSE
    if kind == semconv.ERROR_MALFORMED_RESPONSE:
        return semconv.END_ERROR  # the server sent an event the SDK could not read; the connection was fine
    if getattr(err, "body", None) is not None or hasattr(err, "status_code"):
        return semconv.END_ERROR  # the SDK raised for an `event: error`
    return semconv.END_UNEXPECTED_CLOSE


def outcome_error_type(reason: str, err: BaseException | None, error_type: str | None) -> str | None:
    """`error.type` of the request a stream belongs to, or None for a successful one."""
    if reason in (semconv.END_COMPLETE, semconv.END_CANCELLED, semconv.END_ABANDONED):
        return None
    if error_type is not None:
        return error_type
    if reason == semconv.END_TIMEOUT:
        return semconv.ERROR_TIMEOUT
    if reason == semconv.END_UNEXPECTED_CLOSE:
        return semconv.ERROR_CONNECTION
    if err is not None:
        return classify(err)
    return "api_error"
