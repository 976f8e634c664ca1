"""The OTel instruments the package records into, created once per `instrument()` call.

Instruments and attribute dicts are built once and reused: the hot path does no per-call
allocation that could be cached (the overhead budget is a few microseconds per call).
"""

from __future__ import annotations

from typing import Any, Callable

from opentelemetry.metrics import Meter
from opentelemetry.util.types import Attributes

from . import semconv
from .version import __version__

_MAX_CACHED_KEYS = 4096


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

        def counter(spec: semconv.Instrument) -> Any:
            return meter.create_counter(spec.name, unit=spec.unit, description=spec.description)

        def updown(spec: semconv.Instrument) -> Any:
            return meter.create_up_down_counter(spec.name, unit=spec.unit, description=spec.description)

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
        self.internal_errors = counter(semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS)
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
