"""Prometheus names and the PromQL behind every panel and alert, derived from `semconv` specs.

Names are never spelled here: a metric's Prometheus name comes from its `semconv.Instrument`
through `semconv.prometheus_name` (the exporters' translation) and a label's name from its
attribute. Pure functions of strings, so the CLI, the generator and the tests share one
definition of each query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from .. import semconv
from ..pricing import (
    CACHE_READ_MULTIPLIER,
    CACHE_WRITE_1H_MULTIPLIER,
    CACHE_WRITE_5M_MULTIPLIER,
)

# The streams that ended because something broke (not the caller): the "drop rate" numerator.
DROP_REASONS: Final = (semconv.END_ERROR, semconv.END_TIMEOUT, semconv.END_UNEXPECTED_CLOSE)
CACHE_TOKEN_TYPES: Final = (
    semconv.TOKEN_CACHE_READ,
    semconv.TOKEN_CACHE_WRITE_5M,
    semconv.TOKEN_CACHE_WRITE_1H,
)
CACHE_WRITE_TYPES: Final = (semconv.TOKEN_CACHE_WRITE_5M, semconv.TOKEN_CACHE_WRITE_1H)
OVERLOADED_STATUS: Final = "529"
RATE_LIMITED_STATUS: Final = "429"


def metric(spec: semconv.Instrument, part: str = "") -> str:
    """The Prometheus name of `spec`; histograms need `part` (`bucket`, `sum` or `count`)."""
    name = semconv.prometheus_name(spec)
    if spec.kind == semconv.HISTOGRAM:
        if part not in semconv.PROMETHEUS_HISTOGRAM_PARTS:
            raise ValueError(f"histogram {spec.name} needs part bucket, sum or count, not {part!r}")
        return f"{name}_{part}"
    return name


def series_names(spec: semconv.Instrument) -> tuple[str, ...]:
    """Every Prometheus series name `spec` produces."""
    if spec.kind == semconv.HISTOGRAM:
        return tuple(metric(spec, part) for part in semconv.PROMETHEUS_HISTOGRAM_PARTS)
    return (metric(spec),)


def label(attribute: str) -> str:
    return attribute.replace(".", "_")


MODEL: Final = label(semconv.GEN_AI_REQUEST_MODEL)
JOB: Final = "job"
TOKEN_TYPE: Final = label(semconv.ANTHROPIC_TOKEN_TYPE)
GEN_AI_TOKEN_TYPE: Final = label(semconv.GEN_AI_TOKEN_TYPE)
OUTCOME: Final = label(semconv.ANTHROPIC_REQUEST_OUTCOME)
STATUS: Final = label(semconv.HTTP_RESPONSE_STATUS_CODE)
ERROR_TYPE: Final = label(semconv.ERROR_TYPE)
END_REASON: Final = label(semconv.ANTHROPIC_STREAM_END_REASON)
DUP_STATE: Final = label(semconv.ANTHROPIC_DUPLICATE_STATE)
FROM_MODEL: Final = label(semconv.ANTHROPIC_FALLBACK_FROM_MODEL)
TO_MODEL: Final = label(semconv.ANTHROPIC_FALLBACK_TO_MODEL)
FALLBACK_REASON: Final = label(semconv.ANTHROPIC_FALLBACK_REASON)
WRITE_CAUSE: Final = label(semconv.ANTHROPIC_CACHE_WRITE_CAUSE)
CHEAPER_MODEL: Final = label(semconv.ANTHROPIC_MODEL_FIT_CHEAPER_MODEL)
CASCADE: Final = label(semconv.ANTHROPIC_CASCADE_NAME)
CASCADE_FROM: Final = label(semconv.ANTHROPIC_CASCADE_FROM_MODEL)
CASCADE_TO: Final = label(semconv.ANTHROPIC_CASCADE_TO_MODEL)
RATELIMIT_KIND: Final = label(semconv.ANTHROPIC_RATELIMIT_KIND)
SERVICE_TIER: Final = label(semconv.ANTHROPIC_RESPONSE_SERVICE_TIER)
SPEED: Final = label(semconv.ANTHROPIC_RESPONSE_SPEED)
INFERENCE_GEO: Final = label(semconv.ANTHROPIC_RESPONSE_INFERENCE_GEO)
BILLING: Final = (MODEL, SERVICE_TIER, SPEED, INFERENCE_GEO)

# The API's per-minute limits (its header names, as `extract.ratelimit` reports them) and the token
# types each one is consumed by. Cache reads are left out: for current models they do not count
# toward the input-tokens limit, and counting them would predict exhaustion for the very traffic
# that caches to stay under it. `requests` is consumed by every attempt, retries included.
RATELIMIT_TOKEN_TYPES: Final = {
    "input_tokens": (semconv.TOKEN_INPUT, semconv.TOKEN_CACHE_WRITE_5M, semconv.TOKEN_CACHE_WRITE_1H),
    "output_tokens": (semconv.TOKEN_OUTPUT,),
    "tokens": (
        semconv.TOKEN_INPUT,
        semconv.TOKEN_CACHE_WRITE_5M,
        semconv.TOKEN_CACHE_WRITE_1H,
        semconv.TOKEN_OUTPUT,
    ),
}
RATELIMIT_REQUESTS: Final = "requests"


def eq(name: str, value: str) -> str:
    return f'{name}="{value}"'


def one_of(name: str, values: Iterable[str]) -> str:
    return f'{name}=~"{"|".join(values)}"'


@dataclass(frozen=True)
class Scope:
    """Where queries look: label matchers every selector gets, and the rate window.

    Dashboards use `$job`/`$model` variables and `$__rate_interval`; alerts a fixed window and,
    with `--job`, a job regex. `model` filters the spec's model label (`from_model` for fallback hops
    and cascade escalations).
    """

    window: str
    job: str | None = None
    model: str | None = None

    def sel(self, spec: semconv.Instrument, *matchers: str, part: str = "") -> str:
        found = list(matchers)
        if self.job is not None:
            found.insert(0, f'{JOB}=~"{self.job}"')
        if self.model is not None:
            if semconv.GEN_AI_REQUEST_MODEL in spec.attributes:
                found.insert(1 if self.job is not None else 0, f'{MODEL}=~"{self.model}"')
            elif semconv.ANTHROPIC_FALLBACK_FROM_MODEL in spec.attributes:
                found.insert(1 if self.job is not None else 0, f'{FROM_MODEL}=~"{self.model}"')
            elif semconv.ANTHROPIC_CASCADE_FROM_MODEL in spec.attributes:
                found.insert(1 if self.job is not None else 0, f'{CASCADE_FROM}=~"{self.model}"')
        inner = ", ".join(found)
        return f"{metric(spec, part)}{{{inner}}}" if inner else metric(spec, part)

    def rate(self, spec: semconv.Instrument, *matchers: str, part: str = "", window: str = "") -> str:
        return f"rate({self.sel(spec, *matchers, part=part)}[{window or self.window}])"

    def increase(self, spec: semconv.Instrument, *matchers: str, window: str = "") -> str:
        return f"increase({self.sel(spec, *matchers)}[{window or self.window}])"

    def increase_from_zero(self, spec: semconv.Instrument, *matchers: str, window: str = "") -> str:
        """increase(), but a series that appeared within the window counts all of its value.

        The exporters create a counter's series at its first add, so that add is the series' first
        sample and increase(), which only sees differences between samples, counts it as 0: the first
        (for a rare event, the only) canned answer of a process would never show. A series absent one
        window ago started from zero inside the window: its value is its increase.
        """
        w = window or self.window
        sel = self.sel(spec, *matchers)
        return f"({sel} unless {sel} offset {w})\n  or {self.increase(spec, *matchers, window=w)}"


def agg(by: Iterable[str], inner: str, op: str = "sum") -> str:
    labels = ", ".join(by)
    return f"{op} by ({labels}) ({inner})" if labels else f"{op}({inner})"


def ratio_or_zero(numerator: str, denominator: str) -> str:
    """numerator / denominator, 0 (not "No data") where the numerator has no series yet.

    Counter series appear on first use, so a model that never erred has no error series; `or 0 *
    denominator` fills in its zero with the denominator's labels.
    """
    return f"(\n  {numerator}\nor\n  0 * {denominator}\n)\n/\n{denominator}"


# --- Cache economics -------------------------------------------------------------------------


def cache_hit_ratio(s: Scope, by: Iterable[str]) -> str:
    by = tuple(by)
    reads = agg(by, s.rate(semconv.ANTHROPIC_TOKENS, eq(TOKEN_TYPE, semconv.TOKEN_CACHE_READ)))
    cached = agg(by, s.rate(semconv.ANTHROPIC_TOKENS, one_of(TOKEN_TYPE, CACHE_TOKEN_TYPES)))
    return ratio_or_zero(reads, cached)


def cache_tokens(s: Scope, by: Iterable[str]) -> str:
    return agg(by, s.rate(semconv.ANTHROPIC_TOKENS, one_of(TOKEN_TYPE, CACHE_TOKEN_TYPES)))


def _rate_difference(
    s: Scope, minuend: semconv.Instrument, subtrahend: semconv.Instrument, by: Iterable[str], per_s: int
) -> str:
    """`minuend - subtrahend`, both summed `by` as rates, per `per_s` seconds (3600: per hour)."""
    by = tuple(by)
    return f"({agg(by, s.rate(minuend))}\n-\n{agg(by, s.rate(subtrahend))}) * {per_s}"


def _increase_difference(
    s: Scope, minuend: semconv.Instrument, subtrahend: semconv.Instrument, window: str
) -> str:
    """`minuend - subtrahend`, each the total increase over `window`."""
    return (
        f"{agg((), s.increase(minuend, window=window))}\n-\n{agg((), s.increase(subtrahend, window=window))}"
    )


def net_saving_per_hour(s: Scope, by: Iterable[str]) -> str:
    return _rate_difference(s, semconv.ANTHROPIC_COST_UNCACHED, semconv.ANTHROPIC_COST, by, 3600)


def net_saving_total(s: Scope, window: str) -> str:
    return _increase_difference(s, semconv.ANTHROPIC_COST_UNCACHED, semconv.ANTHROPIC_COST, window)


def break_even_for_mix(s: Scope, by: Iterable[str]) -> str:
    """Exact break-even hit ratio for the TTL mix each model writes.

    Reading R tokens instead of sending them uncached saves (1 - r) each; writing W5 and W1 costs
    (w5 - 1) and (w1 - 1) extra each. Saving is zero at R* = ((w5-1) W5 + (w1-1) W1) / (1 - r), so
    the break-even hit ratio is R* / (R* + W5 + W1): 21.7 % for pure 5m writes, 52.6 % for 1h.
    """
    by = tuple(by)
    writes = agg(by, s.rate(semconv.ANTHROPIC_TOKENS, one_of(TOKEN_TYPE, CACHE_WRITE_TYPES)))
    w5 = f"({agg(by, s.rate(semconv.ANTHROPIC_TOKENS, eq(TOKEN_TYPE, semconv.TOKEN_CACHE_WRITE_5M)))} or 0 * {writes})"
    w1 = f"({agg(by, s.rate(semconv.ANTHROPIC_TOKENS, eq(TOKEN_TYPE, semconv.TOKEN_CACHE_WRITE_1H)))} or 0 * {writes})"
    reads_at_break_even = (
        f"(({CACHE_WRITE_5M_MULTIPLIER - 1:g} * {w5} + {CACHE_WRITE_1H_MULTIPLIER - 1:g} * {w1})"
        f" / {1 - CACHE_READ_MULTIPLIER:g})"
    )
    return f"{reads_at_break_even}\n/\n({reads_at_break_even} + {writes})"


def system_variants(s: Scope, by: Iterable[str]) -> str:
    return agg(by, s.sel(semconv.ANTHROPIC_CACHE_SYSTEM_VARIANTS), op="max")


def cache_writes_by_cause_per_hour(s: Scope, by: Iterable[str]) -> str:
    return f"{agg(by, s.rate(semconv.ANTHROPIC_CACHE_WRITES))} * 3600"


def new_system_write_share(s: Scope, by: Iterable[str]) -> str:
    """Share of cache-written tokens written because the system prompt was new: the A/B-test trap."""
    by = tuple(by)
    new_system = agg(
        by, s.rate(semconv.ANTHROPIC_CACHE_WRITES, eq(WRITE_CAUSE, semconv.WRITE_CAUSE_NEW_SYSTEM))
    )
    return ratio_or_zero(new_system, agg(by, s.rate(semconv.ANTHROPIC_CACHE_WRITES)))


# --- Requests, attempts, errors --------------------------------------------------------------


def requests_rate(s: Scope, by: Iterable[str]) -> str:
    return agg(by, s.rate(semconv.ANTHROPIC_REQUESTS))


def error_ratio(s: Scope, by: Iterable[str]) -> str:
    by = tuple(by)
    errors = agg(by, s.rate(semconv.ANTHROPIC_REQUESTS, eq(OUTCOME, semconv.OUTCOME_ERROR)))
    return ratio_or_zero(errors, requests_rate(s, by))


def attempts_rate(s: Scope, by: Iterable[str]) -> str:
    return agg(by, s.rate(semconv.ANTHROPIC_ATTEMPTS))


def attempts_by_status(s: Scope) -> str:
    # A connection error has no status code; name it instead of showing an empty legend.
    inner = f'label_replace({s.rate(semconv.ANTHROPIC_ATTEMPTS)}, "{STATUS}", "none", "{STATUS}", "")'
    return agg((STATUS,), inner)


def overload_share(s: Scope, by: Iterable[str]) -> str:
    """529 share of attempts. Overload also arrives as `overloaded_error` on other statuses (or in a
    200 stream), so both are counted; `or` keeps each attempt series once."""
    by = tuple(by)
    overloaded = agg(
        by,
        f"{s.rate(semconv.ANTHROPIC_ATTEMPTS, eq(STATUS, OVERLOADED_STATUS))}\n"
        f"  or {s.rate(semconv.ANTHROPIC_ATTEMPTS, eq(ERROR_TYPE, semconv.ERROR_OVERLOADED))}",
    )
    return ratio_or_zero(overloaded, attempts_rate(s, by))


def retries_per_request(s: Scope, by: Iterable[str]) -> str:
    by = tuple(by)
    return f"({attempts_rate(s, by)} - {requests_rate(s, by)})\n/\n{requests_rate(s, by)}"


def unacknowledged_retries(s: Scope, by: Iterable[str]) -> str:
    return agg(by, s.rate(semconv.ANTHROPIC_RETRIES_UNACKNOWLEDGED))


# --- Fallback --------------------------------------------------------------------------------


def fallback_hops_total(s: Scope, window: str) -> str:
    return agg(
        (FROM_MODEL, TO_MODEL, FALLBACK_REASON),
        s.increase_from_zero(semconv.ANTHROPIC_FALLBACK_HOPS, window=window),
    )


def fallback_hops_rate(s: Scope) -> str:
    return agg((FROM_MODEL, TO_MODEL), s.rate(semconv.ANTHROPIC_FALLBACK_HOPS))


def canned_rate(s: Scope, by: Iterable[str]) -> str:
    return agg(by, s.rate(semconv.ANTHROPIC_FALLBACK_HOPS, eq(TO_MODEL, semconv.FALLBACK_TO_CANNED)))


def canned_increase(s: Scope, by: Iterable[str]) -> str:
    return agg(
        by, s.increase_from_zero(semconv.ANTHROPIC_FALLBACK_HOPS, eq(TO_MODEL, semconv.FALLBACK_TO_CANNED))
    )


# --- Duplicates ------------------------------------------------------------------------------


def duplicates_by_state(s: Scope) -> str:
    return agg((MODEL, DUP_STATE), s.rate(semconv.ANTHROPIC_DUPLICATES))


def duplicate_ratio(s: Scope, by: Iterable[str]) -> str:
    by = tuple(by)
    return ratio_or_zero(agg(by, s.rate(semconv.ANTHROPIC_DUPLICATES)), requests_rate(s, by))


def duplicate_tokens(s: Scope, by: Iterable[str]) -> str:
    return agg(by, s.rate(semconv.ANTHROPIC_DUPLICATES_TOKENS))


def duplicate_usd_per_hour(s: Scope) -> str:
    """Wasted USD: duplicate tokens priced at each model's average cost per billed token."""
    by = (MODEL,)
    per_token = f"({agg(by, s.rate(semconv.ANTHROPIC_COST))}\n/\n{agg(by, s.rate(semconv.ANTHROPIC_TOKENS))})"
    return f"{duplicate_tokens(s, by)}\n* {per_token} * 3600"


