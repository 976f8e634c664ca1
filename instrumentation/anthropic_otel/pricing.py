"""Model price table: what each billed token of a call costs in US dollars, however the call was billed.

A dated built-in table of Anthropic list prices (per million tokens, input and output; cache prices
derived from the input price with Anthropic's multipliers unless an entry states them) that a TOML or
JSON price file can extend or override. A call's price then follows its response's own ``usage``
fields: ``service_tier`` (batch bills half), ``speed`` (fast mode's per-model multiplier),
``inference_geo`` (US-only inference 1.1x) and, for models that have one, the long-context threshold
above which every token of the call bills at higher multipliers. Lookups map any spelling of a model ID
(dated, ``-latest``, Bedrock, Vertex) to a family key and are memoised per ID, because
:meth:`PriceTable.cost` runs once per API call. Unknown models get no cost (one warning per model ID);
a tier, speed or region the table has no multiplier for keeps its tokens but gets no cost (one warning
per field and value); a broken price file gets one warning naming the file and the problem, and the
built-in table is used. Nothing here ever raises into the application. Not modelled: tool-use fees
(web search per request), and the long-context threshold of a compacting call is judged on the sum of
its passes rather than pass by pass.

Price file (TOML, or the same structure in JSON), USD per million tokens; only ``input`` and ``output``
are required, a model's entry replaces its built-in entry whole::

    [models.claude-foo]
    input = 4.0
    output = 20.0
    cache_write_5m = 5.0                # optional: default 1.25 x input
    cache_write_1h = 8.0                # optional: default 2 x input
    cache_read = 0.2                    # optional: default 0.1 x input
    speed_multipliers = { fast = 2.0 }  # optional: usage.speed -> multiplier of every price
    long_context = { threshold = 200000, input_multiplier = 2.0, output_multiplier = 1.5 }

    # optional, extend/override the built-in multipliers of every price, for every model
    service_tier_multipliers = { batch = 0.5 }
    inference_geo_multipliers = { us = 1.1 }
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from . import semconv
from .extract.usage import Usage
from .semconv import (
    ENV_PRICES_FILE,
    LOG_PREFIX,
    LOGGER,
    LOGGER_UNKNOWN_MODEL,
    LOGGER_UNKNOWN_PRICE,
    TOKEN_CACHE_READ,
    TOKEN_CACHE_WRITE_1H,
    TOKEN_CACHE_WRITE_5M,
    TOKEN_INPUT,
    TOKEN_OUTPUT,
    TOKEN_TYPES,
)
from .settings import load_setting

__all__ = [
    "BUILTIN_LONG_CONTEXT",
    "BUILTIN_PRICES",
    "BUILTIN_SPEED_MULTIPLIERS",
    "INFERENCE_GEO_MULTIPLIERS",
    "SERVICE_TIER_MULTIPLIERS",
    "LongContext",
    "CACHE_READ_MULTIPLIER",
    "CACHE_WRITE_1H_MULTIPLIER",
    "CACHE_WRITE_5M_MULTIPLIER",
    "PRICES_AS_OF",
    "CallCost",
    "ModelPrice",
    "PriceTable",
    "break_even_hit_ratio",
    "default_table",
    "normalize_model_id",
]

_log = logging.getLogger(LOGGER)
_unknown_log = logging.getLogger(LOGGER_UNKNOWN_MODEL)
_unknown_price_log = logging.getLogger(LOGGER_UNKNOWN_PRICE)

# Sources, read 2026-12-05 (list prices of the first-party Claude API, USD per million tokens):
# - https://platform.claude.com/docs/en/about-claude/pricing : the model table (base input, 5m and 1h
#   cache writes, cache hits, output), the Batch API's 50 % off input and output;
# - https://platform.claude.com/docs/en/build-with-claude/fast-mode : fast mode, `usage.speed`, priced
#   as a multiplier of every standard rate across the full context window;
# - https://platform.claude.com/docs/en/build-with-claude/data-residency : `usage.inference_geo`
#   (`global` default, `us`); US-only inference 1.1x on Opus 4.6 and newer (the only models that take it);
# - https://platform.claude.com/docs/en/api/service-tiers : `usage.service_tier` standard / priority /
#   batch; Sonnet 4 and 4.5 bill input over 200K at 2x and output at 1.5x;
# - the model overview pages (https://platform.claude.com/docs/en/models/<model>/overview) for each
#   5.x model's cache prices and Haiku 5.5's two prompt-length bands.
PRICES_AS_OF: Final = "2026-12-05"

# Prompt-caching multipliers of the base input price (same pricing page).
CACHE_WRITE_5M_MULTIPLIER: Final = 1.25
CACHE_WRITE_1H_MULTIPLIER: Final = 2.0
CACHE_READ_MULTIPLIER: Final = 0.1

_PER_MILLION: Final = 1_000_000.0

# family key -> (input, output[, cache_write_5m, cache_write_1h, cache_read]) in USD per million tokens.
# The optional three are stated only where the pricing page departs from the multipliers.
BUILTIN_PRICES: Final[Mapping[str, tuple[float, ...]]] = {
    # Fable/Mythos 5.2 (released 2026-11-09): from launch coverage that quotes the list price; cache
    # hits 0.025x input like 5.1.
    "claude-fable-5-2": (8.0, 40.0, 10.0, 16.0, 0.20),
    "claude-mythos-5-2": (8.0, 40.0, 10.0, 16.0, 0.20),
    # Cache hits $0.25: 0.025x input, the pricing page's footnote, not the 0.1x multiplier.
    "claude-fable-5-1": (10.0, 50.0, 12.50, 20.0, 0.25),
    "claude-mythos-5-1": (10.0, 50.0, 12.50, 20.0, 0.25),
    "claude-fable-5": (10.0, 50.0),  # legacy
    "claude-mythos-5": (10.0, 50.0),  # legacy
    # Cache hits $0.20: 0.05x input.
    "claude-opus-5-5": (4.0, 20.0, 5.0, 8.0, 0.20),
    "claude-opus-5": (5.0, 25.0),  # legacy
    "claude-opus-4-8": (5.0, 25.0),
    "claude-opus-4-7": (5.0, 25.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-opus-4-5": (5.0, 25.0),  # deprecated: end of life 2027-01-22
    "claude-opus-4-1": (15.0, 75.0),  # retired on the Claude API (still on Bedrock and Google Cloud)
    "claude-opus-4": (15.0, 75.0),  # retired on the Claude API (still on Google Cloud)
    # Cache hits cut from $0.20 to $0.10 (0.05x input) on 2026-10-07.
    "claude-sonnet-5-5": (2.0, 10.0, 2.50, 4.0, 0.10),
    # $2 / $10 stays: the announced rise to $3 / $15 was cancelled.
    "claude-sonnet-5": (2.0, 10.0),
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-sonnet-4-5": (3.0, 15.0),  # end of life 2026-11-30 (the SDK's deprecation list)
    "claude-sonnet-4": (3.0, 15.0),
    # The prompt-length band up to 100K tokens ("from $0.10 / $0.50"); see BUILTIN_LONG_CONTEXT.
    "claude-haiku-5-5": (0.10, 0.50),
    "claude-haiku-4-5": (1.0, 5.0),
    # Retired models, kept so replayed or long-lived traffic still prices.
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-3-5-haiku": (0.80, 4.0),
    "claude-3-opus": (15.0, 75.0),
    "claude-3-sonnet": (3.0, 15.0),
    # Claude 3 Haiku predates the uniform multipliers: 5m writes $0.30 (1.2x), 1h $0.50, hits $0.03.
    "claude-3-haiku": (0.25, 1.25, 0.30, 0.50, 0.03),
}


class LongContext(NamedTuple):
    """A call whose input (cache reads and writes included) is above ``threshold`` tokens bills every
    input kind at ``input_multiplier`` and its output at ``output_multiplier``."""

    threshold: int
    input_multiplier: float
    output_multiplier: float


# family key -> its long-context band. Models not named bill one rate over their whole window.
BUILTIN_LONG_CONTEXT: Final[Mapping[str, LongContext]] = {
    "claude-sonnet-4-5": LongContext(200_000, 2.0, 1.5),
    "claude-sonnet-4": LongContext(200_000, 2.0, 1.5),
    # Over 100K prompt tokens: $0.50 / $2.50, every token of the call 5x, output included.
    "claude-haiku-5-5": LongContext(100_000, 5.0, 5.0),
}

# family key -> {usage.speed: multiplier of every price}; `standard` is 1 everywhere. Fast mode: Opus
# 5.5 $8 / $40 and Opus 5 $10 / $50 (2x). Fable/Mythos 5.2 support it at a price not found: unknown.
# Opus 4.8's fast mode was removed on 2026-11-30 (the API rejects it), Opus 4.7's and 4.6's before.
BUILTIN_SPEED_MULTIPLIERS: Final[Mapping[str, Mapping[str, float]]] = {
    "claude-opus-5-5": {semconv.SPEED_FAST: 2.0},
    "claude-opus-5": {semconv.SPEED_FAST: 2.0},
}

# usage.service_tier -> multiplier of every price. Batch: 50 % off (input and output; cache prices
# follow input). Priority Tier draws its committed capacity down at list-price ratios; commitments are
# priced by contract (and no longer sold), so list price is what we report: a price file can set yours.
SERVICE_TIER_MULTIPLIERS: Final[Mapping[str, float]] = {
    semconv.SERVICE_TIER_STANDARD: 1.0,
    semconv.SERVICE_TIER_PRIORITY: 1.0,
    semconv.SERVICE_TIER_BATCH: 0.5,
}

# usage.inference_geo -> multiplier of every price (every token kind) on the Claude API.
INFERENCE_GEO_MULTIPLIERS: Final[Mapping[str, float]] = {
    semconv.INFERENCE_GEO_GLOBAL: 1.0,
    semconv.INFERENCE_GEO_NOT_AVAILABLE: 1.0,
    semconv.INFERENCE_GEO_US: 1.1,
}

# Models are few; the caps only guard against a caller inventing model IDs without end.
_CACHE_CAP: Final = 1024
_WARNED_CAP: Final = 1024

# Price-file fields are the token type names, so a file reads like the metrics it prices.
_FILE_FIELDS: Final = TOKEN_TYPES
# Optional per-model tables, and the optional top-level multiplier tables, of a price file.
_FILE_SPEEDS: Final = "speed_multipliers"
_FILE_LONG_CONTEXT: Final = "long_context"
_FILE_LONG_CONTEXT_FIELDS: Final = LongContext._fields
_FILE_TIERS: Final = "service_tier_multipliers"
_FILE_GEOS: Final = "inference_geo_multipliers"
_FILE_MODEL_KEYS: Final = (*_FILE_FIELDS, _FILE_SPEEDS, _FILE_LONG_CONTEXT)
_FILE_TOP_LEVEL: Final = frozenset({"models", "as_of", _FILE_TIERS, _FILE_GEOS})


@dataclass(frozen=True, init=False)
class ModelPrice:
    """USD per single token for each billed token kind, and the model's own multipliers."""

    __slots__ = (
        "input",
        "output",
        "cache_write_5m",
        "cache_write_1h",
        "cache_read",
        "speed_multipliers",
        "long_context",
    )

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float
    # usage.speed -> multiplier of every price, `standard` left out (it is 1): a pair or two, scanned.
    speed_multipliers: tuple[tuple[str, float], ...]
    long_context: LongContext | None

    # By hand (init=False): slots cannot carry class-level defaults.
    def __init__(
        self,
        input: float,
        output: float,
        cache_write_5m: float,
        cache_write_1h: float,
        cache_read: float,
        speed_multipliers: tuple[tuple[str, float], ...] = (),
        long_context: LongContext | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "input", input)
        setter(self, "output", output)
        setter(self, "cache_write_5m", cache_write_5m)
        setter(self, "cache_write_1h", cache_write_1h)
        setter(self, "cache_read", cache_read)
        setter(self, "speed_multipliers", speed_multipliers)
        setter(self, "long_context", long_context)

    @classmethod
    def per_million(
        cls,
        input: float,
        output: float,
        cache_write_5m: float | None = None,
        cache_write_1h: float | None = None,
        cache_read: float | None = None,
        *,
        speed_multipliers: Mapping[str, float] | None = None,
        long_context: LongContext | None = None,
    ) -> ModelPrice:
        """From USD per million tokens; cache prices default to the standard multipliers of ``input``."""
        if cache_write_5m is None:
            cache_write_5m = input * CACHE_WRITE_5M_MULTIPLIER
        if cache_write_1h is None:
            cache_write_1h = input * CACHE_WRITE_1H_MULTIPLIER
        if cache_read is None:
            cache_read = input * CACHE_READ_MULTIPLIER
        m = _PER_MILLION
        speeds = tuple(
            (speed, float(mult))
            for speed, mult in (speed_multipliers or {}).items()
            if speed != semconv.SPEED_STANDARD
        )
        return cls(
            input / m,
            output / m,
            cache_write_5m / m,
            cache_write_1h / m,
            cache_read / m,
            speeds,
            long_context,
        )

    def speed_multiplier(self, speed: str) -> float | None:
        """The multiplier of ``usage.speed``; 1 for ``standard``, ``None`` for a speed not priced here."""
        if speed == semconv.SPEED_STANDARD:
            return 1.0
        for name, multiplier in self.speed_multipliers:
            if name == speed:
                return multiplier
        return None

    def by_type(self) -> tuple[tuple[str, float], ...]:
        """``(token type, USD per token)`` in ``semconv.TOKEN_TYPES`` order."""
        return (
            (TOKEN_INPUT, self.input),
            (TOKEN_OUTPUT, self.output),
            (TOKEN_CACHE_WRITE_5M, self.cache_write_5m),
            (TOKEN_CACHE_WRITE_1H, self.cache_write_1h),
            (TOKEN_CACHE_READ, self.cache_read),
        )


