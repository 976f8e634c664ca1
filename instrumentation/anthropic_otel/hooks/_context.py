"""Where hooks find the running call: a context variable, for sync and async calls alike."""

from __future__ import annotations

import contextvars

from ..state.call import CallState

CURRENT_CALL: contextvars.ContextVar[CallState | None] = contextvars.ContextVar(
    "anthropic_otel_call", default=None
)