# --- Streams ---------------------------------------------------------------------------------


def stream_ends(s: Scope) -> str:
    return agg((END_REASON,), s.rate(semconv.ANTHROPIC_STREAMS))


def stream_drop_ratio(s: Scope, by: Iterable[str]) -> str:
    by = tuple(by)
    dropped = agg(by, s.rate(semconv.ANTHROPIC_STREAMS, one_of(END_REASON, DROP_REASONS)))
    return ratio_or_zero(dropped, agg(by, s.rate(semconv.ANTHROPIC_STREAMS)))


def streams_now(s: Scope, spec: semconv.Instrument, by: Iterable[str]) -> str:
    return agg(by, s.sel(spec))


def partial_output_tokens(s: Scope) -> str:
    """Output tokens/s of dropped streams, estimated as the dropped share of each model's output."""
    by = (MODEL,)
    output = agg(by, s.rate(semconv.ANTHROPIC_TOKENS, eq(TOKEN_TYPE, semconv.TOKEN_OUTPUT)))
    return f"{output}\n* on ({MODEL})\n({stream_drop_ratio(s, by)})"


# --- Latency ---------------------------------------------------------------------------------


def quantile(s: Scope, spec: semconv.Instrument, q: float, by: Iterable[str] = ()) -> str:
    return f"histogram_quantile({q:g}, {agg(('le', *by), s.rate(spec, part='bucket'))})"


