"""Where hooks find the running call: a context variable (sync and async alike) and, for streams,
an attribute on the HTTP response that the stream reads."""

from __future__ import annotations

import contextvars

from .._call import CallRecord

CURRENT_CALL: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "anthropic_otel_call", default=None
)
RESPONSE_ATTR = "_anthropic_otel_call"
