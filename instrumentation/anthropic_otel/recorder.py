"""The one recorder: the only place that creates OTel instruments and adds to them.

State objects (a call, a stream, the duplicate detector) tell the `Recorder` what happened, one
method per event (`call_ended`, `attempt_ended`, `stream_ended`, `duplicate_seen`, ...); it picks
the instruments and the attribute set. Instruments are created once per `instrument()` call and
attribute dicts once per distinct set: the hot path allocates nothing that could be cached.

Counters and up-down counters are summed here (`Sum`) and handed to the SDK through observable
instruments when it collects: a synchronous SDK counter validates and hashes the attributes on
every add (several microseconds each, ten adds per call), a `Sum` does one dict update.
Histograms stay synchronous (the API has no observable histogram); a finished call reaches them
through `_deferred`, off the calling thread, and every observable callback here drains it
before it reports, so a collection misses nothing that ended before it.

What enters an instrument is bounded: amounts must be finite and below `MAX_AMOUNT`, a `Sum`
keeps at most `MAX_SERIES` attribute sets apart (the rest share one overflow series), and model
strings in attributes are cut to `MAX_MODEL_CHARS`.
"""

from __future__ import annotations

import inspect
import os
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Callable, Final

from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.util.types import Attributes

from . import _guard, semconv
from ._deferred import DEFERRED

if TYPE_CHECKING:
    from .extract.usage import Usage
    from .pricing import CallCost

_MAX_CACHED_KEYS = 4096
# Attribute sets one Sum keeps apart: the OTel SDK's default cardinality limit, so by default our
# series are exactly the ones the SDK would export. Further sets share one overflow series with the
# SDK's own overflow attribute (`otel.metric.overflow: true`), so memory stays bounded and every add
# stays O(1) whatever model strings an application passes.
MAX_SERIES = 2000
# Attribute dict identities a Sum remembers for its fast path. Room for every dict the attribute
# cache can hold, twice over; only dicts built per call (the cache is full) can fill it, and then it
# is cleared and relearned: a few lookups by content per _MAX_IDS adds.
_MAX_IDS = 2 * _MAX_CACHED_KEYS
# No single add (one call's tokens, its cost in USD, a count) comes near this: the usage parser
# refuses counts above 1e8 per field. Larger, infinite or NaN amounts are a bug upstream; recording
# them would poison a cumulative series for good (an int64 OTLP point fails to encode past 2**63).
# An int: most amounts are ints, and an int-to-int comparison is the cheap one.
MAX_AMOUNT = 10**12
_MIN_AMOUNT = -MAX_AMOUNT
# Longest model string kept in metric attributes: real model IDs, inference-profile ARNs and
# fine-tune names are far shorter; anything longer is cut to this many characters.
MAX_MODEL_CHARS = 256


def _refuse(what: str, amount: object) -> None:
    """An amount that must never reach an instrument: log it once and count it as our failure."""
    _guard.report(f"instruments.refused.{what}", ValueError(f"refused to record {amount!r}"))