# --- Cost and model fit ----------------------------------------------------------------------


def cost_per_hour(s: Scope, by: Iterable[str]) -> str:
    return f"{agg(by, s.rate(semconv.ANTHROPIC_COST))} * 3600"


def billing_cost_per_hour(s: Scope) -> str:
    """USD/h of the calls billed away from standard rates, by model, tier, speed and region."""
    return f"{agg(BILLING, s.rate(semconv.ANTHROPIC_COST_BILLING))} * 3600"


def model_fit_call_share(s: Scope) -> str:
    """Share of each model's calls that had a short output and would cost less on the cheaper model.

    Only models with such calls appear: a model never pricier than the cheaper one has no series.
    """
    fit = agg((MODEL, CHEAPER_MODEL), s.rate(semconv.ANTHROPIC_MODEL_FIT_CALLS))
    return f"{fit}\n/ on ({MODEL}) group_left\n{requests_rate(s, (MODEL,))}"


def model_fit_saving_per_day(s: Scope) -> str:
    """USD/day those short-output calls would save on the cheaper model: their cost minus the same tokens' there."""
    return _rate_difference(
        s,
        semconv.ANTHROPIC_MODEL_FIT_COST,
        semconv.ANTHROPIC_MODEL_FIT_CHEAPER_COST,
        (MODEL, CHEAPER_MODEL),
        86400,
    )


