"""Where hooks find the running call: a context variable, for sync and async calls alike."""

from __future__ import annotations

import contextvars

from ..state.call import CallRecord

CURRENT_CALL: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "anthropic_otel_call", default=None
)
