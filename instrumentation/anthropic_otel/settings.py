"""Environment variables and `instrument(**kwargs)` resolved into one frozen `Settings` object.

Environment first, keyword arguments override it. An invalid value never stops the host
application: it gives one warning naming the variable and the value, and the default is used.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Callable

from . import semconv
from .extract.content import MIN_MAX_CHARS

_log = logging.getLogger(semconv.LOGGER)

DEDUP_MODES = ("memory", "redis", "off")


@dataclass(frozen=True)
class Settings:
    capture_content: bool = False
    prices_file: str | None = None
    dedup: str = "memory"
    dedup_redis_url: str | None = None
    dedup_window_s: float = 600.0
    # How long a cache-writing system prompt counts as a variant (anthropic.cache.system_variants).
    cache_variants_window_s: float = 3600.0
    dedup_hmac_key: str | None = None
    dedup_flush_timeout_s: float = 2.0
    stream_idle_timeout_s: float = 30.0
    stream_idle_enforce: bool = False
    # ~4,000 tokens: a whole minimum cacheable prompt (1,024-4,096 tokens by model) stays readable,
    # and a span's three content values stay far below the 4 MiB an OTLP/gRPC message may carry.
    capture_content_max_chars: int = 16384
    # GenAI metrics under the newest conventions' names (see semconv.GENAI_LATEST_INSTRUMENTS).
    genai_latest: bool = False
    # Zero-code fallback hops: longest gap from a failed call to the retry with another model.
    fallback_window_s: float = 30.0
    # Model fit: a successful call with at most this many output tokens (classification-like work) on
    # a model pricier than `model_fit_cheaper_model` is counted in anthropic.model_fit.*.
    model_fit_max_output_tokens: int = 64
    model_fit_cheaper_model: str = "claude-haiku-4-5"


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _parse_positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("expected a positive number of seconds")
    return value


def _parse_max_chars(raw: str) -> int:
    value = float(raw)
    if not math.isfinite(value) or value != int(value) or value < MIN_MAX_CHARS:
        raise ValueError(f"expected a whole number of characters, at least {MIN_MAX_CHARS}")
    return int(value)


_GENAI_CAPTURE_MODES = {"no_content": False, "span_only": True, "event_only": True, "span_and_event": True}


def _parse_genai_capture(raw: str) -> bool:
    """The standard switch: a boolean, or (with the latest experimental GenAI semconv) a mode name.
    Every mode that records content turns ours on: our one place for content is a span event."""
    mode = _GENAI_CAPTURE_MODES.get(raw.strip().lower())
    if mode is not None:
        return mode
    try:
        return _parse_bool(raw)
    except ValueError:
        raise ValueError(
            f"expected true, false or one of {', '.join(_GENAI_CAPTURE_MODES).upper()}"
        ) from None


def _parse_non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0 or value == float("inf"):
        raise ValueError("expected 0 or a positive number of seconds")
    return value


def _parse_opt_in(raw: str) -> bool:
    """OTel's transition switch: a comma-separated list of opt-ins, ours among others or not."""
    return semconv.SEMCONV_OPT_IN_GENAI_LATEST in {part.strip().lower() for part in raw.split(",")}


def _parse_token_count(raw: str) -> int:
    value = float(raw)
    if not math.isfinite(value) or value != int(value) or value < 0:
        raise ValueError("expected a whole number of tokens, 0 or more")
    return int(value)


