"""One logical API call (all its SDK retries and, for streams, the whole stream) while it runs.

Hooks create a `CallRecord` when the call starts, feed it what they see (the SDK's span, the
final usage, stream events) and call `finish()` exactly once; `finish()` turns it into metrics
and span attributes. Metric attribute dicts come from the runtime's cache (no per-call builds).
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode

from .. import semconv
from .._guard import guard
from .._runtime import Runtime
from ..dedup.detector import Ticket
from ..extract.content import capped, is_sentinel, to_json
from ..extract.errors import error_type as classify
from ..extract.usage import Usage


class CallRecord:
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

    # -- what hooks feed ------------------------------------------------------------------
    def take_message(self, message: Any) -> None:
        """A complete non-streamed Message (SDK object or dict)."""
        from ..extract.usage import usage_from_message

        self.usage = usage_from_message(message)
        self.response_model = _field(message, "model")
        self.response_id = _field(message, "id")
        self.stop_reason = _field(message, "stop_reason")
        if self.output_text is not None:
            for block in _field(message, "content") or ():
                text = _field(block, "text")
                if isinstance(text, str):
                    self.output_text.append(text)

    def begin_attempt(self) -> None:
        """An HTTP attempt is about to be sent. A retry after an unacknowledged failure is counted now."""
        previous = self.unacknowledged_error
        self.pending_unacknowledged_retry = previous is not None
        if previous is not None:
            self.unacknowledged_error = None
            inst = self.runtime.instruments
            model = self.model
            inst.retries_unacknowledged.add(
                1,
                inst.attrs(
                    ("unack", model, previous),
                    lambda: {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ERROR_TYPE: previous},
                ),
            )

    def end_attempt(
        self,
        status: int | None,
        error_type: str | None,
        retry_after: float | None,
        maybe_billed: bool,
    ) -> None:
        """One HTTP attempt ended: with a response (`status`) or without (`status` None)."""
        number = self.attempts
        self.attempts = number + 1
        if status is None and maybe_billed:
            self.unacknowledged_error = error_type
        inst = self.runtime.instruments
        model = self.model
        inst.attempts.add(
            1,
            inst.attrs(("att", model, status, error_type), lambda: _attempt_attrs(model, status, error_type)),
        )
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
            span.add_event(semconv.EVENT_ATTEMPT, event)

    def enrich_span(self) -> None:
        """Write usage, cost and hit ratio on the span while it is still open. Idempotent."""
        span = self.span
        if span is None or self.span_enriched or not span.is_recording():
            return
        self.span_enriched = True
        usage = self.usage
        if self.owns_span:
            if self.response_model:
                span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, self.response_model)
            if self.response_id:
                span.set_attribute(semconv.GEN_AI_RESPONSE_ID, self.response_id)
            if self.stop_reason:
                span.set_attribute(semconv.GEN_AI_RESPONSE_FINISH_REASONS, (self.stop_reason,))
            if self.first_chunk_at is not None:
                span.set_attribute(
                    semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, self.first_chunk_at - self.start
                )
        if usage is not None and usage.malformed:
            # No token attributes from us: the counts were impossible (see record.usage).
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
            cost = self.runtime.prices.cost(usage, self.model)
            if cost is not None:
                span.set_attribute(semconv.ANTHROPIC_COST_USD, cost.total)
        ticket = self.dedup
        if ticket is not None and ticket.state is not None:
            span.set_attribute(semconv.ANTHROPIC_DUPLICATE_STATE, ticket.state)
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

    # -- the one end ----------------------------------------------------------------------
    def finish(self, error: BaseException | None = None, error_type: str | None = None) -> None:
        """Record the call's metrics and end our span. Runs once; later calls do nothing."""
        if self.finished:
            return
        self.finished = True
        if error is not None and error_type is None:
            error_type = type(error).__name__  # what is left should the classifier itself fail
            with guard("call.classify"):
                error_type = classify(error)
        with guard("call.finish"):
            self._record(error, error_type)
        if self.dedup is not None:
            with guard("dedup.settle"):
                self._settle_dedup(self.dedup, failed=error is not None or error_type is not None)
        if self.owns_span and self.span is not None:
            with guard("call.end_span"):
                if error is not None or error_type is not None:
                    kind = error_type or type(error).__name__
                    self.span.set_attribute(semconv.ERROR_TYPE, kind)
                    self.span.set_status(Status(StatusCode.ERROR, self._status_description(error, kind)))
                self.span.end()

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

    def _record(self, error: BaseException | None, error_type: str | None) -> None:
        runtime = self.runtime
        inst = runtime.instruments
        model = self.model
        with guard("call.enrich_span"):
            self.enrich_span()

        inst.duration.record(
            time.perf_counter() - self.start,
            inst.attrs(("op", model, error_type), lambda: _operation_attrs(model, error_type)),
        )
        inst.requests.add(
            1,
            inst.attrs(
                ("req", model, error_type, self.stream),
                lambda: {
                    semconv.GEN_AI_REQUEST_MODEL: model,
                    semconv.ANTHROPIC_REQUEST_OUTCOME: semconv.OUTCOME_ERROR
                    if error_type
                    else semconv.OUTCOME_SUCCESS,
                    **({semconv.ERROR_TYPE: error_type} if error_type else {}),
                    semconv.ANTHROPIC_REQUEST_STREAM: self.stream,
                },
            ),
        )
        if self.stream and self.first_chunk_at is not None:
            inst.time_to_first_chunk.record(
                self.first_chunk_at - self.start,
                inst.attrs(("op", model, None), lambda: _operation_attrs(model, None)),
            )
        usage = self.usage
        if usage is None:
            return
        if usage.malformed:
            # The request's outcome stands; its impossible token counts are left out of every
            # token, cost and histogram series (one would poison the cumulative counters for good).
            inst.usage_malformed.add(
                1, inst.attrs(("m", model), lambda: {semconv.GEN_AI_REQUEST_MODEL: model})
            )
            return
        inst.token_usage.record(
            usage.total_input, inst.attrs(("tu", model, "input"), lambda: _token_usage_attrs(model, "input"))
        )
        inst.token_usage.record(
            usage.output, inst.attrs(("tu", model, "output"), lambda: _token_usage_attrs(model, "output"))
        )
        for token_type, count in usage.by_type():
            # Input and output always get a sample so their series exist; cache kinds only when used.
            if count or token_type in (semconv.TOKEN_INPUT, semconv.TOKEN_OUTPUT):
                inst.tokens.add(
                    count, inst.attrs(("tok", model, token_type), partial(_typed_attrs, model, token_type))
                )
        cost = runtime.prices.cost(usage, model)
        if cost is None:
            return
        for token_type, usd in cost.by_type:
            if usd or token_type in (semconv.TOKEN_INPUT, semconv.TOKEN_OUTPUT):
                inst.cost.add(
                    usd, inst.attrs(("tok", model, token_type), partial(_typed_attrs, model, token_type))
                )
        inst.cost_uncached.add(
            cost.uncached_total, inst.attrs(("m", model), lambda: {semconv.GEN_AI_REQUEST_MODEL: model})
        )


def _field(obj: Any, name: str) -> Any:
    """A field of an SDK model or of its decoded JSON."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _operation_attrs(model: str, error_type: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
        semconv.GEN_AI_PROVIDER_NAME: semconv.PROVIDER_ANTHROPIC,
        semconv.GEN_AI_REQUEST_MODEL: model,
    }
    if error_type:
        attrs[semconv.ERROR_TYPE] = error_type
    return attrs


def _attempt_attrs(model: str, status: int | None, error_type: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {semconv.GEN_AI_REQUEST_MODEL: model}
    if status is not None:
        attrs[semconv.HTTP_RESPONSE_STATUS_CODE] = status
    if error_type is not None:
        attrs[semconv.ERROR_TYPE] = error_type
    return attrs


def _token_usage_attrs(model: str, token_type: str) -> dict[str, Any]:
    attrs = _operation_attrs(model, None)
    attrs[semconv.GEN_AI_TOKEN_TYPE] = token_type
    return attrs


def _typed_attrs(model: str, token_type: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ANTHROPIC_TOKEN_TYPE: token_type}