def model_fit_saving_total(s: Scope, window: str) -> str:
    return _increase_difference(
        s, semconv.ANTHROPIC_MODEL_FIT_COST, semconv.ANTHROPIC_MODEL_FIT_CHEAPER_COST, window
    )


# --- Cascade ---------------------------------------------------------------------------------


def cascade_escalations_per_request(s: Scope) -> str:
    """Per cascade and stage: escalations out of the stage / requests the cascade answered.

    Every request reaches the first stage, so for it this is its escalation rate; summed over the
    stages, the escalations per request. The last stage never escalates and has no series.
    """
    escalated = agg((CASCADE, CASCADE_FROM), s.rate(semconv.ANTHROPIC_CASCADE_ESCALATIONS))
    answered = agg((CASCADE,), replace(s, model=None).rate(semconv.ANTHROPIC_CASCADE_REQUESTS))
    return f"{escalated}\n/ on ({CASCADE}) group_left\n{answered}"


def cascade_cost_per_hour(s: Scope, by: Iterable[str]) -> str:
    return f"{agg(by, s.rate(semconv.ANTHROPIC_CASCADE_COST))} * 3600"


def cascade_baseline_per_hour(s: Scope) -> str:
    """USD/h each cascade's traffic would cost on its last model alone; whole cascades, whatever `model`."""
    whole = replace(s, model=None)
    return f"{agg((CASCADE,), whole.rate(semconv.ANTHROPIC_CASCADE_BASELINE_COST))} * 3600"


