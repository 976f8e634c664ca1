"""Every telemetry name the package emits: instruments, units, attributes and enum values.

This module is the single source of truth for names. Nothing else in the package spells a
metric or attribute name; `docs/telemetry.md` is generated from the `INSTRUMENTS`,
`SPAN_ATTRIBUTES` and `ENUMS` tables below and a test fails when the two drift apart.
Names are API: change one only with a changelog entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# --- GenAI semantic-convention attributes (as the SDK's own tracing writes them) ---------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
ERROR_TYPE: Final = "error.type"

PROVIDER_ANTHROPIC: Final = "anthropic"
OPERATION_CHAT: Final = "chat"

# Event carrying prompt/output content when capture is on (GenAI semconv event name).
EVENT_GEN_AI_CONTENT: Final = "gen_ai.client.inference.operation.details"
# In that event: the names of its attributes cut to the capture limit, each ending with the marker.
ANTHROPIC_CONTENT_TRUNCATED: Final = "anthropic.content.truncated"
CONTENT_TRUNCATED_MARKER: Final = "...[truncated]"

# --- Our attributes ---------------------------------------------------------------------
ANTHROPIC_TOKEN_TYPE: Final = "anthropic.token.type"
ANTHROPIC_CACHE_HIT_RATIO: Final = "anthropic.cache.hit_ratio"
ANTHROPIC_COST_USD: Final = "anthropic.cost.usd"
ANTHROPIC_REQUEST_OUTCOME: Final = "anthropic.request.outcome"
ANTHROPIC_REQUEST_STREAM: Final = "anthropic.request.stream"
ANTHROPIC_STREAM_END_REASON: Final = "anthropic.stream.end_reason"
ANTHROPIC_DUPLICATE_STATE: Final = "anthropic.duplicate.state"
ANTHROPIC_FALLBACK_FROM_MODEL: Final = "anthropic.fallback.from_model"
ANTHROPIC_FALLBACK_TO_MODEL: Final = "anthropic.fallback.to_model"
ANTHROPIC_FALLBACK_REASON: Final = "anthropic.fallback.reason"
ANTHROPIC_CACHE_WRITE_CAUSE: Final = "anthropic.cache.write_cause"
# The API's own diagnosis of a cache miss (beta), recorded on the span beside our write cause.
ANTHROPIC_CACHE_MISS_REASON: Final = "anthropic.cache.miss_reason"
ANTHROPIC_MODEL_FIT_CHEAPER_MODEL: Final = "anthropic.model_fit.cheaper_model"
# The name an application gives a cascade (a setting of the helper, never request content).
ANTHROPIC_CASCADE_NAME: Final = "anthropic.cascade.name"
ANTHROPIC_CASCADE_FROM_MODEL: Final = "anthropic.cascade.from_model"
ANTHROPIC_CASCADE_TO_MODEL: Final = "anthropic.cascade.to_model"
# Which rate limit a value is about (`requests`, `input_tokens`, ... and `priority_*`, `fast_*`).
ANTHROPIC_RATELIMIT_KIND: Final = "anthropic.ratelimit.kind"
# On a 429's attempt event: the limit it hit, when the headers or the error message say.
ANTHROPIC_ATTEMPT_RATELIMIT_EXHAUSTED: Final = "anthropic.attempt.ratelimit_exhausted"
# On an attempt event: the server's `x-should-retry` answer.
ANTHROPIC_ATTEMPT_SHOULD_RETRY: Final = "anthropic.attempt.should_retry"
# The cascade name recorded for cascades named past the cap on distinct names.
CASCADE_NAME_OTHER: Final = "_OTHER"
ANTHROPIC_INTERNAL_ERROR_SITE: Final = "anthropic_otel.site"
ANTHROPIC_ATTEMPT_NUMBER: Final = "anthropic.attempt.number"
ANTHROPIC_ATTEMPT_RETRY_AFTER_S: Final = "anthropic.attempt.retry_after_s"
ANTHROPIC_ATTEMPT_RETRY_OF_UNACKNOWLEDGED: Final = "anthropic.attempt.retry_of_unacknowledged"
ANTHROPIC_STREAM_EVENTS: Final = "anthropic.stream.events"
ANTHROPIC_STREAM_PARTIAL_OUTPUT_TOKENS: Final = "anthropic.stream.partial_output_tokens"
ANTHROPIC_DEDUP_STORE: Final = "anthropic_otel.dedup.store"
ANTHROPIC_USAGE_MALFORMED: Final = "anthropic.usage.malformed"
# How the response says its tokens were billed (its `usage` fields). The tier keeps the name the SDK's
# own span gives it; speed and region are ours. Span only: on the cost metric they would multiply its
# series, and the cost already carries their price.
ANTHROPIC_RESPONSE_SERVICE_TIER: Final = "anthropic.response.service_tier"
ANTHROPIC_RESPONSE_SPEED: Final = "anthropic.response.speed"
ANTHROPIC_RESPONSE_INFERENCE_GEO: Final = "anthropic.response.inference_geo"
# The OTel SDK's attribute for the series that takes attribute sets past a cardinality limit.
OTEL_METRIC_OVERFLOW: Final = "otel.metric.overflow"

# Span event, one per HTTP attempt.
EVENT_ATTEMPT: Final = "anthropic.attempt"

# --- Enum values --------------------------------------------------------------------------
TOKEN_INPUT: Final = "input"
TOKEN_OUTPUT: Final = "output"
TOKEN_CACHE_WRITE_5M: Final = "cache_write_5m"
TOKEN_CACHE_WRITE_1H: Final = "cache_write_1h"
TOKEN_CACHE_READ: Final = "cache_read"
TOKEN_TYPES: Final = (TOKEN_INPUT, TOKEN_OUTPUT, TOKEN_CACHE_WRITE_5M, TOKEN_CACHE_WRITE_1H, TOKEN_CACHE_READ)

# Billing labels of a response's usage that price as list price (every other value: pricing's tables).
SERVICE_TIER_STANDARD: Final = "standard"
SERVICE_TIER_PRIORITY: Final = "priority"
SERVICE_TIER_BATCH: Final = "batch"
SPEED_STANDARD: Final = "standard"
SPEED_FAST: Final = "fast"
INFERENCE_GEO_GLOBAL: Final = "global"
INFERENCE_GEO_US: Final = "us"
# What the API reports for models that predate the region choice (before Opus 4.6).
INFERENCE_GEO_NOT_AVAILABLE: Final = "not_available"

OUTCOME_SUCCESS: Final = "success"
OUTCOME_ERROR: Final = "error"

# The closed list of stream end reasons, as a type: every way a stream ends maps to one of them.
EndReason = Literal["complete", "error", "timeout", "unexpected_close", "cancelled", "abandoned"]
END_COMPLETE: Final = "complete"
END_ERROR: Final = "error"
END_TIMEOUT: Final = "timeout"
END_UNEXPECTED_CLOSE: Final = "unexpected_close"
END_CANCELLED: Final = "cancelled"
END_ABANDONED: Final = "abandoned"
END_REASONS: Final = (
    END_COMPLETE,
    END_ERROR,
    END_TIMEOUT,
    END_UNEXPECTED_CLOSE,
    END_CANCELLED,
    END_ABANDONED,
)

DUPLICATE_IN_FLIGHT: Final = "in_flight"
DUPLICATE_COMPLETED: Final = "completed"

FALLBACK_TO_CANNED: Final = "canned"
FALLBACK_OVERLOADED: Final = "overloaded"
FALLBACK_RATE_LIMITED: Final = "rate_limited"
FALLBACK_SERVER_ERROR: Final = "server_error"
FALLBACK_TIMEOUT: Final = "timeout"
FALLBACK_REFUSAL: Final = "refusal"
FALLBACK_REASONS: Final = (
    FALLBACK_OVERLOADED,
    FALLBACK_RATE_LIMITED,
    FALLBACK_SERVER_ERROR,
    FALLBACK_TIMEOUT,
    FALLBACK_REFUSAL,
)

# Why a call wrote to the prompt cache: the first segment of its cached prefix (tools, then system,
# then messages) this process had not seen in the window; all seen before: the entry was rewritten
# (its TTL lapsed or it was evicted).
WRITE_CAUSE_NEW_TOOLS: Final = "new_tools"
WRITE_CAUSE_NEW_SYSTEM: Final = "new_system"
WRITE_CAUSE_NEW_MESSAGES: Final = "new_messages"
WRITE_CAUSE_REWRITTEN: Final = "rewritten"
WRITE_CAUSES: Final = (
    WRITE_CAUSE_NEW_TOOLS,
    WRITE_CAUSE_NEW_SYSTEM,
    WRITE_CAUSE_NEW_MESSAGES,
    WRITE_CAUSE_REWRITTEN,
)

# The API's own cache-miss diagnosis (beta `cache-diagnosis-2026-04-07`): the `type` of a response's
# `diagnostics.cache_miss_reason`, as the SDK's types list them. Any other value becomes ERROR_OTHER.
CACHE_MISS_MODEL_CHANGED: Final = "model_changed"
CACHE_MISS_SYSTEM_CHANGED: Final = "system_changed"
CACHE_MISS_TOOLS_CHANGED: Final = "tools_changed"
CACHE_MISS_MESSAGES_CHANGED: Final = "messages_changed"
CACHE_MISS_PREVIOUS_MESSAGE_NOT_FOUND: Final = "previous_message_not_found"
CACHE_MISS_UNAVAILABLE: Final = "unavailable"
CACHE_MISS_REASONS: Final = (
    CACHE_MISS_MODEL_CHANGED,
    CACHE_MISS_SYSTEM_CHANGED,
    CACHE_MISS_TOOLS_CHANGED,
    CACHE_MISS_MESSAGES_CHANGED,
    CACHE_MISS_PREVIOUS_MESSAGE_NOT_FOUND,
    CACHE_MISS_UNAVAILABLE,
)

# Server-supplied `error.type` values kept as they are: the API's documented types
# (platform.claude.com/docs/en/api/errors; "type values will grow over time"). Any other server-supplied
# value becomes ERROR_OTHER, the fallback OTel's own `error.type` convention defines: a server (or a
# proxy in front of it) can send any string, and each distinct one would be a new metric series.
# Not `api_error`, which would claim an internal server error the API did not report.
API_ERROR_TYPES: Final = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "billing_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "timeout_error",
        "overloaded_error",
    }
)
ERROR_OTHER: Final = "_OTHER"

ERROR_TIMEOUT: Final = "timeout"
ERROR_CONNECTION: Final = "connection_error"
ERROR_OVERLOADED: Final = "overloaded_error"
ERROR_MALFORMED_RESPONSE: Final = "malformed_response"

# --- Instruments --------------------------------------------------------------------------
COUNTER: Final = "counter"
HISTOGRAM: Final = "histogram"
UPDOWN: Final = "updowncounter"
GAUGE: Final = "gauge"


@dataclass(frozen=True)
class Instrument:
    name: str
    kind: str
    unit: str
    description: str
    attributes: tuple[str, ...]


GEN_AI_CLIENT_OPERATION_DURATION: Final = Instrument(
    "gen_ai.client.operation.duration",
    HISTOGRAM,
    "s",
    "Duration of one logical call, all SDK retries and the whole stream included.",
    (GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL, ERROR_TYPE),
)
GEN_AI_CLIENT_TOKEN_USAGE: Final = Instrument(
    "gen_ai.client.token.usage",
    HISTOGRAM,
    "{token}",
    "Tokens per call; input counts all input tokens, cache reads and writes included.",
    (GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL, GEN_AI_TOKEN_TYPE),
)
GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK: Final = Instrument(
    "gen_ai.client.operation.time_to_first_chunk",
    HISTOGRAM,
    "s",
    "Streams only: time from the call to the first streamed event.",
    (GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL),
)
ANTHROPIC_TOKENS: Final = Instrument(
    "anthropic.tokens",
    COUNTER,
    "{token}",
    "Billed tokens by kind: uncached input, output, cache writes (5m, 1h) and cache reads.",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_TOKEN_TYPE),
)
ANTHROPIC_COST: Final = Instrument(
    "anthropic.cost.usd",
    COUNTER,
    "{USD}",
    "Cost in US dollars by token kind, from the price table (unknown models are skipped).",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_TOKEN_TYPE),
)
ANTHROPIC_COST_UNCACHED: Final = Instrument(
    "anthropic.cost.uncached.usd",
    COUNTER,
    "{USD}",
    "What the same tokens would have cost with no prompt caching; minus anthropic.cost.usd = net cache saving.",
    (GEN_AI_REQUEST_MODEL,),
)
ANTHROPIC_COST_BILLING: Final = Instrument(
    "anthropic.cost.billing.usd",
    COUNTER,
    "{USD}",
    "Cost in US dollars of the calls billed away from standard rates (a service tier other than standard, "
    "fast mode, a priced inference region such as us), by what their usage reported; also in anthropic.cost.usd.",
    (
        GEN_AI_REQUEST_MODEL,
        ANTHROPIC_RESPONSE_SERVICE_TIER,
        ANTHROPIC_RESPONSE_SPEED,
        ANTHROPIC_RESPONSE_INFERENCE_GEO,
    ),
)
ANTHROPIC_ATTEMPTS: Final = Instrument(
    "anthropic.attempts",
    COUNTER,
    "{attempt}",
    "Every HTTP attempt, the SDK's internal retries included.",
    (GEN_AI_REQUEST_MODEL, HTTP_RESPONSE_STATUS_CODE, ERROR_TYPE),
)
ANTHROPIC_REQUESTS: Final = Instrument(
    "anthropic.requests",
    COUNTER,
    "{request}",
    "Logical calls (one per SDK method call, whatever its retries) by outcome.",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_REQUEST_OUTCOME, ERROR_TYPE, ANTHROPIC_REQUEST_STREAM),
)
ANTHROPIC_STREAMS: Final = Instrument(
    "anthropic.streams",
    COUNTER,
    "{stream}",
    "Finished streams by their one end reason.",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_STREAM_END_REASON),
)
ANTHROPIC_STREAMS_ACTIVE: Final = Instrument(
    "anthropic.streams.active",
    UPDOWN,
    "{stream}",
    "Streams open now.",
    (GEN_AI_REQUEST_MODEL,),
)
ANTHROPIC_STREAMS_STALLED: Final = Instrument(
    "anthropic.streams.stalled",
    UPDOWN,
    "{stream}",
    "Streams silent for longer than the idle threshold, now.",
    (GEN_AI_REQUEST_MODEL,),
)
ANTHROPIC_FALLBACK_HOPS: Final = Instrument(
    "anthropic.fallback.hops",
    COUNTER,
    "{hop}",
    "Fallback hops from one model to the next (or to a canned answer).",
    (ANTHROPIC_FALLBACK_FROM_MODEL, ANTHROPIC_FALLBACK_TO_MODEL, ANTHROPIC_FALLBACK_REASON),
)
ANTHROPIC_DUPLICATES: Final = Instrument(
    "anthropic.duplicates",
    COUNTER,
    "{request}",
    "Requests whose fingerprint was already in flight or completed within the window.",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_DUPLICATE_STATE),
)
ANTHROPIC_DUPLICATES_TOKENS: Final = Instrument(
    "anthropic.duplicates.tokens",
    COUNTER,
    "{token}",
    "Tokens billed for duplicate requests.",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_DUPLICATE_STATE),
)
ANTHROPIC_RETRIES_UNACKNOWLEDGED: Final = Instrument(
    "anthropic.retries.unacknowledged",
    COUNTER,
    "{attempt}",
    "Retries sent after a timeout or lost connection, when the server may already have billed the first attempt.",
    (GEN_AI_REQUEST_MODEL, ERROR_TYPE),
)
ANTHROPIC_OTEL_INTERNAL_ERRORS: Final = Instrument(
    "anthropic_otel.internal_errors",
    COUNTER,
    "{error}",
    "Failures caught inside the instrumentation (never raised to the application), by site.",
    (ANTHROPIC_INTERNAL_ERROR_SITE,),
)
ANTHROPIC_CACHE_SYSTEM_VARIANTS: Final = Instrument(
    "anthropic.cache.system_variants",
    GAUGE,
    "{variant}",
    "Distinct cache-writing system prompts per model in the window (the A/B-test trap).",
    (GEN_AI_REQUEST_MODEL,),
)
ANTHROPIC_CACHE_WRITES: Final = Instrument(
    "anthropic.cache.writes",
    COUNTER,
    "{token}",
    "Tokens written to the prompt cache, by why they were written (summed over causes: the cache_write tokens).",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_CACHE_WRITE_CAUSE),
)
ANTHROPIC_MODEL_FIT_CALLS: Final = Instrument(
    "anthropic.model_fit.calls",
    COUNTER,
    "{request}",
    "Calls with a short output (classification-like work) to a model pricier than the cheaper model.",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_MODEL_FIT_CHEAPER_MODEL),
)
ANTHROPIC_MODEL_FIT_COST: Final = Instrument(
    "anthropic.model_fit.cost.usd",
    COUNTER,
    "{USD}",
    "What those short-output calls cost on the model they ran on.",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_MODEL_FIT_CHEAPER_MODEL),
)
ANTHROPIC_MODEL_FIT_CHEAPER_COST: Final = Instrument(
    "anthropic.model_fit.cheaper_cost.usd",
    COUNTER,
    "{USD}",
    "What the same tokens of those calls would cost on the cheaper model.",
    (GEN_AI_REQUEST_MODEL, ANTHROPIC_MODEL_FIT_CHEAPER_MODEL),
)
ANTHROPIC_CASCADE_REQUESTS: Final = Instrument(
    "anthropic.cascade.requests",
    COUNTER,
    "{request}",
    "Requests a cascade answered, by the model whose answer it kept.",
    (ANTHROPIC_CASCADE_NAME, GEN_AI_REQUEST_MODEL),
)
ANTHROPIC_CASCADE_ESCALATIONS: Final = Instrument(
    "anthropic.cascade.escalations",
    COUNTER,
    "{escalation}",
    "Escalations from one cascade stage's model to the next.",
    (ANTHROPIC_CASCADE_NAME, ANTHROPIC_CASCADE_FROM_MODEL, ANTHROPIC_CASCADE_TO_MODEL),
)
ANTHROPIC_CASCADE_COST: Final = Instrument(
    "anthropic.cascade.cost.usd",
    COUNTER,
    "{USD}",
    "What each cascade stage cost, by the stage's model.",
    (ANTHROPIC_CASCADE_NAME, GEN_AI_REQUEST_MODEL),
)
ANTHROPIC_CASCADE_BASELINE_COST: Final = Instrument(
    "anthropic.cascade.baseline_cost.usd",
    COUNTER,
    "{USD}",
    "What the same traffic would have cost on the cascade's last (most capable) model alone.",
    (ANTHROPIC_CASCADE_NAME, GEN_AI_REQUEST_MODEL),
)
_RATELIMIT_ATTRIBUTES: Final = (GEN_AI_REQUEST_MODEL, ANTHROPIC_RATELIMIT_KIND)
ANTHROPIC_RATELIMIT_LIMIT: Final = Instrument(
    "anthropic.ratelimit.limit",
    GAUGE,
    "{unit}",
    "The rate limit the last response announced, per model and kind (requests or tokens per minute).",
    _RATELIMIT_ATTRIBUTES,
)
ANTHROPIC_RATELIMIT_REMAINING: Final = Instrument(
    "anthropic.ratelimit.remaining",
    GAUGE,
    "{unit}",
    "What the last response said is left of the rate limit, per model and kind.",
    _RATELIMIT_ATTRIBUTES,
)
ANTHROPIC_RATELIMIT_RESET_TIME: Final = Instrument(
    "anthropic.ratelimit.reset_time",
    GAUGE,
    "s",
    "Unix time at which the last response said the limit resets (`- time()` in PromQL: seconds left).",
    _RATELIMIT_ATTRIBUTES,
)
ANTHROPIC_OTEL_RATELIMIT_HEADER_ERRORS: Final = Instrument(
    "anthropic_otel.ratelimit.header_errors",
    COUNTER,
    "{header}",
    "Rate-limit header values that did not parse (skipped).",
    (GEN_AI_REQUEST_MODEL,),
)

ANTHROPIC_OTEL_DEDUP_STORE_ERRORS: Final = Instrument(
    "anthropic_otel.dedup.store_errors",
    COUNTER,
    "{error}",
    "Dedup store failures (Redis down or slow); detection falls back to the in-memory store meanwhile.",
    (ANTHROPIC_DEDUP_STORE,),
)
ANTHROPIC_OTEL_DEDUP_DROPPED: Final = Instrument(
    "anthropic_otel.dedup.dropped",
    COUNTER,
    "{request}",
    "Requests not checked for duplicates because the background queue to the store was full.",
    (ANTHROPIC_DEDUP_STORE,),
)

ANTHROPIC_USAGE_MALFORMED_RESPONSES: Final = Instrument(
    "anthropic.usage.malformed",
    COUNTER,
    "{response}",
    "Responses whose usage had a token count no real response has (over 100 million in one field): no tokens or cost recorded for them.",
    (GEN_AI_REQUEST_MODEL,),
)

# --- GenAI metrics of the newest conventions (OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental) --
# From the `semantic-conventions-genai` repository (docs/gen-ai/client-inference.md and
# gen-ai-token-metrics.md, read 2026-12-04): they replace the three GenAI metrics above, which are
# then not recorded. `.time_per_output_chunk` (one sample per streamed chunk) and the reasoning-token
# counter (the API does not report reasoning tokens apart from output) are not recorded.
GEN_AI_TOKEN_MODALITY: Final = "gen_ai.token.modality"
# The conventions' modality for usage a provider does not split by modality, as the API's usage is.
TOKEN_MODALITY_UNKNOWN: Final = "unknown"
_GENAI_LATEST_ATTRIBUTES: Final = (GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL)

GEN_AI_CLIENT_INFERENCE_DURATION: Final = Instrument(
    "gen_ai.client.inference.duration",
    HISTOGRAM,
    "s",
    "Duration of one logical call, all SDK retries and the whole stream included.",
    (*_GENAI_LATEST_ATTRIBUTES, ERROR_TYPE),
)
GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK: Final = Instrument(
    "gen_ai.client.inference.time_to_first_chunk",
    HISTOGRAM,
    "s",
    "Streams only: time from the call to the first streamed chunk.",
    _GENAI_LATEST_ATTRIBUTES,
)
GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS: Final = Instrument(
    "gen_ai.client.inference.operation.input_tokens",
    HISTOGRAM,
    "{token}",
    "Input tokens per call, cache reads and writes included; 0 for a call that got no usage.",
    (*_GENAI_LATEST_ATTRIBUTES, ERROR_TYPE),
)
GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS: Final = Instrument(
    "gen_ai.client.inference.operation.output_tokens",
    HISTOGRAM,
    "{token}",
    "Output tokens per call; 0 for a call that got no usage.",
    (*_GENAI_LATEST_ATTRIBUTES, ERROR_TYPE),
)
GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS: Final = Instrument(
    "gen_ai.client.inference.usage.input_tokens",
    COUNTER,
    "{token}",
    "Input tokens, cache reads and writes included.",
    (*_GENAI_LATEST_ATTRIBUTES, GEN_AI_TOKEN_MODALITY),
)
GEN_AI_CLIENT_INFERENCE_USAGE_OUTPUT_TOKENS: Final = Instrument(
    "gen_ai.client.inference.usage.output_tokens",
    COUNTER,
    "{token}",
    "Output tokens.",
    (*_GENAI_LATEST_ATTRIBUTES, GEN_AI_TOKEN_MODALITY),
)
GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS: Final = Instrument(
    "gen_ai.client.inference.usage.cache_read.input_tokens",
    COUNTER,
    "{token}",
    "Input tokens read from the prompt cache (a part of the input tokens).",
    (*_GENAI_LATEST_ATTRIBUTES, GEN_AI_TOKEN_MODALITY),
)
GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = Instrument(
    "gen_ai.client.inference.usage.cache_write.input_tokens",
    COUNTER,
    "{token}",
    "Input tokens written to the prompt cache, 5m and 1h (a part of the input tokens).",
    (*_GENAI_LATEST_ATTRIBUTES, GEN_AI_TOKEN_MODALITY),
)
# Recorded instead of GENAI_DEFAULT_INSTRUMENTS when the opt-in names gen_ai_latest_experimental.
GENAI_LATEST_INSTRUMENTS: Final = (
    GEN_AI_CLIENT_INFERENCE_DURATION,
    GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK,
    GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS,
    GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS,
    GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS,
    GEN_AI_CLIENT_INFERENCE_USAGE_OUTPUT_TOKENS,
    GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS,
)
GENAI_DEFAULT_INSTRUMENTS: Final = (
    GEN_AI_CLIENT_OPERATION_DURATION,
    GEN_AI_CLIENT_TOKEN_USAGE,
    GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK,
)

# Instruments this release records. Listed ones not yet recorded are documented as planned.
INSTRUMENTS: Final = (
    GEN_AI_CLIENT_OPERATION_DURATION,
    GEN_AI_CLIENT_TOKEN_USAGE,
    GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK,
    ANTHROPIC_TOKENS,
    ANTHROPIC_COST,
    ANTHROPIC_COST_UNCACHED,
    ANTHROPIC_COST_BILLING,
    ANTHROPIC_REQUESTS,
    ANTHROPIC_ATTEMPTS,
    ANTHROPIC_RETRIES_UNACKNOWLEDGED,
    ANTHROPIC_STREAMS,
    ANTHROPIC_STREAMS_ACTIVE,
    ANTHROPIC_STREAMS_STALLED,
    ANTHROPIC_DUPLICATES,
    ANTHROPIC_DUPLICATES_TOKENS,
    ANTHROPIC_OTEL_INTERNAL_ERRORS,
    ANTHROPIC_OTEL_DEDUP_STORE_ERRORS,
    ANTHROPIC_OTEL_DEDUP_DROPPED,
    ANTHROPIC_USAGE_MALFORMED_RESPONSES,
    ANTHROPIC_CACHE_SYSTEM_VARIANTS,
    ANTHROPIC_RATELIMIT_LIMIT,
    ANTHROPIC_RATELIMIT_REMAINING,
    ANTHROPIC_RATELIMIT_RESET_TIME,
    ANTHROPIC_OTEL_RATELIMIT_HEADER_ERRORS,
    ANTHROPIC_CACHE_WRITES,
    ANTHROPIC_FALLBACK_HOPS,
    ANTHROPIC_MODEL_FIT_CALLS,
    ANTHROPIC_MODEL_FIT_COST,
    ANTHROPIC_MODEL_FIT_CHEAPER_COST,
    ANTHROPIC_CASCADE_REQUESTS,
    ANTHROPIC_CASCADE_ESCALATIONS,
    ANTHROPIC_CASCADE_COST,
    ANTHROPIC_CASCADE_BASELINE_COST,
)
PLANNED_INSTRUMENTS: Final = ()

# Explicit bucket boundaries (the SDK default buckets are for milliseconds).
DURATION_BUCKETS_S: Final = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_BUCKETS: Final = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)

# --- Span attributes we set (on the SDK's span, or on ours) --------------------------------
SPAN_ATTRIBUTES: Final = {
    GEN_AI_OPERATION_NAME: "Always `chat` for the Messages API.",
    GEN_AI_PROVIDER_NAME: "Always `anthropic`.",
    GEN_AI_REQUEST_MODEL: "The model the call asked for.",
    GEN_AI_RESPONSE_MODEL: "The model that answered.",
    GEN_AI_RESPONSE_ID: "The message id.",
    GEN_AI_RESPONSE_FINISH_REASONS: "The stop reason, as a one-element list.",
    GEN_AI_USAGE_INPUT_TOKENS: "All input tokens, cache reads and writes included.",
    GEN_AI_USAGE_OUTPUT_TOKENS: "Output tokens.",
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: "Input tokens read from the prompt cache.",
    GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: "Input tokens written to the prompt cache (5m and 1h).",
    ANTHROPIC_CACHE_HIT_RATIO: "cache_read / (cache_read + cache writes), only when the call touched the cache.",
    ANTHROPIC_COST_USD: "Cost of the call in USD (absent for models missing from the price table).",
    ANTHROPIC_STREAM_END_REASON: "Streams: the one reason the stream ended (see the enum).",
    ANTHROPIC_STREAM_EVENTS: "Streams: server-sent events received, pings included.",
    ANTHROPIC_STREAM_PARTIAL_OUTPUT_TOKENS: "Streams that did not complete: output tokens delivered (lower bound).",
    ANTHROPIC_DUPLICATE_STATE: "A duplicate call: the state its fingerprint was already in (see the enum).",
    ANTHROPIC_CONTENT_TRUNCATED: "In the content event (capture on): names of its attributes cut to the capture limit.",
    EVENT_ATTEMPT: "Span event, one per HTTP attempt: number, status code, error.type, retry-after, retry of an unacknowledged attempt, `x-should-retry`, and on a 429 the rate limit it hit.",
    ERROR_TYPE: "Why the call failed (the API's error.type, `timeout`, `connection_error` or the exception class).",
    ANTHROPIC_CACHE_WRITE_CAUSE: "A call that wrote to the prompt cache: why (see the enum), decided from the cached prefix's segments.",
    ANTHROPIC_CACHE_MISS_REASON: "The API's own cache-miss diagnosis, when the response carries one (beta).",
    ANTHROPIC_USAGE_MALFORMED: "True when the usage had a token count no real response has (over 100 million): no tokens or cost recorded.",
    ANTHROPIC_RESPONSE_SERVICE_TIER: "The response's `usage.service_tier` (`standard`, `priority`, `batch`): its price multiplier is in the cost.",
    ANTHROPIC_RESPONSE_SPEED: "The response's `usage.speed` (`standard`, `fast`): fast mode's price multiplier is in the cost.",
    ANTHROPIC_RESPONSE_INFERENCE_GEO: "The response's `usage.inference_geo` (`global`, `us`, `not_available`): US-only inference's multiplier is in the cost.",
    ANTHROPIC_FALLBACK_FROM_MODEL: "A call that is a fallback hop's target: the model that failed before it.",
    ANTHROPIC_FALLBACK_REASON: "A call that is a fallback hop's target: why the previous model was left (see the enum).",
}

# Environment variables (settings.py reads them; listed here so the reference is complete).
ENV_PREFIX: Final = "ANTHROPIC_OTEL_"
ENV_CAPTURE_CONTENT: Final = "ANTHROPIC_OTEL_CAPTURE_CONTENT"
ENV_PRICES_FILE: Final = "ANTHROPIC_OTEL_PRICES_FILE"
ENV_DEDUP: Final = "ANTHROPIC_OTEL_DEDUP"
ENV_DEDUP_REDIS_URL: Final = "ANTHROPIC_OTEL_DEDUP_REDIS_URL"
ENV_DEDUP_WINDOW_S: Final = "ANTHROPIC_OTEL_DEDUP_WINDOW_S"
ENV_CACHE_VARIANTS_WINDOW_S: Final = "ANTHROPIC_OTEL_CACHE_VARIANTS_WINDOW_S"
ENV_DEDUP_HMAC_KEY: Final = "ANTHROPIC_OTEL_DEDUP_HMAC_KEY"
ENV_DEDUP_FLUSH_TIMEOUT_S: Final = "ANTHROPIC_OTEL_DEDUP_FLUSH_TIMEOUT_S"
ENV_STREAM_IDLE_TIMEOUT_S: Final = "ANTHROPIC_OTEL_STREAM_IDLE_TIMEOUT_S"
ENV_STREAM_IDLE_ENFORCE: Final = "ANTHROPIC_OTEL_STREAM_IDLE_ENFORCE"
ENV_CAPTURE_CONTENT_MAX_CHARS: Final = "ANTHROPIC_OTEL_CAPTURE_CONTENT_MAX_CHARS"
ENV_FALLBACK_WINDOW_S: Final = "ANTHROPIC_OTEL_FALLBACK_WINDOW_S"
ENV_MODEL_FIT_MAX_OUTPUT_TOKENS: Final = "ANTHROPIC_OTEL_MODEL_FIT_MAX_OUTPUT_TOKENS"
ENV_MODEL_FIT_CHEAPER_MODEL: Final = "ANTHROPIC_OTEL_MODEL_FIT_CHEAPER_MODEL"
# The GenAI instrumentations' standard content switch, honoured when ours is not set.
ENV_GENAI_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# OTel's switch for semantic-convention transitions (a comma-separated list); the value below in it
# makes the GenAI metrics follow the newest conventions (GENAI_LATEST_INSTRUMENTS).
ENV_SEMCONV_STABILITY_OPT_IN: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"
SEMCONV_OPT_IN_GENAI_LATEST: Final = "gen_ai_latest_experimental"

ENUMS: Final = {
    ANTHROPIC_TOKEN_TYPE: TOKEN_TYPES,
    GEN_AI_TOKEN_TYPE: (TOKEN_INPUT, TOKEN_OUTPUT),
    ANTHROPIC_REQUEST_OUTCOME: (OUTCOME_SUCCESS, OUTCOME_ERROR),
    ANTHROPIC_STREAM_END_REASON: END_REASONS,
    ANTHROPIC_DUPLICATE_STATE: (DUPLICATE_IN_FLIGHT, DUPLICATE_COMPLETED),
    ANTHROPIC_FALLBACK_REASON: FALLBACK_REASONS,
    ANTHROPIC_CACHE_WRITE_CAUSE: WRITE_CAUSES,
    ANTHROPIC_CACHE_MISS_REASON: (*CACHE_MISS_REASONS, ERROR_OTHER),
    GEN_AI_TOKEN_MODALITY: (TOKEN_MODALITY_UNKNOWN,),
}

# Logger names users can filter on.
LOGGER: Final = "anthropic_otel"
LOGGER_UNKNOWN_MODEL: Final = "anthropic_otel.unknown_model"
# A service tier, speed or inference region the price table has no multiplier for.
LOGGER_UNKNOWN_PRICE: Final = "anthropic_otel.unknown_price"
# Every message we log starts with this: the distribution and command name users know.
LOG_PREFIX: Final = "anthropic-otel: "

# The instrumentation scope of our meter and tracer (the import name, as OTel instrumentations use).
SCOPE_NAME: Final = "anthropic_otel"


# --- Prometheus names ---------------------------------------------------------------------
# What the OTel Prometheus exporter and the collector's Prometheus exporters make of an instrument
# name: dots to underscores, the suffix of a UCUM unit that has one (units in braces are annotations:
# no suffix), `_total` for counters. Dashboards, alert rules and docs/telemetry.md all use it.
PROMETHEUS_UNIT_SUFFIXES: Final = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}
PROMETHEUS_COUNTER_SUFFIX: Final = "total"
# A histogram is three series: its name plus one of these.
PROMETHEUS_HISTOGRAM_PARTS: Final = ("bucket", "sum", "count")


def prometheus_name(instrument: Instrument) -> str:
    """The Prometheus metric name of `instrument` (a histogram's series add `_bucket`, `_sum`, `_count`)."""
    name = instrument.name.replace(".", "_")
    suffix = PROMETHEUS_UNIT_SUFFIXES.get(instrument.unit, "")
    if suffix and not name.endswith("_" + suffix):
        name = f"{name}_{suffix}"
    if instrument.kind == COUNTER and not name.endswith("_" + PROMETHEUS_COUNTER_SUFFIX):
        name = f"{name}_{PROMETHEUS_COUNTER_SUFFIX}"
    return name