class Sum:
    """A counter's cumulative values per attribute set, reported by an observable instrument.

    The fast path is one dict lookup by the identity of the attribute dict (the cached dicts of
    the recorder's `_AttributeSets`). A dict seen for the first time is looked up by content (an equal dict
    built elsewhere is the same series) and its identity remembered; a remembered dict is kept
    alive, so its id cannot be reused by another dict while it is a key. At most `MAX_SERIES`
    attribute sets are kept apart; the rest share the overflow series.
    """

    __slots__ = ("_by_id", "_alive", "_series", "_overflow", "_lock")

    def __init__(self) -> None:
        # id(attribute dict) -> its series, a list [attributes, value].
        self._by_id: dict[int, list[Any]] = {}
        # Dicts remembered in _by_id that their series does not hold already.
        self._alive: list[Attributes] = []
        self._series: dict[frozenset[Any], list[Any]] = {}
        self._overflow: list[Any] | None = None
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Back to empty, with a fresh lock: a forked child starts from zero (and a lock held by
        another thread at fork time would never be released in the child)."""
        Sum.__init__(self)

    def add(self, amount: float, attributes: Attributes = None) -> None:
        # One chained comparison refuses NaN, infinities and absurd amounts alike.
        if not _MIN_AMOUNT <= amount <= MAX_AMOUNT:
            _refuse("sum", amount)
            return
        key = id(attributes)
        with self._lock:
            series = self._by_id.get(key)
            if series is None:
                series = self._learn(key, attributes)
            series[1] += amount

    def _learn(self, key: int, attributes: Attributes) -> list[Any]:
        """The series of a dict not seen before (by identity); remembers its identity. O(1) amortised."""
        content = frozenset((attributes or {}).items())
        series = self._series.get(content)
        if series is None:
            if len(self._series) < MAX_SERIES:
                series = self._series[content] = [attributes, 0]
            else:
                series = self._overflow
                if series is None:
                    series = self._overflow = [{semconv.OTEL_METRIC_OVERFLOW: True}, 0]
        if len(self._by_id) >= _MAX_IDS:
            self._by_id.clear()
            self._alive.clear()
        self._by_id[key] = series
        if series[0] is not attributes:
            self._alive.append(attributes)
        return series

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        DEFERRED.drain()
        with self._lock:
            entries = [(attributes, value) for attributes, value in self._series.values()]
            if self._overflow is not None:
                entries.append((self._overflow[0], self._overflow[1]))
        return [Observation(value, attributes) for attributes, value in entries]


class _Gauge:
    """A gauge read from `source` when the SDK collects: `{key: value}`, the key the values of the
    instrument's attributes (a tuple, or the value itself for a single attribute such as the model)."""

    __slots__ = ("source", "attributes")

    def __init__(self, attributes: tuple[str, ...]) -> None:
        self.source: Callable[[], Mapping[Any, float]] | None = None
        self.attributes = attributes

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        DEFERRED.drain()
        source = self.source
        if source is None:
            return []
        names = self.attributes
        return [
            Observation(value, _cut_model(dict(zip(names, key if isinstance(key, tuple) else (key,)))))
            for key, value in source().items()
        ]


class Histogram:
    """A synchronous SDK histogram that refuses non-finite and absurd values.

    Its attribute sets are bounded by the SDK's own cardinality limit (overflow series past it).
    `context` is the context the value belongs to (recorded later, elsewhere): the SDK's exemplar
    filter reads the span from it. opentelemetry-api < 1.28 takes no context (and has no exemplars).
    """

    __slots__ = ("_record", "_takes_context")

    def __init__(self, histogram: Any) -> None:
        self._record = histogram.record
        try:
            self._takes_context = "context" in inspect.signature(histogram.record).parameters
        except (TypeError, ValueError):
            self._takes_context = False

    def record(self, amount: float, attributes: Attributes = None, context: Context | None = None) -> None:
        if not _MIN_AMOUNT <= amount <= MAX_AMOUNT:
            _refuse("histogram", amount)
        elif context is not None and self._takes_context:
            self._record(amount, attributes, context=context)
        else:
            self._record(amount, attributes)


# One Sum per (meter, instrument): a second `instrument()` with the same meter provider gets the
# SDK's existing observable instrument back, whose callback reads the Sum made the first time.
_SUMS: weakref.WeakKeyDictionary[Meter, dict[str, Sum]] = weakref.WeakKeyDictionary()
_SUMS_LOCK = threading.Lock()
# Likewise one gauge per (meter, instrument), its source replaced by each instrument().
_GAUGES: weakref.WeakKeyDictionary[Meter, dict[str, _Gauge]] = weakref.WeakKeyDictionary()


def _reset_after_fork() -> None:
    """A forked child starts empty: the parent's counts are the parent's (OTel's convention)."""
    global _SUMS_LOCK
    _SUMS_LOCK = threading.Lock()
    for sums in list(_SUMS.values()):
        for found in sums.values():
            found.clear()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)