@dataclass(frozen=True)
class CallCost:
    """Cost of one call in USD: per token kind, the total, and the same tokens without caching."""

    __slots__ = ("by_type", "total", "uncached_total")

    by_type: tuple[tuple[str, float], ...]
    total: float
    uncached_total: float

    @property
    def cache_saving(self) -> float:
        """``uncached_total - total``: negative when caching cost more than it saved."""
        return self.uncached_total - self.total


def break_even_hit_ratio(
    ttl: str = "5m",
    *,
    write_multiplier: float | None = None,
    read_multiplier: float = CACHE_READ_MULTIPLIER,
) -> float:
    """Cache hit ratio at which caching a prefix costs exactly what not caching it would.

    A prefix of P tokens written once (w·P, w = write multiplier) and read k times (k·r·P) costs the
    same as sending it uncached 1 + k times ((1 + k)·P) when w + k·r = 1 + k, i.e. k = (w - 1)/(1 - r).
    The hit ratio ``read / (read + write)`` is then k / (k + 1) = (w - 1)/(w - r): about 0.217 for the
    5-minute cache (w = 1.25) and 0.526 for the 1-hour cache (w = 2), with r = 0.1. Above it caching
    saves money. ``ttl`` is ``"5m"`` or ``"1h"`` (or the token type names ``cache_write_5m``/``_1h``).
    """
    if write_multiplier is None:
        if ttl in ("5m", TOKEN_CACHE_WRITE_5M):
            write_multiplier = CACHE_WRITE_5M_MULTIPLIER
        elif ttl in ("1h", TOKEN_CACHE_WRITE_1H):
            write_multiplier = CACHE_WRITE_1H_MULTIPLIER
        else:
            raise ValueError(f"ttl must be '5m' or '1h', not {ttl!r}")
    if write_multiplier <= 1.0:
        return 0.0  # writing costs no more than plain input: any reuse at all pays off
    if read_multiplier >= 1.0:
        return 1.0  # reads cost as much as plain input: caching can never pay off
    return (write_multiplier - 1.0) / (write_multiplier - read_multiplier)


