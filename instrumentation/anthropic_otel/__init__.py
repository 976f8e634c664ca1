"""OpenTelemetry instrumentation for the Anthropic API.

`AnthropicInstrumentor().instrument()` (or `opentelemetry-instrument`, with zero code change)
records cache economics, token cost and call telemetry for every `anthropic` SDK from 0.40 on,
sync and async, streaming or not. Names are listed in `anthropic_otel.semconv`.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from . import _guard, _runtime
from ._setup_check import warn_if_nothing_exports
from .cascade import Cascade
from .dedup import DuplicateDetector
from .fallback import FallbackChain, Step
from .pricing import PriceTable
from .recorder import Recorder
from .semconv import SCOPE_NAME
from .settings import Settings, load_settings
from .state import watchdog
from .state.model_fit import ModelFit
from .state.ratelimits import RateLimits
from .state.stream import partial_text
from .state.system_variants import SystemVariants
from .state.write_causes import LONGEST_TTL_S, WriteCauses
from .version import __version__

__all__ = [
    "AnthropicInstrumentor",
    "Cascade",
    "FallbackChain",
    "Settings",
    "Step",
    "__version__",
    "partial_text",
]

_instruments = ("anthropic >= 0.40",)

_BASE = "anthropic._base_client"
_STREAMING = "anthropic._streaming"
_TRACING = "anthropic._tracing"


def _sdk_first_end() -> Any:
    """The SDK's stream-span ender (anthropic >= 1.14), or None on SDKs without their own tracing."""
    try:
        from anthropic._tracing import FirstEnd
    except ImportError:
        return None
    return FirstEnd


def _message_stream_classes() -> list[type]:
    """`MessageStream` and its siblings (async, beta, prompt-caching beta) that define their own close()."""
    import anthropic.lib.streaming as helpers

    return [
        cls
        for name in dir(helpers)
        if name.endswith("MessageStream")
        and isinstance(cls := getattr(helpers, name), type)
        and "close" in vars(cls)
    ]


class AnthropicInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments every Anthropic client, existing classes and clients created later."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        settings = load_settings(**kwargs)
        warn_if_nothing_exports(kwargs)
        meter = metrics.get_meter(SCOPE_NAME, __version__, meter_provider=kwargs.get("meter_provider"))
        tracer = trace.get_tracer(SCOPE_NAME, __version__, tracer_provider=kwargs.get("tracer_provider"))
        system_variants = SystemVariants(settings.cache_variants_window_s)
        ratelimits = RateLimits()
        recorder = Recorder(
            meter,
            genai_latest=settings.genai_latest,
            system_variants=system_variants.counts,
            ratelimits=(ratelimits.limits, ratelimits.remaining, ratelimits.reset_times),
        )
        prices = PriceTable.load(settings.prices_file)
        model_fit = ModelFit(
            prices, recorder, settings.model_fit_cheaper_model, settings.model_fit_max_output_tokens
        )
        _runtime.current = _runtime.Runtime(
            settings=settings,
            recorder=recorder,
            tracer=tracer,
            prices=prices,
            dedup=DuplicateDetector(settings, recorder),
            system_variants=system_variants,
            ratelimits=ratelimits,
            # A 1-hour entry lapses an hour after its write at the soonest: remembered that long, and more.
            write_causes=WriteCauses(settings.cache_variants_window_s + LONGEST_TTL_S),
            model_fit=model_fit if model_fit.enabled else None,
        )
        _guard.on_internal_error = recorder.internal_error

        from .hooks import events, middleware, request

        wrap_function_wrapper(_BASE, "SyncAPIClient.request", request.request_wrapper)
        wrap_function_wrapper(_BASE, "AsyncAPIClient.request", request.async_request_wrapper)
        wrap_function_wrapper(_STREAMING, "Stream._iter_events", events.iter_events_wrapper)
        wrap_function_wrapper(_STREAMING, "AsyncStream._iter_events", events.aiter_events_wrapper)
        wrap_function_wrapper(_STREAMING, "Stream.close", events.close_wrapper)
        wrap_function_wrapper(_STREAMING, "AsyncStream.close", events.aclose_wrapper)
        wrap_function_wrapper(_STREAMING, "Stream.__init__", events.init_wrapper)
        wrap_function_wrapper(_STREAMING, "AsyncStream.__init__", events.init_wrapper)
        for cls in _message_stream_classes():
            is_async = inspect.iscoroutinefunction(vars(cls)["close"])
            wrap_function_wrapper(cls, "close", events.aclose_wrapper if is_async else events.close_wrapper)
        watchdog.register_exit_hook()
        if _sdk_first_end() is not None:
            wrap_function_wrapper(_TRACING, "FirstEnd.end", events.first_end_wrapper)
        if middleware.SUPPORTED:
            wrap_function_wrapper(_BASE, "SyncAPIClient.__init__", middleware.init_wrapper)
            wrap_function_wrapper(_BASE, "AsyncAPIClient.__init__", middleware.init_wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        import anthropic._base_client as base
        import anthropic._streaming as streaming

        for cls in (base.SyncAPIClient, base.AsyncAPIClient):
            unwrap(cls, "request")
            unwrap(cls, "__init__")
        for stream_cls in (streaming.Stream, streaming.AsyncStream):
            unwrap(stream_cls, "_iter_events")
            unwrap(stream_cls, "close")
            unwrap(stream_cls, "__init__")
        for helper_cls in _message_stream_classes():
            unwrap(helper_cls, "close")
        first_end = _sdk_first_end()
        if first_end is not None:
            unwrap(first_end, "end")
        # No stream span is left open: streams still open end as abandoned, before any provider shutdown.
        watchdog.end_all_open()
        watchdog.stop()
        runtime = _runtime.current
        # Middleware already inside live clients stays there but passes every call straight through.
        _runtime.current = None
        if runtime is not None:
            # Flushes what is queued for Redis, waiting no longer than the setting allows.
            runtime.dedup.shutdown(runtime.settings.dedup_flush_timeout_s)
        _guard.on_internal_error = None
