"""One warning when nothing the instrumentation records can leave the process.

`opentelemetry-instrument` without `opentelemetry-distro` (or another configurator) leaves the
global providers as the API's no-op proxies: every metric and span is dropped and the app runs as
if nothing were wrong. We cannot tell that apart from an app that sets its providers later, except
under `opentelemetry-instrument`, whose configurators have already run when instrumentors load.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics, trace

from .semconv import LOG_PREFIX, LOGGER

_AUTO_INSTRUMENTATION = "opentelemetry.instrumentation.auto_instrumentation"
# What the API hands out before any SDK provider is set.
_PLACEHOLDERS = frozenset(
    {"_ProxyMeterProvider", "NoOpMeterProvider", "ProxyTracerProvider", "NoOpTracerProvider"}
)
INSTALL_HINT = "pip install 'anthropic-otel[otlp]' (or '[prometheus]' for a /metrics endpoint on :9464)"


def warn_if_nothing_exports(kwargs: Mapping[str, Any]) -> bool:
    """Warn (and return True) when run by `opentelemetry-instrument` with no SDK provider configured."""
    if kwargs.get("meter_provider") is not None or kwargs.get("tracer_provider") is not None:
        return False
    if _AUTO_INSTRUMENTATION not in sys.modules:
        return False
    providers = (metrics.get_meter_provider(), trace.get_tracer_provider())
    if not all(type(provider).__name__ in _PLACEHOLDERS for provider in providers):
        return False
    logging.getLogger(LOGGER).warning(
        LOG_PREFIX + "no OpenTelemetry SDK is configured, so no metric or span will be exported: "
        "opentelemetry-instrument needs opentelemetry-distro and an exporter. %s, then set "
        "OTEL_METRICS_EXPORTER / OTEL_TRACES_EXPORTER (otlp, prometheus or console).",
        INSTALL_HINT,
    )
    return True
