"""The OTel instruments the package records into, created once per `instrument()` call.

Instruments and attribute dicts are built once and reused: the hot path does no per-call
allocation that could be cached (the overhead budget is a few microseconds per call).

Counters and up-down counters are summed here (`Sum`) and handed to the SDK through observable
instruments when it collects: a synchronous SDK counter validates and hashes the attributes on
every add (several microseconds each, ten adds per call), a `Sum` does one dict update.
Histograms stay synchronous: the API has no observable histogram.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any, Callable

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.util.types import Attributes

from . import semconv
from .version import __version__

_MAX_CACHED_KEYS = 4096
# Distinct attribute dict objects a Sum holds before it merges equal ones (bounds memory when the
# attribute cache is full and dicts are built per call).
_MAX_SUM_ENTRIES = 8192


class Sum:
    """A counter's cumulative values per attribute set, reported by an observable instrument.

    Entries are keyed by the identity of the attribute dict (the cached dicts of
    `Instruments.attrs`, so one entry each); an entry keeps its dict alive, so an id is never
    reused while it is a key. Dicts with equal contents are merged when reported, and when
    entries pile up past `_MAX_SUM_ENTRIES`.
    """

    __slots__ = ("_entries", "_lock")

    def __init__(self) -> None:
        self._entries: dict[int, list[Any]] = {}
        self._lock = threading.Lock()

    def add(self, amount: float, attributes: Attributes = None) -> None:
        key = id(attributes)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= _MAX_SUM_ENTRIES:
                    self._compact()
                self._entries[key] = [attributes, amount]
            else:
                entry[1] += amount

    def _compact(self) -> None:
        merged: dict[frozenset[Any], list[Any]] = {}
        for attributes, value in self._entries.values():
            found = merged.get(content := frozenset((attributes or {}).items()))
            if found is None:
                merged[content] = [attributes, value]
            else:
                found[1] += value
        self._entries = {id(entry[0]): entry for entry in merged.values()}

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            self._compact()
            entries = list(self._entries.values())
        return [Observation(value, attributes) for attributes, value in entries]


# One Sum per (meter, instrument): a second `instrument()` with the same meter provider gets the
# SDK's existing observable instrument back, whose callback reads the Sum made the first time.
_SUMS: weakref.WeakKeyDictionary[Meter, dict[str, Sum]] = weakref.WeakKeyDictionary()
_SUMS_LOCK = threading.Lock()


class Instruments:
    def __init__(self, meter: Meter) -> None:
        def histogram(spec: semconv.Instrument, buckets: tuple[float, ...]) -> Any:
            try:
                return meter.create_histogram(
                    spec.name,
                    unit=spec.unit,
                    description=spec.description,
                    explicit_bucket_boundaries_advisory=list(buckets),
                )
            except TypeError:  # opentelemetry-api older than 1.23 has no bucket advice
                return meter.create_histogram(spec.name, unit=spec.unit, description=spec.description)

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
        """A cached attribute dict for `key`; bounded so a flood of model names cannot grow it forever."""
        found = self._attrs.get(key)
        if found is None:
            found = build()
            if len(self._attrs) < _MAX_CACHED_KEYS:
                self._attrs[key] = found
        return found

    def count_internal_error(self, site: str) -> None:
        self.internal_errors.add(1, {semconv.ANTHROPIC_INTERNAL_ERROR_SITE: site})


SCOPE_NAME = "anthropic_otel"
SCOPE_VERSION = __version__
