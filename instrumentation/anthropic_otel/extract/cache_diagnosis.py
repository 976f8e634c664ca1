"""The API's own diagnosis of a prompt-cache miss (beta `cache-diagnosis-2026-04-07`), from a response.

A request that carries `diagnostics: {"previous_message_id": ...}` gets back `diagnostics` on the
message: `null` when nothing diverged, else `{"cache_miss_reason": {"type": ..., ...}}` (a pending
comparison leaves `cache_miss_reason` null). A non-streamed response carries it on the message; a
stream on the message of its `message_start` event (and, should the API send it later once the
comparison is done, on `message_delta`). Only the reason's `type` is kept, cut to the documented
values (`semconv.CACHE_MISS_REASONS`) and `_OTHER` for anything else: a server can send any string.
Works on SDK objects (any SDK version: an older one keeps the unknown field as a plain dict) and on
decoded JSON alike.
"""

from __future__ import annotations

from typing import Any

from .. import semconv

_KNOWN = frozenset(semconv.CACHE_MISS_REASONS)


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _reason(diagnostics: Any) -> str | None:
    if diagnostics is None:
        return None
    reason = _field(diagnostics, "cache_miss_reason")
    if reason is None:
        return None  # no divergence, or the comparison is still pending
    kind = _field(reason, "type")
    return kind if isinstance(kind, str) and kind in _KNOWN else semconv.ERROR_OTHER


def cache_miss_reason(message: Any) -> str | None:
    """The diagnosed cache-miss reason of a Message (SDK object or dict), or None when it has none."""
    return _reason(_field(message, "diagnostics"))


def event_cache_miss_reason(event: Any) -> str | None:
    """The same from a decoded `message_start` or `message_delta` event, or None."""
    if not isinstance(event, dict):
        return None
    message = event.get("message")
    if isinstance(message, dict):
        return _reason(message.get("diagnostics"))
    found = _reason(event.get("diagnostics"))
    if found is None:
        delta = event.get("delta")
        if isinstance(delta, dict):
            found = _reason(delta.get("diagnostics"))
    return found
