"""Zero-code fallback hops: a failed call followed by the same request to another model.

A call that ends with overload, a rate limit, a server error or a timeout (after the SDK's own
retries) and is raised to its caller leaves a *pending failure* in a context variable, so every
thread and every asyncio task has its own. The next call started in that context consumes it: when
it starts within `Settings.fallback_window_s` of the failure, asks for another model and its
request fingerprint without `model` equals the failed one's, it is one hop from the failed model to
the new one. Any other next call (same model: an application retry; another prompt; too late) just
clears it, as does a success. The happy path pays one context-variable read; fingerprints are
computed only on the failure path and by the one call that follows a failure.

Only failures raised from the call itself count (non-streamed calls, and streams whose opening
failed): a stream that breaks after it opened has already delivered output, and its end may be
seen on another thread (the stream watchdog, garbage collection), outside the caller's context.
Hops recorded by the explicit `FallbackChain` or by the SDK's own fallbacks are never counted here:
while they run, `EXPLICIT` is set in the context and detection is off.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from .. import semconv
from ..dedup.fingerprint import fingerprint

if TYPE_CHECKING:
    from .call import CallState

# error.type of a failed call -> why an application would move on to another model.
_REASONS: Final = {
    semconv.ERROR_OVERLOADED: semconv.FALLBACK_OVERLOADED,
    "rate_limit_error": semconv.FALLBACK_RATE_LIMITED,
    "api_error": semconv.FALLBACK_SERVER_ERROR,
    semconv.ERROR_TIMEOUT: semconv.FALLBACK_TIMEOUT,
    "timeout_error": semconv.FALLBACK_TIMEOUT,
    semconv.ERROR_CONNECTION: semconv.FALLBACK_TIMEOUT,
}
_monotonic = time.monotonic


class Failure:
    """A failed call waiting to see whether the application falls back to another model."""

    __slots__ = ("runtime", "model", "reason", "digest", "at")

    def __init__(self, runtime: object, model: str, reason: str, digest: str | None, at: float) -> None:
        # The instrumentation that saw it: a failure seen before a re-instrument() is forgotten.
        self.runtime = runtime
        self.model = model
        self.reason = reason
        self.digest = digest
        self.at = at


class Hop:
    """A call that is a hop's target: where it came from, and why."""

    __slots__ = ("from_model", "reason")

    def __init__(self, from_model: str, reason: str) -> None:
        self.from_model = from_model
        self.reason = reason


PENDING: contextvars.ContextVar[Failure | None] = contextvars.ContextVar(
    "anthropic_otel_pending_failure", default=None
)
# True while an explicit fallback mechanism (FallbackChain, the SDK's own) runs and records its hops.
EXPLICIT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "anthropic_otel_explicit_fallback", default=False
)


def reason_of(error: BaseException | None, error_type: str | None) -> str | None:
    """The fallback reason for a call that failed with `error_type`, or None for failures that are
    not worth another model (bad request, authentication, ...)."""
    reason = _REASONS.get(error_type or "")
    if reason is not None:
        return reason
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool) and status >= 500:
        return semconv.FALLBACK_OVERLOADED if status == 529 else semconv.FALLBACK_SERVER_ERROR
    return None


def digest_without_model(body: Any, extra_body: Any) -> str | None:
    """The request's fingerprint with `model` left out (and `extra_body` merged in, as sent)."""
    if not isinstance(body, Mapping):
        return None
    rest = {k: v for k, v in body.items() if k != "model"}
    if isinstance(extra_body, Mapping) and extra_body:
        rest["extra_body"] = extra_body
    return fingerprint(rest)


def call_starting(call: CallState, failure: Failure, body: Any, extra_body: Any) -> None:
    """A call starts while `failure` is pending (the caller checked): a hop, or nothing."""
    PENDING.set(None)
    if failure.runtime is not call.runtime:
        return
    if failure.digest is None:
        # Announced by an explicit mechanism, which counted the hop: only the span is named.
        call.hop = Hop(failure.model, failure.reason)
        return
    if EXPLICIT.get() or call.model == failure.model:
        return
    if _monotonic() - failure.at > call.runtime.settings.fallback_window_s:
        return
    if digest_without_model(body, extra_body) != failure.digest:
        return
    call.hop = Hop(failure.model, failure.reason)
    call.runtime.recorder.fallback_hop(failure.model, call.model, failure.reason)