def _parse_model(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("expected a model ID")
    return value


def _parse_dedup(raw: str) -> str:
    value = raw.strip().lower()
    if value not in DEDUP_MODES:
        raise ValueError(f"expected one of {', '.join(DEDUP_MODES)}")
    return value


def _parse_text(raw: str) -> str | None:
    return raw.strip() or None


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "capture_content": (semconv.ENV_CAPTURE_CONTENT, _parse_bool),
    "prices_file": (semconv.ENV_PRICES_FILE, _parse_text),
    "dedup": (semconv.ENV_DEDUP, _parse_dedup),
    "dedup_redis_url": (semconv.ENV_DEDUP_REDIS_URL, _parse_text),
    "dedup_window_s": (semconv.ENV_DEDUP_WINDOW_S, _parse_positive_float),
    "cache_variants_window_s": (semconv.ENV_CACHE_VARIANTS_WINDOW_S, _parse_positive_float),
    "dedup_hmac_key": (semconv.ENV_DEDUP_HMAC_KEY, _parse_text),
    "dedup_flush_timeout_s": (semconv.ENV_DEDUP_FLUSH_TIMEOUT_S, _parse_non_negative_float),
    "stream_idle_timeout_s": (semconv.ENV_STREAM_IDLE_TIMEOUT_S, _parse_positive_float),
    "stream_idle_enforce": (semconv.ENV_STREAM_IDLE_ENFORCE, _parse_bool),
    "capture_content_max_chars": (semconv.ENV_CAPTURE_CONTENT_MAX_CHARS, _parse_max_chars),
    "genai_latest": (semconv.ENV_SEMCONV_STABILITY_OPT_IN, _parse_opt_in),
    "fallback_window_s": (semconv.ENV_FALLBACK_WINDOW_S, _parse_positive_float),
    "model_fit_max_output_tokens": (semconv.ENV_MODEL_FIT_MAX_OUTPUT_TOKENS, _parse_token_count),
    "model_fit_cheaper_model": (semconv.ENV_MODEL_FIT_CHEAPER_MODEL, _parse_model),
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from `environ` (default: `os.environ`), then `overrides`; bad values warn and fall back."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    for field in fields(Settings):
        variable, parse = _PARSERS[field.name]
        source, raw = variable, env.get(variable)
        if field.name in overrides and overrides[field.name] is not None:
            source, raw = f"instrument({field.name}=...)", overrides[field.name]
        if raw is None:
            continue
        try:
            values[field.name] = parse(raw) if isinstance(raw, str) else _coerce(raw, field.name, parse)
        except (TypeError, ValueError) as err:
            _warn_ignored(source, raw, err, getattr(defaults, field.name))
    _standard_capture_switch(env, overrides, values)
    unknown = set(overrides) - {f.name for f in fields(Settings)} - _INSTRUMENTOR_KWARGS
    if unknown:
        _log.warning(
            semconv.LOG_PREFIX + "ignoring unknown instrument() options: %s", ", ".join(sorted(unknown))
        )
    return Settings(**values)


def load_setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting from `environ` (default: `os.environ`), checked exactly as `load_settings` checks it.

    For helpers used apart from `instrument()` (the price table, the replay wrapper): they read
    only the variable behind their setting, so they warn about that variable and no other.
    """
    env = os.environ if environ is None else environ
    variables = [_PARSERS[name][0]]
    if name == "capture_content":
        variables.append(semconv.ENV_GENAI_CAPTURE_MESSAGE_CONTENT)
    return getattr(load_settings({v: env[v] for v in variables if v in env}), name)


def _standard_capture_switch(
    env: Mapping[str, str], overrides: Mapping[str, Any], values: dict[str, Any]
) -> None:
    """`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` decides when ours is set nowhere."""
    if env.get(semconv.ENV_CAPTURE_CONTENT) is not None or overrides.get("capture_content") is not None:
        return
    raw = env.get(semconv.ENV_GENAI_CAPTURE_MESSAGE_CONTENT)
    if raw is None:
        return
    try:
        values["capture_content"] = _parse_genai_capture(raw)
    except ValueError as err:
        _warn_ignored(semconv.ENV_GENAI_CAPTURE_MESSAGE_CONTENT, raw, err, Settings().capture_content)


def _warn_ignored(source: str, raw: Any, err: Exception, default: Any) -> None:
    _log.warning(semconv.LOG_PREFIX + "ignoring %s=%r (%s); using the default %r", source, raw, err, default)


def _coerce(raw: Any, name: str, parse: Callable[[str], Any]) -> Any:
    """Keyword arguments may be typed values already; they still go through the same checks."""
    if isinstance(raw, bool) and name == "genai_latest":
        return raw  # instrument(genai_latest=True): a switch, not a list of opt-ins
    if name == "model_fit_cheaper_model" and not isinstance(raw, bool):
        return parse(str(raw))
    if isinstance(raw, bool) or name in ("prices_file", "dedup_redis_url", "dedup_hmac_key"):
        return parse(str(raw).lower() if isinstance(raw, bool) else str(raw))
    if isinstance(raw, (int, float)):
        return parse(repr(float(raw)))
    raise TypeError(f"unsupported type {type(raw).__name__}")


# Keyword arguments BaseInstrumentor passes through that are not settings.
_INSTRUMENTOR_KWARGS = {"tracer_provider", "meter_provider", "logger_provider", "event_logger_provider"}
