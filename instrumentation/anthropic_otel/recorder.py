"""The OTel instruments the package records into, created once per `instrument()` call.

Instruments and attribute dicts are built once and reused: the hot path does no per-call
allocation that could be cached (the overhead budget is a few microseconds per call).

Counters and up-down counters are summed here (`Sum`) and handed to the SDK through observable
instruments when it collects: a synchronous SDK counter validates and hashes the attributes on
every add (several microseconds each, ten adds per call), a `Sum` does one dict update.
Histograms stay synchronous: the API has no observable histogram.

What enters an instrument is bounded: amounts must be finite and below `MAX_AMOUNT`, a `Sum`
keeps at most `MAX_SERIES` attribute sets apart (the rest share one overflow series), and model
strings in attributes are cut to `MAX_MODEL_CHARS`.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable
from typing import Any, Callable

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.util.types import Attributes

from . import _guard, semconv

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
    `Instruments.attrs`). A dict seen for the first time is looked up by content (an equal dict
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
        with self._lock:
            entries = [(attributes, value) for attributes, value in self._series.values()]
            if self._overflow is not None:
                entries.append((self._overflow[0], self._overflow[1]))
        return [Observation(value, attributes) for attributes, value in entries]


class Histogram:
    """A synchronous SDK histogram that refuses non-finite and absurd values.

    Its attribute sets are bounded by the SDK's own cardinality limit (overflow series past it).
    """

    __slots__ = ("_record",)

    def __init__(self, histogram: Any) -> None:
        self._record = histogram.record

    def record(self, amount: float, attributes: Attributes = None) -> None:
        if _MIN_AMOUNT <= amount <= MAX_AMOUNT:
            self._record(amount, attributes)
        else:
            _refuse("histogram", amount)


# One Sum per (meter, instrument): a second `instrument()` with the same meter provider gets the
# SDK's existing observable instrument back, whose callback reads the Sum made the first time.
_SUMS: weakref.WeakKeyDictionary[Meter, dict[str, Sum]] = weakref.WeakKeyDictionary()
_SUMS_LOCK = threading.Lock()


def _reset_after_fork() -> None:
    """A forked child starts empty: the parent's counts are the parent's (OTel's convention)."""
    global _SUMS_LOCK
    _SUMS_LOCK = threading.Lock()
    for sums in list(_SUMS.values()):
        for found in sums.values():
            found.clear()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reset_after_fork)


class Instruments:
    def __init__(self, meter: Meter) -> None:
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

        self.duration = histogram(semconv.GEN_AI_CLIENT_OPERATION_DURATION, semconv.DURATION_BUCKETS_S)
        self.token_usage = histogram(semconv.GEN_AI_CLIENT_TOKEN_USAGE, semconv.TOKEN_BUCKETS)
        self.time_to_first_chunk = histogram(
            semconv.GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK, semconv.DURATION_BUCKETS_S
        )
        self.tokens = counter(semconv.ANTHROPIC_TOKENS)
        self.cost = counter(semconv.ANTHROPIC_COST)
        self.cost_uncached = counter(semconv.ANTHROPIC_COST_UNCACHED)
        self.requests = counter(semconv.ANTHROPIC_REQUESTS)
        self.attempts = counter(semconv.ANTHROPIC_ATTEMPTS)
        self.streams = counter(semconv.ANTHROPIC_STREAMS)
        self.streams_active = updown(semconv.ANTHROPIC_STREAMS_ACTIVE)
        self.streams_stalled = updown(semconv.ANTHROPIC_STREAMS_STALLED)
        self.retries_unacknowledged = counter(semconv.ANTHROPIC_RETRIES_UNACKNOWLEDGED)
        self.usage_malformed = counter(semconv.ANTHROPIC_USAGE_MALFORMED_RESPONSES)
        # Synchronous: rare, and reported from wherever a failure is caught.
        self.internal_errors = meter.create_counter(
            semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS.name,
            unit=semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS.unit,
            description=semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS.description,
        )
        self._attrs: dict[tuple[Any, ...], Attributes] = {}

    def attrs(self, key: tuple[Any, ...], build: Callable[[], Attributes]) -> Attributes:
        """A cached attribute dict for `key`; bounded so a flood of model names cannot grow it forever.

        A model string longer than `MAX_MODEL_CHARS` is cut to that length (built dicts only: the
        cached ones were cut when built).
        """
        found = self._attrs.get(key)
        if found is None:
            found = _cut_model(build())
            if len(self._attrs) < _MAX_CACHED_KEYS:
                self._attrs[key] = found
        return found

    def count_internal_error(self, site: str) -> None:
        self.internal_errors.add(1, {semconv.ANTHROPIC_INTERNAL_ERROR_SITE: site})


def _cut_model(attributes: Attributes) -> Attributes:
    if not attributes:
        return attributes
    model = attributes.get(semconv.GEN_AI_REQUEST_MODEL)
    if isinstance(model, str) and len(model) > MAX_MODEL_CHARS:
        cut = dict(attributes)
        cut[semconv.GEN_AI_REQUEST_MODEL] = model[:MAX_MODEL_CHARS]
        return cut
    return attributes