def cascade_saving_per_hour(s: Scope) -> str:
    """USD/h each cascade saves against sending its traffic to its last model alone.

    Whole cascades: a saving is only meaningful over all stages, so `model` does not filter it.
    """
    whole = replace(s, model=None)
    return _rate_difference(
        whole, semconv.ANTHROPIC_CASCADE_BASELINE_COST, semconv.ANTHROPIC_CASCADE_COST, (CASCADE,), 3600
    )


# --- Rate-limit headroom ---------------------------------------------------------------------


def _with_kind(by: Iterable[str]) -> tuple[str, ...]:
    return (*by, RATELIMIT_KIND)


def ratelimit_reset_ahead(s: Scope, by: Iterable[str]) -> str:
    """Seconds until each limit's announced reset, only where it is still ahead.

    The gauges hold the last response's values for as long as the process lives: once the reset
    has passed the budget has refilled, and the remaining they show is history, not headroom.
    Several processes of one job report the same limit; the latest reset is the one that counts.
    """
    return f"({agg(_with_kind(by), s.sel(semconv.ANTHROPIC_RATELIMIT_RESET_TIME), op='max')} - time() > 0)"


def ratelimit_headroom(s: Scope, by: Iterable[str]) -> str:
    """remaining / limit per `by` and kind, for limits whose reset is still ahead.

    Processes sharing one organisation's budget each report what their last response said: the
    lowest remaining is the freshest bound on what is left.
    """
    byk = _with_kind(by)
    remaining = agg(byk, s.sel(semconv.ANTHROPIC_RATELIMIT_REMAINING), op="min")
    limit = agg(byk, s.sel(semconv.ANTHROPIC_RATELIMIT_LIMIT), op="max")
    return f"{remaining}\n/\n({limit} > 0)\nand on ({', '.join(byk)})\n{ratelimit_reset_ahead(s, by)}"