# Bedrock/Vertex decorations: "us.anthropic.claude-...-v1:0", "claude-...-v2@20241022", ARNs.
_DATE_SUFFIX: Final = re.compile(r"-\d{8}$")
_VERSION_SUFFIX: Final = re.compile(r"-v\d+$")


def normalize_model_id(model: str) -> str:
    """Strip provider prefixes and suffixes: ``us.anthropic.claude-x-20250101-v1:0`` -> ``claude-x``."""
    s = model.strip().lower()
    # Bedrock ARNs and Vertex resource paths: the model is the last path segment.
    s = s.rsplit("/", 1)[-1]
    # Bedrock "anthropic." / "us.anthropic." / "global.anthropic." prefixes, anything before "claude".
    start = s.find("claude")
    if start > 0:
        s = s[start:]
    # Vertex "@20241022" dates, Bedrock ":0" revisions (and ":0:200k" context variants).
    s = s.split("@", 1)[0].split(":", 1)[0]
    s = _VERSION_SUFFIX.sub("", s)
    if s.endswith("-latest"):
        s = s[: -len("-latest")]
    s = _DATE_SUFFIX.sub("", s)
    # "claude-sonnet-4-0" / "claude-opus-4-0" are Anthropic's aliases for the x.0 releases.
    if s.endswith("-0"):
        s = s[:-2]
    return s