class _AttributeSets:
    """Attribute dicts of one shape, built once per key and reused; bounded, so a flood of model
    names cannot grow it forever. A model string longer than `MAX_MODEL_CHARS` is cut."""

    __slots__ = ("_build", "_cache")

    def __init__(self, build: Callable[..., dict[str, Any]]) -> None:
        self._build = build
        self._cache: dict[Any, Attributes] = {}

    def get(self, *key: Any) -> Attributes:
        found = self._cache.get(key)
        if found is None:
            found = _cut_model(self._build(*key))
            if len(self._cache) < _MAX_CACHED_KEYS:
                self._cache[key] = found
        return found


def _model_attrs(model: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model}


def _billing_attrs(model: str, tier: str | None, speed: str | None, geo: str | None) -> dict[str, Any]:
    # An absent field bills as its standard value: named so, every series has the same labels. The
    # values are bounded: a call whose tier, speed or region has no price gets no cost, so none here.
    return {
        semconv.GEN_AI_REQUEST_MODEL: model,
        semconv.ANTHROPIC_RESPONSE_SERVICE_TIER: tier or semconv.SERVICE_TIER_STANDARD,
        semconv.ANTHROPIC_RESPONSE_SPEED: speed or semconv.SPEED_STANDARD,
        semconv.ANTHROPIC_RESPONSE_INFERENCE_GEO: geo or semconv.INFERENCE_GEO_NOT_AVAILABLE,
    }


def _operation_attrs(model: str, error_type: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
        semconv.GEN_AI_PROVIDER_NAME: semconv.PROVIDER_ANTHROPIC,
        semconv.GEN_AI_REQUEST_MODEL: model,
    }
    if error_type:
        attrs[semconv.ERROR_TYPE] = error_type
    return attrs


def _token_usage_attrs(model: str, token_type: str) -> dict[str, Any]:
    attrs = _operation_attrs(model, None)
    attrs[semconv.GEN_AI_TOKEN_TYPE] = token_type
    return attrs


def _modality_attrs(model: str) -> dict[str, Any]:
    attrs = _operation_attrs(model, None)
    # The API does not split usage by modality: the conventions' value for that case.
    attrs[semconv.GEN_AI_TOKEN_MODALITY] = semconv.TOKEN_MODALITY_UNKNOWN
    return attrs


def _typed_attrs(model: str, token_type: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ANTHROPIC_TOKEN_TYPE: token_type}


def _request_attrs(model: str, error_type: str | None, stream: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        semconv.GEN_AI_REQUEST_MODEL: model,
        semconv.ANTHROPIC_REQUEST_OUTCOME: semconv.OUTCOME_ERROR if error_type else semconv.OUTCOME_SUCCESS,
    }
    if error_type:
        attrs[semconv.ERROR_TYPE] = error_type
    attrs[semconv.ANTHROPIC_REQUEST_STREAM] = stream
    return attrs