def ratelimit_consumption(s: Scope, by: Iterable[str]) -> str:
    """Per second, what each limit is consumed by, labelled with the limit's kind.

    The counters carry the token type, the gauges the limit's kind: `label_replace` gives each
    consumption the kind it counts against, so the two can be matched on (`by`, kind).
    """
    by = tuple(by)
    parts = [
        f"label_replace({agg(by, s.rate(semconv.ANTHROPIC_TOKENS, one_of(TOKEN_TYPE, types)))}, "
        f'"{RATELIMIT_KIND}", "{kind}", "", "")'
        for kind, types in RATELIMIT_TOKEN_TYPES.items()
    ]
    parts.append(
        f'label_replace({agg(by, s.rate(semconv.ANTHROPIC_ATTEMPTS))}, "{RATELIMIT_KIND}", "{RATELIMIT_REQUESTS}", "", "")'
    )
    return "\nor\n".join(parts)


def ratelimit_exhaustion_ratio(s: Scope, by: Iterable[str]) -> str:
    """Per `by` and kind: what the current rate would consume before the announced reset, over what
    is left. Above 1 the budget runs out first; for a steady rate r against a limit L per minute this
    is r * 60 > L whatever the moment in the window. A spent limit (remaining 0) with traffic is +Inf."""
    byk = ", ".join(_with_kind(by))
    remaining = agg(_with_kind(by), s.sel(semconv.ANTHROPIC_RATELIMIT_REMAINING), op="min")
    return (
        f"(\n{ratelimit_consumption(s, by)}\n)\n* on ({byk})\n{ratelimit_reset_ahead(s, by)}"
        f"\n/ on ({byk})\n{remaining}"
    )


def attempts_429(s: Scope, by: Iterable[str]) -> str:
    """429 attempts per second; 0 (not "No data") for a model that has attempts but no 429 yet."""
    by = tuple(by)
    limited = agg(by, s.rate(semconv.ANTHROPIC_ATTEMPTS, eq(STATUS, RATE_LIMITED_STATUS)))
    return f"{limited}\nor\n0 * {attempts_rate(s, by)}"