_MISS: Final = object()


class PriceTable:
    """Model prices, looked up by any spelling of a model ID; memoised per ID for the hot path."""

    def __init__(
        self,
        prices: Mapping[str, ModelPrice] | None = None,
        *,
        as_of: str = PRICES_AS_OF,
        service_tiers: Mapping[str, float] | None = None,
        inference_geos: Mapping[str, float] | None = None,
    ) -> None:
        if prices is None:
            prices = _builtin_prices()
        self.as_of = as_of
        self._prices: dict[str, ModelPrice] = {normalize_model_id(k): v for k, v in prices.items()}
        # Longest key first, so "claude-opus-4-1" is tried before "claude-opus-4".
        self._keys: tuple[str, ...] = tuple(sorted(self._prices, key=len, reverse=True))
        self._tiers: dict[str, float] = dict(
            SERVICE_TIER_MULTIPLIERS if service_tiers is None else service_tiers
        )
        self._geos: dict[str, float] = dict(
            INFERENCE_GEO_MULTIPLIERS if inference_geos is None else inference_geos
        )
        self._cache: dict[str, ModelPrice | None] = {}
        self._warned: set[str] = set()
        self._warned_labels: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @property
    def models(self) -> tuple[str, ...]:
        """The family keys the table prices."""
        return tuple(sorted(self._prices))

    def key_for(self, model: str) -> str | None:
        """The family key ``model`` is priced under (e.g. ``claude-opus-4-1``), or ``None``."""
        norm = normalize_model_id(model)
        if norm in self._prices:
            return norm
        for key in self._keys:
            if norm.startswith(key) and norm[len(key) : len(key) + 1] == "-":
                # A further short number is another model version, not a variant of this one
                # ("claude-opus-4-7" is not Opus 4, whose price is three times higher): unknown.
                nxt = norm[len(key) + 1 :].split("-", 1)[0]
                if nxt.isdigit() and len(nxt) < 8:
                    continue
                return key
        return None

    def price(self, model: str | None) -> ModelPrice | None:
        """Per-token prices for ``model``, or ``None`` (with one warning per unknown model ID)."""
        if not isinstance(model, str):
            return None  # no model (or junk): nothing to price, nothing worth a warning
        found = self._cache.get(model, _MISS)
        if found is not _MISS:
            return found  # type: ignore[return-value]
        try:
            key = self.key_for(model)
            result = None if key is None else self._prices[key]
        except Exception:
            result = None
        # Plain dict writes are atomic under the GIL; racing threads compute the same value.
        if len(self._cache) < _CACHE_CAP:
            self._cache[model] = result
        if result is None:
            self._warn_unknown(model)
        return result

    def _warn_unknown(self, model: str) -> None:
        with self._lock:
            if model in self._warned or len(self._warned) >= _WARNED_CAP:
                return
            self._warned.add(model)
        _unknown_log.warning(
            LOG_PREFIX + "no price for model %r (price table as of %s); its cost is not recorded. "
            "Add it with a price file (%s).",
            model,
            self.as_of,
            ENV_PRICES_FILE,
        )

    def cost(self, usage: Usage, model: str | None) -> CallCost | None:
        """USD cost of ``usage`` at ``model``'s prices, as its tier, speed, region and size bill it.

        ``None`` for an unknown model, or a tier, speed or region with no multiplier here.
        """
        p = self.price(model)
        if p is None:
            return None
        multipliers = self._multipliers(usage, p)
        if multipliers is None:
            return None
        m_in, m_out = multipliers
        c_in = usage.input * p.input * m_in
        c_out = usage.output * p.output * m_out
        c_5m = usage.cache_write_5m * p.cache_write_5m * m_in
        c_1h = usage.cache_write_1h * p.cache_write_1h * m_in
        c_read = usage.cache_read * p.cache_read * m_in
        return CallCost(
            (
                (TOKEN_INPUT, c_in),
                (TOKEN_OUTPUT, c_out),
                (TOKEN_CACHE_WRITE_5M, c_5m),
                (TOKEN_CACHE_WRITE_1H, c_1h),
                (TOKEN_CACHE_READ, c_read),
            ),
            c_in + c_out + c_5m + c_1h + c_read,
            usage.total_input * p.input * m_in + c_out,
        )

    def _multipliers(self, usage: Usage, p: ModelPrice) -> tuple[float, float] | None:
        """``(input kinds, output)`` multipliers of the call's billing; ``None`` if one is unknown."""
        # Absent fields (older API versions, other platforms) bill as standard, in any region.
        m = 1.0
        tier = usage.service_tier
        if tier is not None:
            found = self._tiers.get(tier)
            if found is None:
                self._warn_unknown_label("service_tier", tier)
                return None
            m = found
        geo = usage.inference_geo
        if geo is not None:
            found = self._geos.get(geo)
            if found is None:
                self._warn_unknown_label("inference_geo", geo)
                return None
            m *= found
        speed = usage.speed
        if speed is not None:
            found = p.speed_multiplier(speed)
            if found is None:
                self._warn_unknown_label("speed", speed)
                return None
            m *= found
        band = p.long_context
        if band is not None and usage.total_input > band.threshold:
            return m * band.input_multiplier, m * band.output_multiplier
        return m, m

    def _warn_unknown_label(self, field: str, value: str) -> None:
        key = (field, value)
        with self._lock:
            if key in self._warned_labels or len(self._warned_labels) >= _WARNED_CAP:
                return
            self._warned_labels.add(key)
        _unknown_price_log.warning(
            LOG_PREFIX + "no price multiplier for usage.%s %r (price table as of %s); the tokens of such "
            "calls are counted, their cost is not recorded. Add it with a price file (%s).",
            field,
            value,
            self.as_of,
            ENV_PRICES_FILE,
        )

    @classmethod
    def load(cls, path: str | None) -> PriceTable:
        """The built-in table extended/overridden by the price file at ``path`` (TOML or JSON).

        File format: see the module docstring (USD per million tokens; cache fields, speed and
        long-context multipliers optional; top-level tier and region multipliers optional)::

            [models.claude-foo]            {"models": {"claude-foo":
            input = 3.0                        {"input": 3.0, "output": 15.0,
            output = 15.0                       "cache_write_5m": 3.75}}}
            cache_write_5m = 3.75

        A file with any problem is rejected as a whole (one warning naming the file and the
        problem; the built-in table is used): half-applying a price list would produce costs that
        look right and are not.
        """
        if not path:
            return cls()
        try:
            overrides, tiers, geos = _read_price_file(path)
        except _PriceFileError as exc:
            _log.warning(LOG_PREFIX + "price file %s ignored, built-in prices used: %s", path, exc)
            return cls()
        except Exception as exc:  # never raise into the application
            _log.warning(
                LOG_PREFIX + "price file %s ignored, built-in prices used: %s: %s",
                path,
                type(exc).__name__,
                exc,
            )
            return cls()
        prices = _builtin_prices()
        prices.update(overrides)
        return cls(
            prices,
            service_tiers={**SERVICE_TIER_MULTIPLIERS, **tiers},
            inference_geos={**INFERENCE_GEO_MULTIPLIERS, **geos},
        )


