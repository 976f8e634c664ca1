"""What each dashboard shows: panels as plain data (title, what it means, what to do, queries).

Kept free of the Grafana SDK so that tests (and the README table) read the same catalog the
builders render. Each panel lists its PromQL targets; `_dashboards.py` turns them into
grafana-foundation-sdk builders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from .. import semconv
from ..pricing import break_even_hit_ratio
from . import _promql as q
from ._options import Options

RATE: Final = "$__rate_interval"
RANGE: Final = "$__range"
DASH: Final = q.Scope(window=RATE, job="$job", model="$model")
BY_MODEL: Final = (q.MODEL,)

TIMESERIES: Final = "timeseries"
STAT: Final = "stat"
TABLE: Final = "table"


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Threshold:
    """A coloured step (and, on time series, a line) at `value`: below it `below`, from it on `above`."""

    value: float
    below: str
    above: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    kind: str
    unit: str
    targets: tuple[Target, ...]
    width: int = 12
    height: int = 8
    threshold: Threshold | None = None
    min: float | None = None
    max: float | None = None
    no_value: str = ""


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def _pct(x: float) -> str:
    return f"{x * 100:g} %"


def _headroom(o: Options) -> tuple[Panel, ...]:
    """One row, on Overview and Reliability: how much of each rate limit is left and when it refills."""
    by_kind = f"{{{{{q.MODEL}}}}} {{{{{q.RATELIMIT_KIND}}}}}"
    return (
        Panel(
            "Rate-limit headroom",
            "remaining / limit per model and limit kind, as the last response's anthropic-ratelimit-* headers "
            "said; only limits whose reset is still ahead (after it the budget is full again, so an idle "
            f"model drops out). Under {_pct(o.ratelimit_headroom_min)} for 5m AnthropicRateLimitHeadroomLow "
            "fires: cache the stable prefix, lower max_tokens, spread bursts or move traffic to another model.",
            TIMESERIES,
            "percentunit",
            (Target(q.ratelimit_headroom(DASH, BY_MODEL), by_kind),),
            width=8,
            threshold=Threshold(o.ratelimit_headroom_min, "red", "green"),
            min=0,
            max=1,
        ),
        Panel(
            "Seconds to rate-limit reset",
            "Seconds until each limit refills, as announced with its headroom. A limit low on headroom with "
            "a reset far away is the one that will answer 429.",
            TIMESERIES,
            "s",
            (Target(q.ratelimit_reset_ahead(DASH, BY_MODEL), by_kind),),
            width=8,
            min=0,
        ),
        Panel(
            "429 attempts by model",
            "HTTP attempts per second answered 429 (rate limited), SDK retries included. Which limit a 429 hit "
            "is not a metric: it is on the attempt's span event (anthropic.attempt.ratelimit_exhausted), so "
            "query traces for it; the headroom panel shows which limit is low.",
            TIMESERIES,
            "reqps",
            (Target(q.attempts_429(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
            width=8,
            min=0,
        ),
    )


def overview(o: Options) -> Dashboard:
    return Dashboard(
        "anthropic-overview",
        "Anthropic API / Overview",
        "Traffic, errors, overload, cost, cache and streams of every service calling the Anthropic API.",
        (
            Panel(
                "Requests per second",
                "Logical API calls per second by model (one per SDK call, whatever its retries). "
                "A sudden drop with no deploy usually means callers are failing before reaching the API.",
                TIMESERIES,
                "reqps",
                (Target(q.requests_rate(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                width=8,
            ),
            Panel(
                "Error ratio (final)",
                "Share of calls that failed after all SDK retries: what your users saw. Above "
                f"{_pct(o.error_ratio_max)} AnthropicErrorRatioHigh fires; open Reliability to see which error type.",
                STAT,
                "percentunit",
                (Target(q.error_ratio(DASH, ())),),
                width=4,
                height=4,
                threshold=Threshold(o.error_ratio_max, "green", "red"),
                min=0,
                max=1,
            ),
            Panel(
                "529 share of attempts",
                "Share of HTTP attempts (SDK retries included) rejected as overloaded (529 or overloaded_error). "
                f"1-3 % at peak is normal; above {_pct(o.overload_rate_max)} add a fallback model or spread load.",
                STAT,
                "percentunit",
                (Target(q.overload_share(DASH, ())),),
                width=4,
                height=4,
                threshold=Threshold(o.overload_rate_max, "green", "orange"),
                min=0,
                max=1,
                no_value="no attempts",
            ),
            Panel(
                "Cost per hour",
                "US dollars per hour at list prices, from the token counts of every call. Compare with the "
                "budget; open Cost and model fit to see which model spends it.",
                STAT,
                "currencyUSD",
                (Target(q.cost_per_hour(DASH, ())),),
                width=4,
                height=4,
            ),
            Panel(
                "Cache hit ratio",
                "cache_read / (cache_read + cache writes) over all models. Under "
                f"{_pct(o.hit_ratio_min)} caching probably loses money; Prompt caching economics shows the "
                "exact net saving.",
                STAT,
                "percentunit",
                (Target(q.cache_hit_ratio(DASH, ())),),
                width=4,
                height=4,
                threshold=Threshold(o.hit_ratio_min, "red", "green"),
                min=0,
                max=1,
                no_value="no cache use",
            ),
            Panel(
                "Active and stalled streams",
                "Streams open now, and those silent for longer than the idle threshold. A stalled stream "
                "holds a client (and often a user) waiting: see the Streams dashboard.",
                STAT,
                "short",
                (
                    Target(q.streams_now(DASH, semconv.ANTHROPIC_STREAMS_ACTIVE, ()), "active"),
                    Target(q.streams_now(DASH, semconv.ANTHROPIC_STREAMS_STALLED, ()), "stalled"),
                ),
                width=4,
                height=4,
                threshold=Threshold(1, "green", "orange"),
                no_value="0",
            ),
            Panel(
                "Latency p50 / p95",
                "Duration of one logical call, all retries and the whole stream included. A p95 far above p50 "
                "usually means retries (see Reliability) or long streams.",
                TIMESERIES,
                "s",
                (
                    Target(q.quantile(DASH, semconv.GEN_AI_CLIENT_OPERATION_DURATION, 0.5), "p50"),
                    Target(q.quantile(DASH, semconv.GEN_AI_CLIENT_OPERATION_DURATION, 0.95), "p95"),
                ),
            ),
            Panel(
                "Time to first token p50 / p95",
                "Streams only: time from the call to the first streamed event, what a user waits before text "
                "appears. Rising TTFT with flat output size points at API load or a slow proxy.",
                TIMESERIES,
                "s",
                (
                    Target(q.quantile(DASH, semconv.GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK, 0.5), "p50"),
                    Target(q.quantile(DASH, semconv.GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK, 0.95), "p95"),
                ),
            ),
            *_headroom(o),
        ),
    )


def caching(o: Options) -> Dashboard:
    be5, be1 = break_even_hit_ratio("5m"), break_even_hit_ratio("1h")
    return Dashboard(
        "anthropic-cache",
        "Anthropic API / Prompt caching economics",
        "Is prompt caching saving money? Writes cost 1.25x input (2x for the 1-hour cache), reads 0.1x.",
        (
            Panel(
                "Cache write vs read tokens",
                "Tokens per second written to and read from the prompt cache, by model and kind. Writes "
                "above reads mean prefixes are written and expire unread: check that the cached prefix is "
                "byte-identical across calls (no timestamps, ids or A/B variants in it).",
                TIMESERIES,
                "short",
                (
                    Target(
                        q.cache_tokens(DASH, (q.MODEL, q.TOKEN_TYPE)),
                        f"{{{{{q.MODEL}}}}} {{{{{q.TOKEN_TYPE}}}}}",
                    ),
                ),
            ),
            Panel(
                "Cache hit ratio by model",
                f"cache_read / (cache_read + cache writes). The line is the {_pct(o.hit_ratio_min)} rule of thumb; "
                f"the exact break-even is {_pct(round(be5, 3))} for the 5-minute cache and {_pct(round(be1, 3))} "
                "for the 1-hour cache. Below the line, look at the net saving next to it.",
                TIMESERIES,
                "percentunit",
                (Target(q.cache_hit_ratio(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                threshold=Threshold(o.hit_ratio_min, "red", "green"),
                min=0,
                max=1,
            ),
            Panel(
                "Net cache saving (USD/h)",
                "What the same tokens would have cost uncached minus what they cost: positive = caching pays. "
                "Negative = caching loses money: stop caching that prompt, or make its prefix stable.",
                TIMESERIES,
                "currencyUSD",
                (Target(q.net_saving_per_hour(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                threshold=Threshold(0, "red", "green"),
            ),
            Panel(
                "Net cache saving in the time range",
                "USD saved (or lost, if negative) by prompt caching over the dashboard's time range.",
                STAT,
                "currencyUSD",
                (Target(q.net_saving_total(DASH, RANGE)),),
                width=6,
                threshold=Threshold(0, "red", "green"),
            ),
            Panel(
                "Exact break-even hit ratio per cache TTL",
                "Hit ratio at which caching costs exactly what not caching would: (w - 1) / (w - 0.1) with "
                "w = 1.25 (5m) or 2 (1h). Above it caching saves money. The rule of thumb (50 %) is safe for both.",
                STAT,
                "percentunit",
                (Target(f"vector({be5:.6f})", "5m cache"), Target(f"vector({be1:.6f})", "1h cache")),
                width=6,
                min=0,
                max=1,
            ),
            Panel(
                "Break-even for each model's TTL mix",
                "The exact break-even hit ratio for the mix of 5-minute and 1-hour writes each model actually "
                "makes. A hit ratio (left) under this line loses money.",
                TIMESERIES,
                "percentunit",
                (Target(q.break_even_for_mix(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                min=0,
                max=1,
            ),
            Panel(
                "System-prompt variants writing the cache",
                "Distinct cache-writing system prompts per model. The A/B-test trap: every variant has its own "
                "cache entry, so N variants split the reads N ways and each is written more often than read. "
                "More than a few: cache the common prefix only and put the variant after the cache breakpoint.",
                TIMESERIES,
                "short",
                (Target(q.system_variants(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                threshold=Threshold(2, "green", "orange"),
                min=0,
            ),
            Panel(
                "Cache writes by cause (tokens/h)",
                "Why each cache-written token was written, per model: the first part of the cached prefix "
                "(tools, then system, then messages) not seen before names the cause; `rewritten` = the same "
                "prefix written again (its TTL lapsed or it was evicted). `new_system` is the A/B-test trap; "
                "`new_tools` a tool list that changes between calls; `rewritten` a TTL too short for the "
                "call rate (consider the 1-hour cache).",
                TIMESERIES,
                "short",
                (
                    Target(
                        q.cache_writes_by_cause_per_hour(DASH, (q.MODEL, q.WRITE_CAUSE)),
                        f"{{{{{q.MODEL}}}}} {{{{{q.WRITE_CAUSE}}}}}",
                    ),
                ),
                min=0,
            ),
            Panel(
                "Share of cache writes from new system prompts",
                "Cache-written tokens whose system prompt this process had not seen in the window, per model. "
                "High together with several system-prompt variants and a hit ratio under the break-even: the "
                "A/B-test trap (AnthropicCacheABTestTrap). Put the varying part after the last cache breakpoint.",
                TIMESERIES,
                "percentunit",
                (Target(q.new_system_write_share(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                threshold=Threshold(0.5, "green", "orange"),
                min=0,
                max=1,
            ),
        ),
    )


def reliability(o: Options) -> Dashboard:
    hop = f"{{{{{q.FROM_MODEL}}}}} -> {{{{{q.TO_MODEL}}}}}"
    return Dashboard(
        "anthropic-reliability",
        "Anthropic API / Reliability",
        "Every HTTP attempt (the SDK's silent retries included), fallbacks, canned answers and duplicates.",
        (
            Panel(
                "Attempts by status",
                "HTTP attempts per second by status code; `none` = connection error or timeout. The SDK retries "
                "408/409/429/5xx silently: this is the only place those retries show.",
                TIMESERIES,
                "reqps",
                (Target(q.attempts_by_status(DASH), f"{{{{{q.STATUS}}}}}"),),
            ),
            Panel(
                "529 overload rate by model",
                f"Share of attempts rejected as overloaded. 1-3 % at peak is normal; the line is "
                f"{_pct(o.overload_rate_max)}. Above it: add a fallback model, lower concurrency, or move batch "
                "work off-peak.",
                TIMESERIES,
                "percentunit",
                (Target(q.overload_share(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                threshold=Threshold(o.overload_rate_max, "green", "orange"),
                min=0,
            ),
            Panel(
                "Final error ratio by model",
                "Share of calls that failed after all retries. Retries hide transient errors; what remains "
                "reached your code. Check error.type in traces; 4xx are bugs, 5xx/529 need fallbacks.",
                TIMESERIES,
                "percentunit",
                (Target(q.error_ratio(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                threshold=Threshold(o.error_ratio_max, "green", "red"),
                min=0,
            ),
            Panel(
                "Retries per request",
                "Extra HTTP attempts per logical call. 0 is ideal; a rise means overload, rate limits or "
                "timeouts, each retry adding latency (and, after a timeout, possibly cost).",
                TIMESERIES,
                "short",
                (Target(q.retries_per_request(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                min=0,
            ),
            # Rate limits are one cause of retries: their headroom row sits right under them.
            *_headroom(o),
            Panel(
                "Unacknowledged retries (double-billing risk)",
                "Retries sent after a timeout or lost connection: the server may have processed (and billed) "
                "the first attempt. Raise client timeouts for long generations, stream long outputs, and "
                "watch the duplicates panels below.",
                TIMESERIES,
                "reqps",
                (
                    Target(
                        q.unacknowledged_retries(DASH, (q.MODEL, q.ERROR_TYPE)),
                        f"{{{{{q.MODEL}}}}} {{{{{q.ERROR_TYPE}}}}}",
                    ),
                ),
            ),
            Panel(
                "Fallback hops in the time range (from -> to)",
                "Every hop from one model to the next (or to the canned answer) with its reason. Hops on "
                "`overloaded` are expected at peak; hops on `refusal` or `server_error` deserve a look.",
                TABLE,
                "short",
                (Target(q.fallback_hops_total(DASH, RANGE)),),
            ),
            Panel(
                "Fallback hop rate",
                "Fallback hops per second by route. A route that is always taken means the primary model is "
                "effectively down for you: make the fallback the primary or fix the cause.",
                TIMESERIES,
                "reqps",
                (Target(q.fallback_hops_rate(DASH), hop),),
            ),
            Panel(
                "Canned responses",
                "Calls answered with the canned fallback because every model failed: users got no real answer. "
                "Any sustained value pages (AnthropicFallbackToCanned).",
                TIMESERIES,
                "reqps",
                (Target(q.canned_rate(DASH, (q.FROM_MODEL,)), f"{{{{{q.FROM_MODEL}}}}}"),),
                threshold=Threshold(1e-9, "green", "red"),
                min=0,
            ),
            Panel(
                "Duplicate requests by state",
                "Requests whose fingerprint was already in flight (a retry racing the original) or completed "
                "within the window (the same prompt billed twice). Add an idempotency layer or cache results.",
                TIMESERIES,
                "reqps",
                (Target(q.duplicates_by_state(DASH), f"{{{{{q.MODEL}}}}} {{{{{q.DUP_STATE}}}}}"),),
            ),
            Panel(
                "Duplicate rate by model",
                f"Duplicates per request. Above {_pct(o.duplicate_rate_max)} AnthropicDuplicateRateHigh fires.",
                TIMESERIES,
                "percentunit",
                (Target(q.duplicate_ratio(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                threshold=Threshold(o.duplicate_rate_max, "green", "orange"),
                min=0,
            ),
            Panel(
                "Wasted on duplicates: tokens/s and USD/h",
                "Tokens billed for duplicate requests, and their cost at each model's average price per token.",
                TIMESERIES,
                "short",
                (
                    Target(q.duplicate_tokens(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}} tokens/s"),
                    Target(q.duplicate_usd_per_hour(DASH), f"{{{{{q.MODEL}}}}} USD/h"),
                ),
            ),
        ),
    )


def streams(o: Options) -> Dashboard:
    return Dashboard(
        "anthropic-streams",
        "Anthropic API / Streams",
        "How streams end, how many drop or hang, and the output lost with them.",
        (
            Panel(
                "Stream end reasons",
                "Finished streams per second by their one end reason: complete, error (event: error), timeout, "
                "unexpected_close (dropped before message_stop), cancelled (by the caller), abandoned (never "
                "closed: a leak in the calling code).",
                TIMESERIES,
                "reqps",
                (Target(q.stream_ends(DASH), f"{{{{{q.END_REASON}}}}}"),),
            ),
            Panel(
                "Stream drop rate",
                "Streams ended by error, timeout or unexpected close, per finished stream. 0.1-0.5 % is the "
                f"field's normal, more behind proxies; the line is {_pct(o.stream_drop_rate_max)}. Above it "
                "check proxy idle timeouts and buffering.",
                TIMESERIES,
                "percentunit",
                (Target(q.stream_drop_ratio(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                threshold=Threshold(o.stream_drop_rate_max, "green", "orange"),
                min=0,
            ),
            Panel(
                "Stalled streams now",
                "Streams silent for longer than the idle threshold (ANTHROPIC_OTEL_STREAM_IDLE_TIMEOUT_S) right "
                "now. A silently closed connection can hang a client forever: set "
                "ANTHROPIC_OTEL_STREAM_IDLE_ENFORCE=true to end them as `timeout`, keeping the partial output.",
                STAT,
                "short",
                (Target(q.streams_now(DASH, semconv.ANTHROPIC_STREAMS_STALLED, ())),),
                width=6,
                threshold=Threshold(1, "green", "red"),
                no_value="0",
            ),
            Panel(
                "Active streams",
                "Streams open now by model. A steady climb without more traffic means streams are not being "
                "closed: look for `abandoned` in the end reasons.",
                TIMESERIES,
                "short",
                (
                    Target(
                        q.streams_now(DASH, semconv.ANTHROPIC_STREAMS_ACTIVE, BY_MODEL), f"{{{{{q.MODEL}}}}}"
                    ),
                ),
                width=6,
                min=0,
            ),
            Panel(
                "Partial output tokens (dropped streams, estimate)",
                "Output tokens per second that went to streams which then dropped, estimated as each model's "
                "drop share of its output. Billed, but the answer was cut: retrying costs them again.",
                TIMESERIES,
                "short",
                (Target(q.partial_output_tokens(DASH), f"{{{{{q.MODEL}}}}}"),),
                min=0,
            ),
        ),
    )


def cost(o: Options) -> Dashboard:
    fit = f"{{{{{q.MODEL}}}}} -> {{{{{q.CHEAPER_MODEL}}}}}"
    return Dashboard(
        "anthropic-cost",
        "Anthropic API / Cost and model fit",
        "Where the money goes, how much of it is expensive models doing cheap work, and what cascades save.",
        (
            Panel(
                "Cost per hour by model",
                "US dollars per hour at list prices, by model. Models missing from the price table are counted "
                "in tokens but not here (the logger anthropic_otel.unknown_model names them).",
                TIMESERIES,
                "currencyUSD",
                (Target(q.cost_per_hour(DASH, BY_MODEL), f"{{{{{q.MODEL}}}}}"),),
                min=0,
            ),
            Panel(
                "Cost per hour by token kind",
                "Where the bill comes from: uncached input, output, cache writes and cache reads. Large cache "
                "write cost with small read cost is the caching trap (see Prompt caching economics).",
                TIMESERIES,
                "currencyUSD",
                (Target(q.cost_per_hour(DASH, (q.TOKEN_TYPE,)), f"{{{{{q.TOKEN_TYPE}}}}}"),),
                min=0,
            ),
            Panel(
                "Cost per hour away from standard rates",
                "US dollars per hour of the calls whose usage reports a billing other than standard: a service "
                "tier (priority, batch at half price), fast mode (a multiple of the model's price), a priced "
                "inference region (us: 1.1x). Already in the panels beside it; here to see what the choices "
                "cost. Empty when every call is billed at standard rates.",
                TIMESERIES,
                "currencyUSD",
                (
                    Target(
                        q.billing_cost_per_hour(DASH),
                        f"{{{{{q.MODEL}}}}} {{{{{q.SERVICE_TIER}}}}} {{{{{q.SPEED}}}}} {{{{{q.INFERENCE_GEO}}}}}",
                    ),
                ),
                min=0,
            ),
            Panel(
                "Short-output calls a cheaper model could take",
                "Share of each model's calls whose output was short (at most "
                "ANTHROPIC_OTEL_MODEL_FIT_MAX_OUTPUT_TOKENS, default 64: classification, routing, extraction) "
                "and that would have cost less on the cheaper model (ANTHROPIC_OTEL_MODEL_FIT_CHEAPER_MODEL, "
                "default claude-haiku-4-5). Models never pricier than it do not appear. A large share: try a "
                "cheap-first cascade for that work.",
                TIMESERIES,
                "percentunit",
                (Target(q.model_fit_call_share(DASH), fit),),
                min=0,
                max=1,
            ),
            Panel(
                "Saving on the cheaper model (USD/day)",
                "What those short-output calls cost minus what the same tokens (cache reads and writes priced "
                "as such) would cost on the cheaper model, per day at the current rate. An upper bound: calls "
                "the cheaper model answers badly would escalate and cost both; a cascade measures that.",
                TIMESERIES,
                "currencyUSD",
                (Target(q.model_fit_saving_per_day(DASH), fit),),
                min=0,
            ),
            Panel(
                "Saving on the cheaper model in the time range",
                "USD the short-output calls of pricier models would have saved on the cheaper model over the "
                "dashboard's time range (same upper bound as the panel beside it).",
                STAT,
                "currencyUSD",
                (Target(q.model_fit_saving_total(DASH, RANGE)),),
                width=6,
            ),
            Panel(
                "Cascade escalations per request, by stage",
                "Per cascade (anthropic_otel.Cascade) and stage model: escalations from that stage to the next, "
                "per request the cascade answered. For the first stage it is its escalation rate. Near 1: the "
                "cheap stage rarely keeps an answer and the cascade costs more than its last model alone; near "
                "0: check the escalation predicate is not too lenient.",
                TIMESERIES,
                "percentunit",
                (
                    Target(
                        q.cascade_escalations_per_request(DASH),
                        f"{{{{{q.CASCADE}}}}} {{{{{q.CASCADE_FROM}}}}}",
                    ),
                ),
                width=6,
                min=0,
                max=1,
            ),
            Panel(
                "Cascade cost per stage vs baseline (USD/h)",
                "What each stage of each cascade costs, and the baseline: the same traffic on the cascade's last "
                "(most capable) model alone, each kept answer's usage priced there. Stages summing above the "
                "baseline: the cascade loses money.",
                TIMESERIES,
                "currencyUSD",
                (
                    Target(
                        q.cascade_cost_per_hour(DASH, (q.CASCADE, q.MODEL)),
                        f"{{{{{q.CASCADE}}}}} {{{{{q.MODEL}}}}}",
                    ),
                    Target(q.cascade_baseline_per_hour(DASH), f"{{{{{q.CASCADE}}}}} baseline"),
                ),
                min=0,
            ),
            Panel(
                "Cascade saving (USD/h)",
                "Baseline minus what all the cascade's stages cost, per cascade (whole cascades: the model "
                "variable does not apply). Negative: too many requests escalate; escalate less often, or "
                "send that work to the last model directly.",
                TIMESERIES,
                "currencyUSD",
                (Target(q.cascade_saving_per_hour(DASH), f"{{{{{q.CASCADE}}}}}"),),
                threshold=Threshold(0, "red", "green"),
            ),
        ),
    )


def dashboards(o: Options) -> tuple[Dashboard, ...]:
    return (overview(o), caching(o), reliability(o), streams(o), cost(o))