def call_failed(call: CallState, error: BaseException | None, error_type: str | None) -> None:
    """A call failed: it is a pending failure when it failed in its caller's own context."""
    from ..hooks._context import CURRENT_CALL  # the hooks import this module: resolved at run time

    # The request wrapper finishes a call that raised while the call is still current; a stream
    # ending later (or on another thread) is not, and does not count.
    if CURRENT_CALL.get() is not call or EXPLICIT.get():
        return
    reason = reason_of(error, error_type)
    if reason is None:
        return
    digest = digest_without_model(call.body, call.extra_body)
    if digest is not None:
        PENDING.set(Failure(call.runtime, call.model, reason, digest, _monotonic()))


def announce(runtime: Any, from_model: str, to_model: str, reason: str) -> None:
    """An explicit mechanism moves on from `from_model`: count the hop, and have the next call started
    in this context (its target, unless `to_model` is canned) name it on its span."""
    runtime.recorder.fallback_hop(from_model, to_model, reason)
    if to_model != semconv.FALLBACK_TO_CANNED:
        PENDING.set(Failure(runtime, from_model, reason, None, _monotonic()))


def label_span(call: CallState, hop: Hop) -> None:
    """Name the hop on the span of its target call (idempotent: set on every attempt)."""
    span = call.span
    if span is not None and span.is_recording():
        span.set_attribute(semconv.ANTHROPIC_FALLBACK_FROM_MODEL, hop.from_model)
        span.set_attribute(semconv.ANTHROPIC_FALLBACK_REASON, hop.reason)


# -- the SDK's own fallbacks ------------------------------------------------------------------------
# Server side (beta `fallbacks`): the response names each hop in a `fallback` content block. Client
# side (`BetaRefusalFallbackMiddleware`): a 200 answer with stop reason `refusal`, then, inside the
# same SDK call, a request to another model; our middleware runs inside the SDK's, so it sees each
# one as an attempt of the call. Both are successes: the zero-code detection never sees them.
_TRIGGERS: Final = {
    semconv.FALLBACK_REFUSAL: semconv.FALLBACK_REFUSAL,
    semconv.FALLBACK_OVERLOADED: semconv.FALLBACK_OVERLOADED,
    semconv.ERROR_OVERLOADED: semconv.FALLBACK_OVERLOADED,
    semconv.FALLBACK_RATE_LIMITED: semconv.FALLBACK_RATE_LIMITED,
    "rate_limit_error": semconv.FALLBACK_RATE_LIMITED,
    semconv.FALLBACK_SERVER_ERROR: semconv.FALLBACK_SERVER_ERROR,
    "api_error": semconv.FALLBACK_SERVER_ERROR,
    semconv.FALLBACK_TIMEOUT: semconv.FALLBACK_TIMEOUT,
}
_REFUSAL: Final = "refusal"


def message_seen(call: CallState, message: Any) -> None:
    """A complete response of one attempt: its server-side hops, and whether it is a refusal the
    SDK's middleware may answer with another model."""
    for block in _field(message, "content") or ():
        if _field(block, "type") == "fallback":
            _server_hop(call, block)
    if _field(message, "stop_reason") == _REFUSAL:
        call.refused_model = call.fallback_model or call.model


def attempt_request(call: CallState, request: Any) -> None:
    """An attempt after a refusal (the caller checked): a hop when it asks for another model."""
    refused, call.refused_model = call.refused_model, None
    body = getattr(request, "json", None)
    model = body.get("model") if isinstance(body, Mapping) else None
    if refused is None or not isinstance(model, str) or model == refused:
        return
    call.fallback_model = model
    call.runtime.recorder.fallback_hop(refused, model, semconv.FALLBACK_REFUSAL)
    call.hop = Hop(refused, semconv.FALLBACK_REFUSAL)
    label_span(call, call.hop)


def _server_hop(call: CallState, block: Any) -> None:
    source = _field(block, "from") or _field(block, "from_")
    target = _field(block, "to")
    trigger = _field(block, "trigger")
    from_model, to_model = _field(source, "model"), _field(target, "model")
    # A trigger outside the known reasons is not counted: the reason is a closed enum.
    reason = _TRIGGERS.get(_field(trigger, "type") or "")
    if not isinstance(from_model, str) or not isinstance(to_model, str) or reason is None:
        return
    call.runtime.recorder.fallback_hop(from_model, to_model, reason)
    call.hop = Hop(from_model, reason)
    label_span(call, call.hop)


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def stream_block(call: CallState, block: Any) -> None:
    """A streamed `content_block_start` that may open a `fallback` block."""
    if _field(block, "type") == "fallback":
        _server_hop(call, block)