def default_table(path: str | None = None) -> PriceTable:
    """Built-in prices plus the price file at ``path``, else at the ``prices_file`` setting."""
    if path is None:
        path = load_setting("prices_file")
    return PriceTable.load(path)


def _builtin_prices() -> dict[str, ModelPrice]:
    return {
        key: ModelPrice.per_million(
            *values,
            speed_multipliers=BUILTIN_SPEED_MULTIPLIERS.get(key),
            long_context=BUILTIN_LONG_CONTEXT.get(key),
        )
        for key, values in BUILTIN_PRICES.items()
    }


class _PriceFileError(Exception):
    """A price-file problem, worded for the one warning the user sees."""


_FileContent = tuple[dict[str, ModelPrice], dict[str, float], dict[str, float]]


def _read_price_file(path: str) -> _FileContent:
    lower = path.lower()
    if lower.endswith(".json"):
        is_json = True
    elif lower.endswith(".toml"):
        is_json = False
    else:
        raise _PriceFileError("unknown file type: the name must end in .toml or .json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise _PriceFileError("file not found") from None
    except OSError as exc:
        raise _PriceFileError(f"cannot read it: {exc.strerror or exc}") from None
    if is_json:
        try:
            data: Any = json.loads(raw)
        except ValueError as exc:
            raise _PriceFileError(f"invalid JSON: {exc}") from None
    else:
        data = _parse_toml(raw)
    return _validate(data)


def _parse_toml(raw: bytes) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib as toml
    else:
        try:
            import tomli as toml
        except ImportError:
            raise _PriceFileError(
                "reading TOML needs Python 3.11+ or the 'tomli' package; install tomli or use a .json file"
            ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _PriceFileError(f"not UTF-8 text: {exc}") from None
    try:
        return toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise _PriceFileError(f"invalid TOML: {exc}") from None


def _number(value: Any, where: str) -> float:
    # bool is an int subclass; "input = true" is a typo, not a price of $1.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _PriceFileError(f"{where} must be a number, not {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise _PriceFileError(f"{where} must be a finite number >= 0, not {value!r}")
    return number


def _multiplier_table(value: Any, where: str) -> dict[str, float]:
    """A ``{label: multiplier}`` table of a price file."""
    if not isinstance(value, dict):
        raise _PriceFileError(f"{where} must be a table/object of value -> multiplier")
    return {str(label): _number(mult, f"{where}.{label}") for label, mult in value.items()}


def _long_context(value: Any, where: str) -> LongContext:
    if not isinstance(value, dict):
        raise _PriceFileError(f"{where} must be a table/object with {list(_FILE_LONG_CONTEXT_FIELDS)}")
    if sorted(value) != sorted(_FILE_LONG_CONTEXT_FIELDS):
        raise _PriceFileError(f"{where} needs exactly the fields {list(_FILE_LONG_CONTEXT_FIELDS)}")
    threshold = value["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise _PriceFileError(f"{where}.threshold must be a whole number of tokens >= 0, not {threshold!r}")
    return LongContext(
        threshold,
        _number(value["input_multiplier"], f"{where}.input_multiplier"),
        _number(value["output_multiplier"], f"{where}.output_multiplier"),
    )


def _model_price(entry: Any, where: str) -> ModelPrice:
    if not isinstance(entry, dict):
        raise _PriceFileError(f"{where} must be a table/object, not {type(entry).__name__}")
    extra = sorted(set(entry) - set(_FILE_MODEL_KEYS))
    if extra:
        raise _PriceFileError(f"{where}: unknown field(s) {extra}; allowed: {list(_FILE_MODEL_KEYS)}")
    for required in (TOKEN_INPUT, TOKEN_OUTPUT):
        if required not in entry:
            raise _PriceFileError(f"{where}: missing required field '{required}'")
    values = {name: _number(entry[name], f"{where}.{name}") for name in _FILE_FIELDS if name in entry}
    speeds = entry.get(_FILE_SPEEDS)
    band = entry.get(_FILE_LONG_CONTEXT)
    return ModelPrice.per_million(
        values[TOKEN_INPUT],
        values[TOKEN_OUTPUT],
        values.get(TOKEN_CACHE_WRITE_5M),
        values.get(TOKEN_CACHE_WRITE_1H),
        values.get(TOKEN_CACHE_READ),
        speed_multipliers=None if speeds is None else _multiplier_table(speeds, f"{where}.{_FILE_SPEEDS}"),
        long_context=None if band is None else _long_context(band, f"{where}.{_FILE_LONG_CONTEXT}"),
    )


def _validate(data: Any) -> _FileContent:
    if not isinstance(data, dict):
        raise _PriceFileError(f"top level must be a table/object, not {type(data).__name__}")
    unknown = sorted(set(data) - _FILE_TOP_LEVEL)
    if unknown:
        raise _PriceFileError(
            f"unknown top-level key(s) {unknown}; expected 'models' (and optional 'as_of', "
            f"'{_FILE_TIERS}', '{_FILE_GEOS}')"
        )
    models = data.get("models")
    if not isinstance(models, dict):
        raise _PriceFileError("'models' must be a table/object of model -> prices")
    result: dict[str, ModelPrice] = {}
    for model, entry in models.items():
        where = f"models.{model}"
        price = _model_price(entry, where)
        key = normalize_model_id(str(model))
        if not key:
            raise _PriceFileError(f"{where}: empty model ID")
        result[key] = price
    tiers = data.get(_FILE_TIERS)
    geos = data.get(_FILE_GEOS)
    return (
        result,
        {} if tiers is None else _multiplier_table(tiers, _FILE_TIERS),
        {} if geos is None else _multiplier_table(geos, _FILE_GEOS),
    )
