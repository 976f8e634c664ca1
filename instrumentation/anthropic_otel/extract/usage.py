"""Billed token counts from Anthropic Messages responses, one call at a time.

This module turns the ``usage`` block of a response (a parsed JSON dict or an SDK object such as
``Message``/``BetaMessage``) or the ``message_start``/``message_delta`` events of a stream into a
small immutable :class:`Usage` split by the five billed token kinds: uncached input, output, 5-minute
cache writes, 1-hour cache writes and cache reads, plus the three fields that change what those tokens
cost (``service_tier``, ``speed``, ``inference_geo``, kept as the API spelled them). It runs once per API call (and its stream feeder
once per streamed event), so it is pure, imports nothing from the SDK, never re-parses JSON and never
raises: values that are missing, ``None``, non-integer or negative count as 0. A count above
:data:`MAX_TOKENS_PER_FIELD` is no real response: the whole usage is :data:`MALFORMED_USAGE`, whose
tokens and cost are never recorded (one absurd count would otherwise sit in the cumulative counters
for good, and past 2**63 no OTLP exporter can encode them any more).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Final

from ..semconv import (
    INFERENCE_GEO_GLOBAL,
    INFERENCE_GEO_NOT_AVAILABLE,
    SERVICE_TIER_STANDARD,
    SPEED_STANDARD,
    TOKEN_CACHE_READ,
    TOKEN_CACHE_WRITE_1H,
    TOKEN_CACHE_WRITE_5M,
    TOKEN_INPUT,
    TOKEN_OUTPUT,
)

__all__ = [
    "MALFORMED_USAGE",
    "MAX_TOKENS_PER_FIELD",
    "StreamUsage",
    "Usage",
    "usage_from_block",
    "usage_from_message",
    "usage_from_sse_text",
]

# The largest token count one usage field may hold, summed over compaction iterations too. The
# largest context window is 1 million tokens, and a compacting call bills each pass at most one
# window: 100 million is a hundred full passes in a single call, well above anything real, and
# still far (10**11 times) below where a cumulative counter overflows an OTLP int64.
MAX_TOKENS_PER_FIELD: Final = 100_000_000


# Billing labels at list price; absent fields (older API versions, other platforms) bill as standard.
_STANDARD_TIERS: Final = frozenset({None, SERVICE_TIER_STANDARD})
_STANDARD_SPEEDS: Final = frozenset({None, SPEED_STANDARD})
_UNPRICED_REGIONS: Final = frozenset({None, INFERENCE_GEO_GLOBAL, INFERENCE_GEO_NOT_AVAILABLE})


@dataclass(frozen=True, init=False)
class Usage:
    """Billed tokens of one call, by kind (``input`` is the *uncached* input only), and how they were billed.

    ``service_tier`` (``standard``, ``priority``, ``batch``), ``speed`` (``standard``, ``fast``) and
    ``inference_geo`` (``global``, ``us``, ``not_available``, ...) are the response's own ``usage``
    fields, ``None`` when it had none: they pick the multipliers ``pricing`` applies.
    """

    # Written by hand instead of ``slots=True`` (Python 3.10+): one allocation per call, no __dict__.
    __slots__ = (
        "input",
        "output",
        "cache_write_5m",
        "cache_write_1h",
        "cache_read",
        "service_tier",
        "speed",
        "inference_geo",
    )

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    service_tier: str | None
    speed: str | None
    inference_geo: str | None

    # By hand (init=False): slots cannot carry class-level defaults, and most callers count tokens only.
    def __init__(
        self,
        input: int,
        output: int,
        cache_write_5m: int,
        cache_write_1h: int,
        cache_read: int,
        service_tier: str | None = None,
        speed: str | None = None,
        inference_geo: str | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "input", input)
        setter(self, "output", output)
        setter(self, "cache_write_5m", cache_write_5m)
        setter(self, "cache_write_1h", cache_write_1h)
        setter(self, "cache_read", cache_read)
        setter(self, "service_tier", service_tier)
        setter(self, "speed", speed)
        setter(self, "inference_geo", inference_geo)

    @property
    def billed_at_standard_rates(self) -> bool:
        """Standard tier and speed, in no priced region (or no such fields at all): list prices."""
        return (
            self.service_tier in _STANDARD_TIERS
            and self.speed in _STANDARD_SPEEDS
            and self.inference_geo in _UNPRICED_REGIONS
        )

    def at_standard_speed(self) -> Usage:
        """The same tokens and billing at standard speed (what they would cost without fast mode)."""
        return replace(self, speed=None)

    # True only for MALFORMED_USAGE: a class attribute, so it costs no slot and no argument.
    malformed: ClassVar[bool] = False

    @property
    def cache_write(self) -> int:
        """Tokens written to the prompt cache, both TTLs."""
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total_input(self) -> int:
        """All input tokens, cache writes and reads included (the GenAI ``input`` token type)."""
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read

    @property
    def billed_total(self) -> int:
        """Every billed token of the call: all input plus output."""
        return self.total_input + self.output

    @property
    def hit_ratio(self) -> float | None:
        """``cache_read / (cache_read + cache_write)``; ``None`` when the call did not touch the cache."""
        touched = self.cache_read + self.cache_write_5m + self.cache_write_1h
        if touched == 0:
            return None
        return self.cache_read / touched

    def by_type(self) -> tuple[tuple[str, int], ...]:
        """``(token type, count)`` pairs in ``semconv.TOKEN_TYPES`` order."""
        return (
            (TOKEN_INPUT, self.input),
            (TOKEN_OUTPUT, self.output),
            (TOKEN_CACHE_WRITE_5M, self.cache_write_5m),
            (TOKEN_CACHE_WRITE_1H, self.cache_write_1h),
            (TOKEN_CACHE_READ, self.cache_read),
        )


class _MalformedUsage(Usage):
    __slots__ = ()
    malformed: ClassVar[bool] = True


# The usage of a response with a count above MAX_TOKENS_PER_FIELD: all zeros, and `malformed`.
MALFORMED_USAGE: Final[Usage] = _MalformedUsage(0, 0, 0, 0, 0)


class _Malformed(Exception):
    """A count above MAX_TOKENS_PER_FIELD: raised deep in the parse, caught where a Usage is returned."""


_ABSENT: Final = object()


def _get(obj: Any, name: str) -> Any:
    """``obj[name]`` for mappings, ``obj.name`` for SDK objects; ``None`` when missing."""
    # Exact-type check first: parsed JSON is always a plain dict and isinstance() against an ABC
    # costs several times more than this on the hot path.
    if type(obj) is dict:
        return obj.get(name)
    if obj is None:
        return None
    # SDK objects are pydantic models: fields live in the instance __dict__, unknown API fields in
    # __pydantic_extra__ (v2). Looking there first matters because getattr() of an absent field
    # (``iterations`` on most responses) goes through pydantic's __getattr__ and a raised
    # AttributeError: ~1.5 us, more than all the rest of this module's work per call.
    attrs = getattr(obj, "__dict__", None)
    if attrs is not None:
        value = attrs.get(name, _ABSENT)
        if value is not _ABSENT:
            return value
        extra = getattr(obj, "__pydantic_extra__", None)
        if type(extra) is dict:
            return extra.get(name)
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _count(value: Any) -> int:
    """A token count, or 0 when it is missing or junk (bool, float, str, negative ...).

    Raises `_Malformed` for a count above MAX_TOKENS_PER_FIELD.
    """
    # ``type(...) is int`` rejects bool (a JSON ``true`` is not a count) and floats alike.
    if type(value) is int and value >= 0:
        if value > MAX_TOKENS_PER_FIELD:
            raise _Malformed
        return value
    return 0


def _valid(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_TOKENS_PER_FIELD


def _build(
    input_tokens: Any,
    output_tokens: Any,
    cache_creation_tokens: Any,
    cache_read_tokens: Any,
    cache_creation: Any,
    billing: tuple[str | None, str | None, str | None] = (None, None, None),
) -> Usage:
    """One :class:`Usage` from the raw fields of a usage block (any of them may be junk).

    ``billing`` is ``(service_tier, speed, inference_geo)``, already checked by `_label`.

    Raises `_Malformed` when one of them is above MAX_TOKENS_PER_FIELD.
    """
    total = _count(cache_creation_tokens)  # first: an absurd total is malformed with or without a split
    if cache_creation is None:
        # Before the 1-hour cache existed there was no split: every write was a 5-minute write.
        write_5m = total
        write_1h = 0
    else:
        split_5m = _count(_get(cache_creation, "ephemeral_5m_input_tokens"))
        split_1h = _count(_get(cache_creation, "ephemeral_1h_input_tokens"))
        if _valid(cache_creation_tokens) and cache_creation_tokens != split_5m + split_1h:
            # The total is what the API bills and what every other tool reports, so it wins over
            # an inconsistent split; the 1-hour part is kept (capped by the total) and the
            # remainder, whichever sign the mismatch had, is booked as 5-minute writes.
            write_1h = min(split_1h, cache_creation_tokens)
            write_5m = cache_creation_tokens - write_1h
        else:
            # Consistent, or the total is missing/malformed: the split is the best we have.
            write_5m = split_5m
            write_1h = split_1h
    return Usage(
        _count(input_tokens), _count(output_tokens), write_5m, write_1h, _count(cache_read_tokens), *billing
    )


def _label(value: Any) -> str | None:
    """A billing label (``service_tier``, ``speed``, ``inference_geo``): a string, else ``None``."""
    return value if type(value) is str else None


def _billing(usage: Any) -> tuple[str | None, str | None, str | None]:
    """``(service_tier, speed, inference_geo)`` of a usage block."""
    # Once per call: read a dict (an SDK object's fields when it declares all three, or parsed JSON
    # that has them) directly rather than through three `_get`s.
    fields = usage if type(usage) is dict else getattr(usage, "__dict__", None)
    if type(fields) is not dict or not (
        "service_tier" in fields and "speed" in fields and "inference_geo" in fields
    ):
        return (
            _label(_get(usage, "service_tier")),
            _label(_get(usage, "speed")),
            _label(_get(usage, "inference_geo")),
        )
    tier = fields.get("service_tier")
    speed = fields.get("speed")
    geo = fields.get("inference_geo")
    return (
        tier if type(tier) is str else None,
        speed if type(speed) is str else None,
        geo if type(geo) is str else None,
    )


def _sum_iterations(
    iterations: Any, billing: tuple[str | None, str | None, str | None] = (None, None, None)
) -> Usage | None:
    """Sum of the per-pass usage blocks of a compaction response; ``None`` if there are none.

    The passes of one call share its ``billing`` (the top-level tier, speed and region).

    Raises `_Malformed` when a pass, or the sum of one field over the passes, is above the bound.
    """
    # Server-side compaction bills every pass and lists them in ``usage.iterations``; the
    # top-level usage covers only the last pass, so the sum is what the call really cost.
    if not isinstance(iterations, (list, tuple)) or not iterations:
        return None
    inp = out = w5m = w1h = read = 0
    for block in iterations:
        if block is None:
            continue
        u = _build(
            _get(block, "input_tokens"),
            _get(block, "output_tokens"),
            _get(block, "cache_creation_input_tokens"),
            _get(block, "cache_read_input_tokens"),
            _get(block, "cache_creation"),
        )
        inp += u.input
        out += u.output
        w5m += u.cache_write_5m
        w1h += u.cache_write_1h
        read += u.cache_read
    if max(inp, out, w5m, w1h, read) > MAX_TOKENS_PER_FIELD:
        raise _Malformed
    return Usage(inp, out, w5m, w1h, read, *billing)


def usage_from_block(usage: Any) -> Usage | None:
    """Billed tokens from a ``usage`` block (dict or SDK ``Usage``); ``None`` when there is none.

    :data:`MALFORMED_USAGE` when a count is above :data:`MAX_TOKENS_PER_FIELD`.
    """
    if usage is None:
        return None
    try:
        billing = _billing(usage)
        summed = _sum_iterations(_get(usage, "iterations"), billing)
        if summed is not None:
            return summed
        return _build(
            _get(usage, "input_tokens"),
            _get(usage, "output_tokens"),
            _get(usage, "cache_creation_input_tokens"),
            _get(usage, "cache_read_input_tokens"),
            _get(usage, "cache_creation"),
            billing,
        )
    except _Malformed:
        return MALFORMED_USAGE


def usage_from_message(message: object) -> Usage | None:
    """Billed tokens of a non-streamed response (parsed JSON dict or SDK ``Message``/``BetaMessage``).

    ``None`` when the object has no ``usage`` block at all. With ``usage.iterations`` (compaction)
    the result is the sum over the iterations, not the top-level counts. :data:`MALFORMED_USAGE`
    when a count is above :data:`MAX_TOKENS_PER_FIELD`.
    """
    try:
        return usage_from_block(_get(message, "usage"))
    except Exception:
        # A property on some exotic object raised: this runs inside the app's call, never raise.
        return None


_MESSAGE_START: Final = "message_start"
_MESSAGE_DELTA: Final = "message_delta"


class StreamUsage:
    """Accumulates billed tokens, model and stop reason from a stream, one event at a time.

    Only ``message_start`` and ``message_delta`` carry usage; every other event type returns after
    one attribute read and two string comparisons. Fields from ``message_delta.usage`` overwrite the
    ones from ``message_start`` field by field (newer API versions repeat *cumulative* input and cache
    counts there, which must never be added up), and the last ``message_delta`` wins.
    """

    __slots__ = (
        "model",
        "stop_reason",
        "_started",
        "_input",
        "_output",
        "_cache_creation_tokens",
        "_cache_read",
        "_cache_creation",
        "_iterations",
        "_service_tier",
        "_speed",
        "_inference_geo",
    )

    def __init__(self) -> None:
        self.model: str | None = None
        self.stop_reason: str | None = None
        self._started = False
        self._input: Any = None
        self._output: Any = None
        self._cache_creation_tokens: Any = None
        self._cache_read: Any = None
        self._cache_creation: Any = None
        self._iterations: Any = None
        self._service_tier: str | None = None
        self._speed: str | None = None
        self._inference_geo: str | None = None

    def feed(self, event: object) -> None:
        """Take one stream event (SDK event object with ``.type`` or a parsed dict with ``"type"``)."""
        if type(event) is dict:
            etype = event.get("type")
        else:
            etype = getattr(event, "type", None)
            if etype is None and isinstance(event, Mapping):
                etype = event.get("type")
        # content_block_delta is ~99 % of events: leave before doing anything else.
        if etype != _MESSAGE_DELTA and etype != _MESSAGE_START:
            return
        try:
            if etype == _MESSAGE_START:
                self._start(_get(event, "message"))
            else:
                self._delta(event)
        except Exception:
            # A malformed event must not break the caller's stream; what we have so far stands.
            return

    def _take(self, usage: Any) -> None:
        # "Present" means not None: SDK delta objects expose absent optional fields as None.
        value = _get(usage, "input_tokens")
        if value is not None:
            self._input = value
        value = _get(usage, "output_tokens")
        if value is not None:
            self._output = value
        value = _get(usage, "cache_creation_input_tokens")
        if value is not None:
            self._cache_creation_tokens = value
        value = _get(usage, "cache_read_input_tokens")
        if value is not None:
            self._cache_read = value
        value = _get(usage, "cache_creation")
        if value is not None:
            self._cache_creation = value
        value = _get(usage, "iterations")
        if value is not None:
            # The list is complete in each event that carries it: replace, never concatenate.
            self._iterations = value
        # How the tokens are billed: message_start says it, a later event that repeats it wins.
        value = _label(_get(usage, "service_tier"))
        if value is not None:
            self._service_tier = value
        value = _label(_get(usage, "speed"))
        if value is not None:
            self._speed = value
        value = _label(_get(usage, "inference_geo"))
        if value is not None:
            self._inference_geo = value

    def _start(self, message: Any) -> None:
        self._started = True
        model = _get(message, "model")
        if isinstance(model, str):
            self.model = model
        usage = _get(message, "usage")
        if usage is not None:
            self._take(usage)

    def _delta(self, event: Any) -> None:
        stop_reason = _get(_get(event, "delta"), "stop_reason")
        if isinstance(stop_reason, str):
            self.stop_reason = stop_reason
        usage = _get(event, "usage")
        if usage is not None:
            self._take(usage)

    @property
    def usage(self) -> Usage | None:
        """Billed tokens so far; ``None`` until a ``message_start`` was seen.

        :data:`MALFORMED_USAGE` while the latest counts hold one above :data:`MAX_TOKENS_PER_FIELD`
        (a later event's counts replace the bad one, as they replace any other).
        """
        if not self._started:
            return None
        try:
            billing = (self._service_tier, self._speed, self._inference_geo)
            summed = _sum_iterations(self._iterations, billing)
            if summed is not None:
                return summed
            return _build(
                self._input,
                self._output,
                self._cache_creation_tokens,
                self._cache_read,
                self._cache_creation,
                billing,
            )
        except _Malformed:
            return MALFORMED_USAGE


def usage_from_sse_text(text: str) -> Usage | None:
    """Billed tokens of a raw SSE body (``event:``/``data:`` lines), e.g. a recorded stream.

    A convenience for tests and tools, not the hot path: it parses every ``data:`` payload.
    """
    stream = StreamUsage()
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if not data:
            continue
        try:
            event = json.loads("\n".join(data))
        except ValueError:
            continue
        stream.feed(event)
    return stream.usage
