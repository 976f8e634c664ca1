"""One logical API call (all its SDK retries and, for streams, the whole stream) while it runs.

Hooks start a `CallState` when a Messages call starts (`start_call`) and hand it what they see: each
HTTP attempt's response or exception, the SDK's span, the final message, the returned result. The
state decides what that means (error types, the span to enrich, when the call is over) and tells
the recorder once, in `finish()`, which runs exactly once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from .. import semconv
from .._deferred import DEFERRED
from .._guard import guard
from .._runtime import Runtime
from ..dedup.detector import Ticket
from ..extract.cache_diagnosis import cache_miss_reason
from ..extract.content import capped, is_sentinel, to_json
from ..extract.errors import api_error_message, maybe_billed, retry_after_seconds, status_error_type
from ..extract.errors import error_type as classify
from ..extract.ratelimit import LimitLines, exhausted_kind, limit_lines, parse_lines
from ..extract.usage import Usage, usage_from_message
from ..pricing import CallCost
from . import hops

# Billed Messages calls; count_tokens and batches are not (batches are out of scope).
_MESSAGES_PATHS = frozenset({"/v1/messages"})


def start_call(
    runtime: Runtime,
    url: Any,
    method: Any,
    body: Any,
    extra_body: Any,
    stream: bool,
    sdk_traces: bool,
) -> CallState | None:
    """The state of a call that is starting, or None when it is not a billed Messages call."""
    if not isinstance(url, str) or url.partition("?")[0] not in _MESSAGES_PATHS:
        return None
    if str(method).lower() != "post":
        return None
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or not model:
        model = "unknown"
    if sdk_traces:
        # The SDK starts its own span inside request(); the first attempt adopts it. Never a second span.
        call = CallState(runtime, model, stream, None, False, body)
        call.outer = trace.get_current_span()
    else:
        call = CallState(runtime, model, stream, _start_span(runtime, model), True, body)
    if isinstance(body, dict):
        # The SDK sends `extra_body` merged into the body: so does the fingerprint.
        call.dedup = runtime.dedup.start(model, {**body, "extra_body": extra_body} if extra_body else body)
    call.extra_body = extra_body  # by reference, like the body: read only should the call fail
    failure = hops.PENDING.get()
    if failure is not None:
        with guard("hops.start"):
            hops.call_starting(call, failure, body, extra_body)
    return call


def _start_span(runtime: Runtime, model: str) -> Span:
    return runtime.tracer.start_span(
        f"{semconv.OPERATION_CHAT} {model}",
        kind=SpanKind.CLIENT,
        attributes={
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
            semconv.GEN_AI_PROVIDER_NAME: semconv.PROVIDER_ANTHROPIC,
            semconv.GEN_AI_REQUEST_MODEL: model,
        },
    )


class CallState:
    __slots__ = (
        "runtime",
        "model",
        "stream",
        "span",
        "owns_span",
        "start",
        "usage",
        "response_model",
        "response_id",
        "stop_reason",
        "request_body",
        "output_text",
        "first_chunk_at",
        "finished",
        "span_enriched",
        "outer",
        "attempts",
        "unacknowledged_error",
        "pending_unacknowledged_retry",
        "dedup",
        "incomplete",
        "_priced",
        "system",
        "_cost",
        "body",
        "extra_body",
        "write_cause",
        "cache_miss_reason",
        "hop",
        "refused_model",
        "fallback_model",
    )

    def __init__(
        self,
        runtime: Runtime,
        model: str,
        stream: bool,
        span: Span | None,
        owns_span: bool,
        request_body: Any,
    ) -> None:
        self.runtime = runtime
        self.model = model
        self.stream = stream
        self.span = span
        self.owns_span = owns_span
        self.start = time.perf_counter()
        self.usage: Usage | None = None
        self.response_model: str | None = None
        self.response_id: str | None = None
        self.stop_reason: str | None = None
        # Kept only when content capture is on: the prompt and output never leave memory otherwise.
        self.request_body = request_body if runtime.settings.capture_content else None
        self.output_text: list[str] | None = [] if runtime.settings.capture_content else None
        self.first_chunk_at: float | None = None
        self.finished = False
        self.span_enriched = False
        # The span current when the call started: the SDK's span is whichever differs from it.
        self.outer: Span | None = None
        self.attempts = 0
        # error.type of the last attempt that failed after its request may have reached the server.
        self.unacknowledged_error: str | None = None
        self.pending_unacknowledged_retry = False
        # This call's passage through the duplicate detector (None when dedup is off).
        self.dedup: Ticket | None = None
        # A stream that ended before message_stop: not a completed request, whatever its outcome.
        self.incomplete = False
        # The usage last priced, and its cost: a call is priced once, for its span and its metrics.
        self._priced: Usage | None = None
        # The system prompt, kept by reference: a call that writes to the cache is a variant of it.
        self.system = request_body.get("system") if isinstance(request_body, dict) else None
        self._cost: CallCost | None = None
        # The request, kept by reference: read only should the call write to the cache or fail.
        self.body: Any = request_body
        self.extra_body: Any = None
        # Why the call wrote to the cache (decided once, when its usage shows a write).
        self.write_cause: str | None = None
        # The API's own diagnosis of a cache miss, when the response carries one.
        self.cache_miss_reason: str | None = None
        # The fallback hop this call is the target of.
        self.hop: hops.Hop | None = None
        # The SDK's refusal fallbacks: the model that refused, and the model a hop moved on to.
        self.refused_model: str | None = None
        self.fallback_model: str | None = None

    # -- what hooks hand over -------------------------------------------------------------------
    def attempt_started(self) -> None:
        """An HTTP attempt is about to be sent, inside the SDK's span when it has one."""
        if not self.owns_span and self.span is None:
            span = trace.get_current_span()
            if span is not self.outer and span.is_recording():
                self.span = span
        if self.hop is not None:
            hops.label_span(self, self.hop)
        previous = self.unacknowledged_error
        self.pending_unacknowledged_retry = previous is not None
        if previous is not None:
            # A retry after an attempt that may have been billed: counted now that it is sent.
            self.unacknowledged_error = None
            self.runtime.recorder.retry_unacknowledged(self.model, previous)

    def attempt_answered(self, status: int, headers: Mapping[str, str], error_body: bytes | None) -> None:
        """An attempt got a response; `error_body` is the body of an error response."""
        extra: dict[str, Any] | None = None
        with guard("call.ratelimits"):
            extra = self._note_ratelimits(status, headers, error_body)
        self._attempt_ended(
            status,
            status_error_type(status, error_body),
            retry_after_seconds(headers) if status >= 400 else None,
            extra,
        )

    def _note_ratelimits(
        self, status: int, headers: Mapping[str, str], error_body: bytes | None
    ) -> dict[str, Any] | None:
        """Headroom for the gauges; for an error, what the attempt event adds: `x-should-retry`, and
        on a 429 the limit it hit. The gauges' lines are copied out here (one string: keeping the
        response's own header objects queued costs the calling thread more than parsing them) and
        parsed off the calling thread, in order."""
        lines = limit_lines(headers)
        if lines is not None:
            DEFERRED.put(_note_headroom, self.runtime, self.model, lines)
        if status < 400:
            return None
        extra: dict[str, Any] = {}
        should_retry = headers.get("x-should-retry")
        if should_retry in ("true", "false"):
            extra[semconv.ANTHROPIC_ATTEMPT_SHOULD_RETRY] = should_retry == "true"
        if status == 429:
            limits = parse_lines(lines)[0] if lines is not None else []
            kind = exhausted_kind(limits, api_error_message(error_body))
            if kind is not None:
                extra[semconv.ANTHROPIC_ATTEMPT_RATELIMIT_EXHAUSTED] = kind
        return extra

    def attempt_failed(self, err: BaseException) -> None:
        """An attempt got no response (timeout, dropped connection, ...)."""
        error_type = classify(err)
        if maybe_billed(err):
            self.unacknowledged_error = error_type
        self._attempt_ended(None, error_type, None)

    def wants_message(self, status: int) -> bool:
        """Whether the parsed message of an attempt's response is worth handing over."""
        return not self.stream and 200 <= status < 300

    def message_received(self, message: Any) -> None:
        """A complete non-streamed Message (SDK object or dict), while the SDK's span is open."""
        self.take_message(message)
        with guard("hops.message"):
            hops.message_seen(self, message)
        self.enrich_span()

    def returned(self, result: Any) -> None:
        """The SDK call returned `result` (not a stream: `state.stream.open_stream` takes those)."""
        if self.usage is None and hasattr(result, "usage"):
            self.take_message(result)
        self.finish()

    def take_message(self, message: Any) -> None:
        self.usage = usage_from_message(message)
        self.response_model = _field(message, "model")
        self.response_id = _field(message, "id")
        self.stop_reason = _field(message, "stop_reason")
        self.cache_miss_reason = cache_miss_reason(message)
        if self.output_text is not None:
            for block in _field(message, "content") or ():
                text = _field(block, "text")
                if isinstance(text, str):
                    self.output_text.append(text)

    # -- decisions --------------------------------------------------------------------------------
    def _attempt_ended(
        self,
        status: int | None,
        error_type: str | None,
        retry_after: float | None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        number = self.attempts
        self.attempts = number + 1
        self.runtime.recorder.attempt_ended(self.model, status, error_type)
        span = self.span
        if span is not None and span.is_recording():
            event: dict[str, Any] = {semconv.ANTHROPIC_ATTEMPT_NUMBER: number}
            if status is not None:
                event[semconv.HTTP_RESPONSE_STATUS_CODE] = status
            if error_type is not None:
                event[semconv.ERROR_TYPE] = error_type
            if retry_after is not None:
                event[semconv.ANTHROPIC_ATTEMPT_RETRY_AFTER_S] = retry_after
            if self.pending_unacknowledged_retry:
                event[semconv.ANTHROPIC_ATTEMPT_RETRY_OF_UNACKNOWLEDGED] = True
            if extra:
                event.update(extra)
            span.add_event(semconv.EVENT_ATTEMPT, event)

    def cost(self) -> CallCost | None:
        """The cost of the usage seen so far, priced once per usage."""
        usage = self.usage
        if usage is None or usage.malformed:
            return None
        if usage is not self._priced:
            self._priced = usage
            self._cost = self.runtime.prices.cost(usage, self.model)
        return self._cost

    def enrich_span(self) -> None:
        """Write usage, cost and hit ratio on the span while it is still open. Idempotent."""
        span = self.span
        if span is None or self.span_enriched or not span.is_recording():
            return
        self.span_enriched = True
        usage = self.usage
        if self.stop_reason:
            # The SDK's own span names the stop reason only its own way: the conventions' name too.
            span.set_attribute(semconv.GEN_AI_RESPONSE_FINISH_REASONS, (self.stop_reason,))
        if self.owns_span:
            if self.response_model:
                span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, self.response_model)
            if self.response_id:
                span.set_attribute(semconv.GEN_AI_RESPONSE_ID, self.response_id)
            if self.first_chunk_at is not None:
                span.set_attribute(
                    semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, self.first_chunk_at - self.start
                )
        if usage is not None and usage.malformed:
            # No token attributes from us: the counts were impossible (see extract.usage).
            span.set_attribute(semconv.ANTHROPIC_USAGE_MALFORMED, True)
        elif usage is not None:
            if self.owns_span:
                span.set_attribute(semconv.GEN_AI_USAGE_INPUT_TOKENS, usage.total_input)
                span.set_attribute(semconv.GEN_AI_USAGE_OUTPUT_TOKENS, usage.output)
                span.set_attribute(semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read)
                span.set_attribute(semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, usage.cache_write)
            ratio = usage.hit_ratio
            if ratio is not None:
                span.set_attribute(semconv.ANTHROPIC_CACHE_HIT_RATIO, ratio)
            cost = self.cost()
            if cost is not None:
                span.set_attribute(semconv.ANTHROPIC_COST_USD, cost.total)
            _set_billing(span, usage)
        ticket = self.dedup
        if ticket is not None and ticket.state is not None:
            span.set_attribute(semconv.ANTHROPIC_DUPLICATE_STATE, ticket.state)
        if self.cache_miss_reason is not None:
            span.set_attribute(semconv.ANTHROPIC_CACHE_MISS_REASON, self.cache_miss_reason)
        if usage is not None and usage.cache_write:  # only calls that wrote pay for the decision
            with guard("call.write_cause"):
                cause = self._write_cause()
                if cause is not None:
                    span.set_attribute(semconv.ANTHROPIC_CACHE_WRITE_CAUSE, cause)
        if self.request_body is not None:
            self._add_content_event(span)

    def _add_content_event(self, span: Span) -> None:
        body = self.request_body if isinstance(self.request_body, dict) else {}
        limit = self.runtime.settings.capture_content_max_chars
        attributes: dict[str, Any] = {}
        truncated: list[str] = []

        def put(name: str, text: str) -> None:
            attributes[name], cut = capped(text, limit)
            if cut:
                truncated.append(name)

        messages = body.get("messages")
        put(
            semconv.GEN_AI_INPUT_MESSAGES,
            to_json([] if messages is None or is_sentinel(messages) else messages),
        )
        system = body.get("system")
        if system is not None and not is_sentinel(system):
            put(semconv.GEN_AI_SYSTEM_INSTRUCTIONS, to_json(system))
        if self.output_text is not None:
            output = [
                {"role": "assistant", "parts": [{"type": "text", "content": "".join(self.output_text)}]}
            ]
            put(semconv.GEN_AI_OUTPUT_MESSAGES, json.dumps(output))
        if truncated:
            attributes[semconv.ANTHROPIC_CONTENT_TRUNCATED] = tuple(truncated)
        span.add_event(semconv.EVENT_GEN_AI_CONTENT, attributes)

    # -- the one end ----------------------------------------------------------------------------
    def finish(self, error: BaseException | None = None, error_type: str | None = None) -> None:
        """Record the call's metrics and end our span. Runs once; later calls do nothing."""
        if self.finished:
            return
        self.finished = True
        if error is not None and error_type is None:
            error_type = type(error).__name__  # what is left should the classifier itself fail
            with guard("call.classify"):
                error_type = classify(error)
        with guard("call.enrich_span"):
            self.enrich_span()
        with guard("call.record"):
            self._record(error_type)
        with guard("call.system_variants"):
            self._note_system_variant()
        usage = self.usage
        if usage is not None and usage.cache_write:
            with guard("call.write_cause"):
                self._record_write_cause()
        if error_type is not None:
            with guard("hops.failed"):
                hops.call_failed(self, error, error_type)
        if self.dedup is not None:
            with guard("dedup.settle"):
                self._settle_dedup(self.dedup, failed=error_type is not None)
        if self.owns_span and self.span is not None:
            with guard("call.end_span"):
                if error_type is not None:
                    self.span.set_attribute(semconv.ERROR_TYPE, error_type)
                    self.span.set_status(
                        Status(StatusCode.ERROR, self._status_description(error, error_type))
                    )
                self.span.end()

    def _record(self, error_type: str | None) -> None:
        """Hand the call's metrics, and model fit for a successful, complete call, to the deferred
        queue: the recorder's and model fit's own methods with small values, never this state, which
        holds the prompt. Priced here, once (the span's cost is the same one)."""
        first_chunk_at = self.first_chunk_at
        usage = self.usage
        cost = self.cost()
        DEFERRED.put(
            self.runtime.recorder.call_ended,
            self.model,
            self.stream,
            error_type,
            time.perf_counter() - self.start,
            first_chunk_at - self.start if self.stream and first_chunk_at is not None else None,
            usage,
            cost,
            otel_context.get_current(),
        )
        model_fit = self.runtime.model_fit
        succeeded = error_type is None and not self.incomplete
        if succeeded and model_fit is not None and usage is not None and cost is not None:
            DEFERRED.put(model_fit.call_succeeded, self.model, usage, cost)

    def _note_system_variant(self) -> None:
        usage = self.usage
        system = self.system
        if (
            usage is not None
            and not usage.malformed
            and usage.cache_write
            and system
            and not is_sentinel(system)
        ):
            self.runtime.system_variants.cache_written(self.model, system)

    def _write_cause(self) -> str | None:
        """Why the call wrote to the cache; None when it wrote nothing. Decided once: deciding notes
        the call's prefix as seen."""
        cause = self.write_cause
        if cause is None:
            usage = self.usage
            body = self.body if isinstance(self.body, dict) else None
            if usage is not None and not usage.malformed and usage.cache_write and body is not None:
                cause = self.write_cause = self.runtime.write_causes.cache_written(
                    self.model, body, usage.cache_read > 0
                )
        return cause

    def _record_write_cause(self) -> None:
        cause = self._write_cause()
        usage = self.usage
        if cause is not None and usage is not None:
            self.runtime.recorder.cache_written(self.model, cause, usage.cache_write)

    def _status_description(self, error: BaseException | None, kind: str) -> str:
        """The error type and HTTP status: the API's message can quote the prompt back, so it is
        content, shown only when content capture is on."""
        settings = self.runtime.settings
        if error is not None and settings.capture_content:
            return capped(str(error), settings.capture_content_max_chars)[0]
        status = getattr(error, "status_code", None)
        if isinstance(status, int) and not isinstance(status, bool):
            return f"{kind} (HTTP {status})"
        return kind

    def _settle_dedup(self, ticket: Ticket, failed: bool) -> None:
        """Completed: mark it so (and count a duplicate's billed tokens). Otherwise free its in-flight mark."""
        detector = self.runtime.dedup
        usage = self.usage
        if failed or self.incomplete or usage is None:
            detector.fail(ticket)
        else:
            detector.complete(ticket, usage.total_input + usage.output)


def _note_headroom(runtime: Runtime, model: str, lines: LimitLines) -> None:
    """A response's rate-limit lines, for the headroom gauges (deferred work)."""
    garbled = runtime.ratelimits.seen(model, lines)[1]
    if garbled:
        runtime.recorder.ratelimit_headers_garbled(model, garbled)


def _field(obj: Any, name: str) -> Any:
    """A field of an SDK model or of its decoded JSON."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _set_billing(span: Span, usage: Usage) -> None:
    """How the response says its tokens were billed: what makes its cost differ from list price."""
    if usage.service_tier is not None:
        span.set_attribute(semconv.ANTHROPIC_RESPONSE_SERVICE_TIER, usage.service_tier)
    if usage.speed is not None:
        span.set_attribute(semconv.ANTHROPIC_RESPONSE_SPEED, usage.speed)
    if usage.inference_geo is not None:
        span.set_attribute(semconv.ANTHROPIC_RESPONSE_INFERENCE_GEO, usage.inference_geo)