def _attempt_attrs(model: str, status: int | None, error_type: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {semconv.GEN_AI_REQUEST_MODEL: model}
    if status is not None:
        attrs[semconv.HTTP_RESPONSE_STATUS_CODE] = status
    if error_type is not None:
        attrs[semconv.ERROR_TYPE] = error_type
    return attrs


def _model_error_attrs(model: str, error_type: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ERROR_TYPE: error_type}


def _end_reason_attrs(model: str, reason: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ANTHROPIC_STREAM_END_REASON: reason}


def _duplicate_attrs(model: str, state: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ANTHROPIC_DUPLICATE_STATE: state}


# The three rate-limit gauges' sources: limit, remaining and reset time per (model, kind).
RateLimitSources = tuple[
    Callable[[], dict[tuple[str, str], float]],
    Callable[[], dict[tuple[str, str], float]],
    Callable[[], dict[tuple[str, str], float]],
]


def _write_cause_attrs(model: str, cause: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ANTHROPIC_CACHE_WRITE_CAUSE: cause}


def _hop_attrs(from_model: str, to_model: str, reason: str) -> dict[str, Any]:
    # Model strings come from the application: cut like every other model attribute.
    return {
        semconv.ANTHROPIC_FALLBACK_FROM_MODEL: from_model[:MAX_MODEL_CHARS],
        semconv.ANTHROPIC_FALLBACK_TO_MODEL: to_model[:MAX_MODEL_CHARS],
        semconv.ANTHROPIC_FALLBACK_REASON: reason,
    }


def _cascade_attrs(name: str, model: str) -> dict[str, Any]:
    return {semconv.ANTHROPIC_CASCADE_NAME: name, semconv.GEN_AI_REQUEST_MODEL: model}


def _cascade_hop_attrs(name: str, from_model: str, to_model: str) -> dict[str, Any]:
    return {
        semconv.ANTHROPIC_CASCADE_NAME: name,
        semconv.ANTHROPIC_CASCADE_FROM_MODEL: from_model[:MAX_MODEL_CHARS],
        semconv.ANTHROPIC_CASCADE_TO_MODEL: to_model[:MAX_MODEL_CHARS],
    }


def _model_fit_attrs(model: str, cheaper_model: str) -> dict[str, Any]:
    return {semconv.GEN_AI_REQUEST_MODEL: model, semconv.ANTHROPIC_MODEL_FIT_CHEAPER_MODEL: cheaper_model}


_REDIS_STORE: Final[Attributes] = {semconv.ANTHROPIC_DEDUP_STORE: "redis"}
_ALWAYS_SAMPLED: Final = (semconv.TOKEN_INPUT, semconv.TOKEN_OUTPUT)


class Recorder:
    """Records what state objects report; `genai_latest` switches the GenAI metrics to the newest
    conventions' names (`OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`)."""

    def __init__(
        self,
        meter: Meter,
        genai_latest: bool = False,
        system_variants: Callable[[], dict[str, int]] | None = None,
        ratelimits: RateLimitSources | None = None,
    ) -> None:
        def histogram(spec: semconv.Instrument, buckets: tuple[float, ...]) -> Histogram:
            try:
                created = meter.create_histogram(
                    spec.name,
                    unit=spec.unit,
                    description=spec.description,
                    explicit_bucket_boundaries_advisory=list(buckets),
                )
            except TypeError:  # opentelemetry-api older than 1.23 has no bucket advice
                created = meter.create_histogram(spec.name, unit=spec.unit, description=spec.description)
            return Histogram(created)

        def observed(spec: semconv.Instrument, create: Callable[..., Any]) -> Sum:
            with _SUMS_LOCK:
                sums = _SUMS.setdefault(meter, {})
                found = sums.get(spec.name)
                if found is None:
                    found = sums[spec.name] = Sum()
                    create(spec.name, callbacks=[found.observe], unit=spec.unit, description=spec.description)
            return found

        def counter(spec: semconv.Instrument) -> Sum:
            return observed(spec, meter.create_observable_counter)

        def updown(spec: semconv.Instrument) -> Sum:
            return observed(spec, meter.create_observable_up_down_counter)

        def gauge(spec: semconv.Instrument, source: Callable[[], Mapping[Any, float]]) -> None:
            with _SUMS_LOCK:
                gauges = _GAUGES.setdefault(meter, {})
                found = gauges.get(spec.name)
                if found is None:
                    found = gauges[spec.name] = _Gauge(spec.attributes)
                    meter.create_observable_gauge(
                        spec.name, callbacks=[found.observe], unit=spec.unit, description=spec.description
                    )
                found.source = source  # a later instrument() with this meter reads its own source

        self.genai_latest = genai_latest
        if genai_latest:
            self._duration = histogram(semconv.GEN_AI_CLIENT_INFERENCE_DURATION, semconv.DURATION_BUCKETS_S)
            self._time_to_first_chunk = histogram(
                semconv.GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK, semconv.DURATION_BUCKETS_S
            )
            self._input_tokens = histogram(
                semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS, semconv.TOKEN_BUCKETS
            )
            self._output_tokens = histogram(
                semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS, semconv.TOKEN_BUCKETS
            )
            self._usage_input = counter(semconv.GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS)
            self._usage_output = counter(semconv.GEN_AI_CLIENT_INFERENCE_USAGE_OUTPUT_TOKENS)
            self._usage_cache_read = counter(semconv.GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS)
            self._usage_cache_write = counter(semconv.GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS)
        else:
            self._duration = histogram(semconv.GEN_AI_CLIENT_OPERATION_DURATION, semconv.DURATION_BUCKETS_S)
            self._time_to_first_chunk = histogram(
                semconv.GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK, semconv.DURATION_BUCKETS_S
            )
            self._token_usage = histogram(semconv.GEN_AI_CLIENT_TOKEN_USAGE, semconv.TOKEN_BUCKETS)
        self._tokens = counter(semconv.ANTHROPIC_TOKENS)
        self._cost = counter(semconv.ANTHROPIC_COST)
        self._cost_uncached = counter(semconv.ANTHROPIC_COST_UNCACHED)
        self._cost_billing = counter(semconv.ANTHROPIC_COST_BILLING)
        self._requests = counter(semconv.ANTHROPIC_REQUESTS)
        self._attempts = counter(semconv.ANTHROPIC_ATTEMPTS)
        self._streams = counter(semconv.ANTHROPIC_STREAMS)
        self._streams_active = updown(semconv.ANTHROPIC_STREAMS_ACTIVE)
        self._streams_stalled = updown(semconv.ANTHROPIC_STREAMS_STALLED)
        self._retries_unacknowledged = counter(semconv.ANTHROPIC_RETRIES_UNACKNOWLEDGED)
        self._usage_malformed = counter(semconv.ANTHROPIC_USAGE_MALFORMED_RESPONSES)
        self._duplicates = counter(semconv.ANTHROPIC_DUPLICATES)
        self._duplicates_tokens = counter(semconv.ANTHROPIC_DUPLICATES_TOKENS)
        self._dedup_store_errors = counter(semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS)
        self._dedup_dropped = counter(semconv.ANTHROPIC_OTEL_DEDUP_DROPPED)
        self._cache_writes = counter(semconv.ANTHROPIC_CACHE_WRITES)
        self._fallback_hops = counter(semconv.ANTHROPIC_FALLBACK_HOPS)
        self._model_fit_calls = counter(semconv.ANTHROPIC_MODEL_FIT_CALLS)
        self._model_fit_cost = counter(semconv.ANTHROPIC_MODEL_FIT_COST)
        self._model_fit_cheaper_cost = counter(semconv.ANTHROPIC_MODEL_FIT_CHEAPER_COST)
        self._cascade_requests = counter(semconv.ANTHROPIC_CASCADE_REQUESTS)
        self._cascade_escalations = counter(semconv.ANTHROPIC_CASCADE_ESCALATIONS)
        self._cascade_cost = counter(semconv.ANTHROPIC_CASCADE_COST)
        self._cascade_baseline_cost = counter(semconv.ANTHROPIC_CASCADE_BASELINE_COST)
        if system_variants is not None:
            gauge(semconv.ANTHROPIC_CACHE_SYSTEM_VARIANTS, system_variants)
        if ratelimits is not None:
            for spec, source in zip(
                (
                    semconv.ANTHROPIC_RATELIMIT_LIMIT,
                    semconv.ANTHROPIC_RATELIMIT_REMAINING,
                    semconv.ANTHROPIC_RATELIMIT_RESET_TIME,
                ),
                ratelimits,
            ):
                gauge(spec, source)
        self._ratelimit_header_errors = counter(semconv.ANTHROPIC_OTEL_RATELIMIT_HEADER_ERRORS)
        # Synchronous: rare, and reported from wherever a failure is caught.
        self._internal_errors = meter.create_counter(
            semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS.name,
            unit=semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS.unit,
            description=semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS.description,
        )
        # Every attribute set this recorder uses, by shape.
        self._by_model = _AttributeSets(_model_attrs)
        self._by_billing = _AttributeSets(_billing_attrs)
        self._by_operation = _AttributeSets(_operation_attrs)
        self._by_token_usage = _AttributeSets(_token_usage_attrs)
        self._by_modality = _AttributeSets(_modality_attrs)
        self._by_token_type = _AttributeSets(_typed_attrs)
        self._by_request = _AttributeSets(_request_attrs)
        self._by_attempt = _AttributeSets(_attempt_attrs)
        self._by_model_error = _AttributeSets(_model_error_attrs)
        self._by_end_reason = _AttributeSets(_end_reason_attrs)
        self._by_duplicate = _AttributeSets(_duplicate_attrs)
        self._by_write_cause = _AttributeSets(_write_cause_attrs)
        self._by_hop = _AttributeSets(_hop_attrs)
        self._by_model_fit = _AttributeSets(_model_fit_attrs)
        self._by_cascade = _AttributeSets(_cascade_attrs)
        self._by_cascade_hop = _AttributeSets(_cascade_hop_attrs)

    # -- a call --------------------------------------------------------------------------------
    def call_ended(
        self,
        model: str,
        stream: bool,
        error_type: str | None,
        duration_s: float,
        first_chunk_s: float | None,
        usage: Usage | None,
        cost: CallCost | None,
        context: Context | None = None,
    ) -> None:
        """One logical call ended (all its attempts, and its whole stream); `context`: the caller's
        when it ended, for exemplars, should this run elsewhere."""
        self._duration.record(duration_s, self._by_operation.get(model, error_type), context)
        self._requests.add(1, self._by_request.get(model, error_type, stream))
        if first_chunk_s is not None:
            self._time_to_first_chunk.record(first_chunk_s, self._by_operation.get(model, None), context)
        if usage is not None and usage.malformed:
            # The request's outcome stands; its impossible token counts are left out of every
            # token, cost and histogram series (one would poison the cumulative counters for good).
            self._usage_malformed.add(1, self._by_model.get(model))
            return
        if self.genai_latest:
            self._genai_latest_usage(model, error_type, usage, context)
        elif usage is not None:
            token_usage = self._token_usage
            token_usage.record(
                usage.total_input, self._by_token_usage.get(model, semconv.TOKEN_INPUT), context
            )
            token_usage.record(usage.output, self._by_token_usage.get(model, semconv.TOKEN_OUTPUT), context)
        if usage is None:
            return
        for token_type, count in usage.by_type():
            # Input and output always get a sample so their series exist; cache kinds only when used.
            if count or token_type in _ALWAYS_SAMPLED:
                self._tokens.add(count, self._by_token_type.get(model, token_type))
        if cost is None:
            return
        for token_type, usd in cost.by_type:
            if usd or token_type in _ALWAYS_SAMPLED:
                self._cost.add(usd, self._by_token_type.get(model, token_type))
        self._cost_uncached.add(cost.uncached_total, self._by_model.get(model))
        if not usage.billed_at_standard_rates:
            billing = (usage.service_tier, usage.speed, usage.inference_geo)
            self._cost_billing.add(cost.total, self._by_billing.get(model, *billing))

    def _genai_latest_usage(
        self, model: str, error_type: str | None, usage: Usage | None, context: Context | None
    ) -> None:
        """The newest GenAI token metrics: a call without usage (it failed) is recorded as 0."""
        total_input = usage.total_input if usage is not None else 0
        output = usage.output if usage is not None else 0
        by_operation = self._by_operation.get(model, error_type)
        self._input_tokens.record(total_input, by_operation, context)
        self._output_tokens.record(output, by_operation, context)
        by_modality = self._by_modality.get(model)
        self._usage_input.add(total_input, by_modality)
        self._usage_output.add(output, by_modality)
        self._usage_cache_read.add(usage.cache_read if usage is not None else 0, by_modality)
        self._usage_cache_write.add(usage.cache_write if usage is not None else 0, by_modality)

    def attempt_ended(self, model: str, status: int | None, error_type: str | None) -> None:
        """One HTTP attempt ended: with a response (`status`) or without (`status` None)."""
        self._attempts.add(1, self._by_attempt.get(model, status, error_type))

    def ratelimit_headers_garbled(self, model: str, count: int) -> None:
        """`count` rate-limit header values of a response of `model` did not parse."""
        self._ratelimit_header_errors.add(count, self._by_model.get(model))

    def retry_unacknowledged(self, model: str, error_type: str) -> None:
        """A retry is sent after an attempt that may have reached the server (`error_type`)."""
        self._retries_unacknowledged.add(1, self._by_model_error.get(model, error_type))

    # -- a stream ------------------------------------------------------------------------------
    def stream_opened(self, model: str) -> None:
        self._streams_active.add(1, self._by_model.get(model))

    def stream_stalled(self, model: str) -> None:
        self._streams_stalled.add(1, self._by_model.get(model))

    def stream_resumed(self, model: str) -> None:
        """A stalled stream received an event again, or ended."""
        self._streams_stalled.add(-1, self._by_model.get(model))

    def stream_ended(self, model: str, reason: str) -> None:
        self._streams_active.add(-1, self._by_model.get(model))
        self._streams.add(1, self._by_end_reason.get(model, reason))

    # -- the prompt cache ----------------------------------------------------------------------
    def cache_written(self, model: str, cause: str, tokens: int) -> None:
        """A call wrote `tokens` (5m and 1h) to the prompt cache, for `cause` (`semconv.WRITE_CAUSES`)."""
        self._cache_writes.add(tokens, self._by_write_cause.get(model, cause))

    # -- duplicates ----------------------------------------------------------------------------
    def duplicate_seen(self, model: str, state: str) -> None:
        self._duplicates.add(1, self._by_duplicate.get(model, state))

    def duplicate_billed(self, model: str, state: str, tokens: int) -> None:
        self._duplicates_tokens.add(tokens, self._by_duplicate.get(model, state))

    def dedup_store_failed(self) -> None:
        self._dedup_store_errors.add(1, _REDIS_STORE)

    def dedup_dropped(self) -> None:
        self._dedup_dropped.add(1, _REDIS_STORE)

    # -- fallbacks -----------------------------------------------------------------------------
    def fallback_hop(self, from_model: str, to_model: str, reason: str) -> None:
        """The application moved on from `from_model` to `to_model` (or `canned`) because of `reason`."""
        self._fallback_hops.add(1, self._by_hop.get(from_model, to_model, reason))

    # -- model fit -----------------------------------------------------------------------------
    def model_fit(self, model: str, cheaper_model: str, cost: float, cheaper_cost: float) -> None:
        """A short-output call of `model` that cost `cost` and would cost `cheaper_cost` on `cheaper_model`."""
        attributes = self._by_model_fit.get(model, cheaper_model)
        self._model_fit_calls.add(1, attributes)
        self._model_fit_cost.add(cost, attributes)
        self._model_fit_cheaper_cost.add(cheaper_cost, attributes)

    # -- cascades ------------------------------------------------------------------------------
    def cascade_stage(self, name: str, model: str, cost: float) -> None:
        """A stage of cascade `name` answered on `model`, at `cost`."""
        self._cascade_cost.add(cost, self._by_cascade.get(name, model))

    def cascade_escalated(self, name: str, from_model: str, to_model: str) -> None:
        self._cascade_escalations.add(1, self._by_cascade_hop.get(name, from_model, to_model))

    def cascade_kept(self, name: str, model: str, last_model: str, baseline: float | None) -> None:
        """A request of cascade `name` kept `model`'s answer; `baseline`: its usage at `last_model`'s prices."""
        self._cascade_requests.add(1, self._by_cascade.get(name, model))
        if baseline is not None:
            self._cascade_baseline_cost.add(baseline, self._by_cascade.get(name, last_model))

    # -- ourselves -----------------------------------------------------------------------------
    def internal_error(self, site: str) -> None:
        self._internal_errors.add(1, {semconv.ANTHROPIC_INTERNAL_ERROR_SITE: site})


def _cut_model(attributes: Attributes) -> Attributes:
    if not attributes:
        return attributes
    model = attributes.get(semconv.GEN_AI_REQUEST_MODEL)
    if isinstance(model, str) and len(model) > MAX_MODEL_CHARS:
        cut = dict(attributes)
        cut[semconv.GEN_AI_REQUEST_MODEL] = model[:MAX_MODEL_CHARS]
        return cut
    return attributes
