"""The one classifier of how a stream ended, and what its call's outcome is. Pure.

What a hook or the watchdog saw (`EndSignal`, a closed list) maps to exactly one reason of the
closed list `semconv.EndReason`. The request outcome follows from the reason: a complete stream, or
one the caller closed or dropped, is a successful request; an error event, a timeout or a connection
that closed before `message_stop` fails it.
"""

from __future__ import annotations

from typing import Literal

from .. import semconv
from ..semconv import EndReason
from .errors import error_type as classify

EndSignal = Literal[
    "message_stop",  # the server's last event arrived
    "error_event",  # the server sent `event: error`
    "malformed_event",  # an event whose data is not JSON (the SDK raises on it)
    "body_ended",  # the body ended cleanly before `message_stop`: the SDK raises nothing
    "read_failed",  # reading the body raised (`error` says what)
    "caller_closed",  # the caller closed the stream before its end
    "dropped",  # dropped unclosed: found by the garbage collector, at exit or at uninstrument
    "sdk_closed",  # the SDK ended its span because the body was closed unfinished
    "sdk_ended",  # the SDK ended its span after reading or failing (`error` set when it failed)
    "idle",  # silent past the idle threshold, with enforcement on
]


def end_reason(
    signal: EndSignal,
    error: BaseException | None = None,
    *,
    enforced: bool = False,
    stopped: bool = False,
    cancelling: bool = False,
) -> EndReason:
    """The one end reason for `signal`.

    `enforced`: the idle watchdog closed the response (whatever the read then raises is its doing).
    `stopped`: `message_stop` was seen. `cancelling`: the current task is being cancelled.
    """
    if signal == "message_stop":
        return semconv.END_COMPLETE
    if signal in ("error_event", "malformed_event"):
        return semconv.END_ERROR
    if signal == "idle" or enforced and signal in ("read_failed", "sdk_ended"):
        return semconv.END_TIMEOUT
    if signal == "body_ended":
        return semconv.END_UNEXPECTED_CLOSE
    if signal == "caller_closed":
        return semconv.END_CANCELLED
    if signal in ("dropped", "sdk_closed"):
        return semconv.END_CANCELLED if cancelling else semconv.END_ABANDONED
    # read_failed, sdk_ended
    if error is not None:
        return _reason_for_exception(error)
    return semconv.END_COMPLETE if stopped else semconv.END_UNEXPECTED_CLOSE


def _reason_for_exception(err: BaseException) -> EndReason:
    """A read that raised `err` before `message_stop`."""
    if isinstance(err, GeneratorExit):
        return semconv.END_ABANDONED
    if type(err).__name__ == "CancelledError" or isinstance(err, KeyboardInterrupt):
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


def outcome_error_type(reason: EndReason, err: BaseException | None, error_type: str | None) -> str | None:
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
