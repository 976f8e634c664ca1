"""The alerts, once, as plain data; rendered as a Prometheus rule file and as Grafana provisioning.

Each alert is a value expression (with its minimum-traffic guard already applied), a comparison
and a threshold. Prometheus gets `value <op> threshold`; Grafana gets the value as query A, a
`last` reduction B and a threshold condition C, so both paths alert on the same PromQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from .. import semconv
from . import _promql as q
from ._options import Options

GROUP: Final = "anthropic-otel"
GRAFANA_FOLDER: Final = "Anthropic"
GRAFANA_DS_VARIABLE: Final = "${DS_PROMETHEUS}"
EVALUATION_INTERVAL: Final = "1m"
BY: Final = (q.JOB, q.MODEL)

VALUE: Final = "<value>"
_WHERE: Final = f"{{{{ $labels.{q.MODEL} }}}} in {{{{ $labels.{q.JOB} }}}}"


@dataclass(frozen=True)
class Alert:
    name: str
    value: str
    op: str
    threshold: float
    for_: str
    severity: str
    summary: str
    # VALUE is replaced by the live value in each target's template syntax.
    description: str
    value_format: str = "humanizePercentage"
    window_s: int = 600
    # Minimum traffic, so idle or tiny services do not page on a handful of calls.
    guard: str = ""

    def prometheus_expr(self) -> str:
        expr = f"(\n{_indent(self.value)}\n) {self.op} {_number(self.threshold)}"
        return f"{expr}\nand on ({', '.join(BY)})\n{_indent(self.guard)}" if self.guard else expr

    def grafana_expr(self) -> str:
        """Without the comparison, which Grafana's threshold step makes; the guard stays in PromQL."""
        return (
            f"(\n{_indent(self.value)}\n)\nand on ({', '.join(BY)})\n{_indent(self.guard)}"
            if self.guard
            else self.value
        )


def _number(x: float) -> str:
    """`x` as short as it reads (0.05, 1, 2500), never rounded: a USD budget has more digits than %g keeps."""
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.split("\n"))


def _requests_at_least(s: q.Scope, n: int, by: tuple[str, ...] = BY) -> str:
    return f"{q.agg(by, s.increase(semconv.ANTHROPIC_REQUESTS))} >= {n}"


def _cache_writes_seen(s: q.Scope) -> str:
    written = s.increase(semconv.ANTHROPIC_TOKENS, q.one_of(q.TOKEN_TYPE, q.CACHE_WRITE_TYPES))
    return f"{q.agg(BY, written)} > 0"


def alerts(o: Options) -> tuple[Alert, ...]:
    w30 = q.Scope(window="30m", job=o.job)
    w10 = q.Scope(window="10m", job=o.job)
    w1h = q.Scope(window="1h", job=o.job)
    w5 = q.Scope(window="5m", job=o.job)
    return _always(o, w30, w10, w1h, w5) + _optional(o, w10)


def _optional(o: Options, w10: q.Scope) -> tuple[Alert, ...]:
    """Alerts rendered only when their flag names a threshold (no sensible default exists)."""
    if o.spend_per_hour_max is None:
        return ()
    return (
        Alert(
            "AnthropicSpendBurnHigh",
            # The whole job, not per model: a budget is the service's, and fallback hops or a cascade
            # move spend between models, which a per-model threshold would miss (and each model would
            # need its own). Idle is 0 USD/h, so no traffic guard is needed.
            q.cost_per_hour(w10, (q.JOB,)),
            ">",
            o.spend_per_hour_max,
            "15m",
            "warning",
            "Spend on the Anthropic API is above its hourly budget.",
            f"{{{{ $labels.{q.JOB} }}}} spends {VALUE} USD/h at list prices over 10m (budget "
            f"{_number(o.spend_per_hour_max)} USD/h). Cost per hour by model shows which model spends it.",
            value_format="humanize",
        ),
    )


def _always(o: Options, w30: q.Scope, w10: q.Scope, w1h: q.Scope, w5: q.Scope) -> tuple[Alert, ...]:
    return (
        Alert(
            "AnthropicCacheHitRatioLow",
            q.cache_hit_ratio(w30, BY),
            "<",
            o.hit_ratio_min,
            "30m",
            "warning",
            "Prompt cache hit ratio is low: caching probably loses money.",
            f"Cache hit ratio of {_WHERE} is {VALUE} over 30m (threshold {o.hit_ratio_min:.0%}). Cache writes "
            "cost 1.25x (5m) or 2x (1h) input, reads 0.1x: check the net saving panel.",
            window_s=1800,
            guard=_requests_at_least(w30, 20),
        ),
        Alert(
            "AnthropicCacheNetSavingNegative",
            q.net_saving_per_hour(w1h, BY),
            "<",
            0,
            "30m",
            "warning",
            "Prompt caching costs more than it saves.",
            f"Net cache saving of {_WHERE} is {VALUE} USD/h over 1h: cache writes cost more than the "
            "reads save. Stabilise the cached prefix or stop caching it.",
            value_format="humanize",
            window_s=3600,
            # Only where the cache was written: without writes caching cannot lose money, and the two
            # cost counters then differ by float rounding alone (-1e-16 USD/h is not a loss).
            guard=f"{_requests_at_least(w1h, 20)}\nand on ({', '.join(BY)})\n{_cache_writes_seen(w1h)}",
        ),
        Alert(
            "AnthropicCacheABTestTrap",
            # The variants are the live value (the cause to act on); the loss is the guard: a hit ratio
            # under the exact break-even of the TTL mix the model writes, not the 50 % rule of thumb.
            # One variant with a low ratio is AnthropicCacheHitRatioLow's case, not this one's.
            q.system_variants(w30, BY),
            ">",
            1,
            "30m",
            "warning",
            "Several system-prompt variants split the prompt cache, and caching loses money.",
            f"{_WHERE} writes the prompt cache with {VALUE} system-prompt variants and its cache hit ratio "
            "over 30m is under the break-even for the cache TTLs it writes: each variant is written more "
            "often than it is read. Cache the common prefix only and put the variant after the breakpoint.",
            value_format="humanize",
            window_s=1800,
            guard=(
                f"(\n{_indent(q.cache_hit_ratio(w30, BY))}\n)\n< on ({', '.join(BY)})\n"
                f"(\n{_indent(q.break_even_for_mix(w30, BY))}\n)\n"
                f"and on ({', '.join(BY)})\n{_requests_at_least(w30, 20)}"
            ),
        ),
        Alert(
            "AnthropicOverloadRateHigh",
            q.overload_share(w10, BY),
            ">",
            o.overload_rate_max,
            "15m",
            "warning",
            "Anthropic API overload (529) rate is above its normal band.",
            f"{_WHERE}: {VALUE} of attempts over 10m were rejected as overloaded (threshold "
            f"{o.overload_rate_max:.1%}; 1-3 % at peak is normal).",
            guard=f"{q.agg(BY, w10.increase(semconv.ANTHROPIC_ATTEMPTS))} >= 100",
        ),
        Alert(
            "AnthropicErrorRatioHigh",
            q.error_ratio(w10, BY),
            ">",
            o.error_ratio_max,
            "10m",
            "critical",
            "Anthropic API calls are failing after retries.",
            f"{_WHERE}: {VALUE} of calls over 10m failed after all retries (threshold {o.error_ratio_max:.0%}).",
            guard=_requests_at_least(w10, 20),
        ),
        Alert(
            "AnthropicFallbackToCanned",
            # A canned answer is itself the traffic that matters: any, sustained for 5m, pages.
            q.canned_increase(w10, (q.JOB, q.FROM_MODEL)),
            ">",
            0,
            "5m",
            "critical",
            "Users are getting the canned fallback answer.",
            f"{{{{ $labels.{q.FROM_MODEL} }}}} in {{{{ $labels.{q.JOB} }}}} fell back to the canned answer "
            f"{VALUE} times in 10m: every model in the fallback chain failed.",
            value_format="humanize",
        ),
        Alert(
            "AnthropicStreamDropRateHigh",
            q.stream_drop_ratio(w30, BY),
            ">",
            o.stream_drop_rate_max,
            "15m",
            "warning",
            "Streams are dropping more than usual.",
            f"{_WHERE}: {VALUE} of streams over 30m ended by error, timeout or unexpected close "
            f"(threshold {o.stream_drop_rate_max:.1%}).",
            window_s=1800,
            guard=f"{q.agg(BY, w30.increase(semconv.ANTHROPIC_STREAMS))} >= 200",
        ),
        Alert(
            "AnthropicStreamsStalled",
            # Stalled in every sample of the last 5m, not a single slow chunk.
            q.agg(BY, f"min_over_time({w5.sel(semconv.ANTHROPIC_STREAMS_STALLED)}[5m])"),
            ">",
            0,
            "5m",
            "warning",
            "Streams are hanging.",
            f"{_WHERE}: {VALUE} streams have been silent for longer than the idle threshold for 5m.",
            value_format="humanize",
        ),
        Alert(
            "AnthropicDuplicateRateHigh",
            q.duplicate_ratio(w30, BY),
            ">",
            o.duplicate_rate_max,
            "15m",
            "warning",
            "The same requests are sent (and billed) twice.",
            f"{_WHERE}: {VALUE} of requests over 30m were duplicates (threshold {o.duplicate_rate_max:.0%}).",
            window_s=1800,
            guard=_requests_at_least(w30, 100),
        ),
        Alert(
            "AnthropicRateLimitHeadroomLow",
            # The tightest limit decides; only limits whose announced reset is still ahead (a frozen
            # gauge of a process that stopped calling is no headroom).
            q.agg(BY, q.ratelimit_headroom(w5, BY), op="min"),
            "<",
            o.ratelimit_headroom_min,
            "5m",
            "warning",
            "A rate limit is nearly spent: 429s are next.",
            f"{_WHERE} has {VALUE} left of its tightest rate limit (threshold {o.ratelimit_headroom_min:.0%}), "
            "sustained for 5m. The headroom panel shows which limit.",
            window_s=300,
        ),
        Alert(
            "AnthropicRateLimitExhaustionPredicted",
            # Consumption of each limit's kind over 5m, times the seconds to its reset, over what is left.
            q.agg(BY, q.ratelimit_exhaustion_ratio(w5, BY), op="max"),
            ">",
            1,
            "5m",
            "warning",
            "At the current rate a rate limit runs out before it resets.",
            f"{_WHERE}: at the last 5m's rate it would use {VALUE}x what is left of a rate limit before the "
            "limit's announced reset: 429s are coming. The headroom panel shows which limit.",
            value_format="humanize",
            window_s=300,
        ),
    )


def _annotations(a: Alert, o: Options, live_value: str) -> dict[str, str]:
    return {
        "summary": a.summary,
        "description": a.description.replace(VALUE, f"{{{{ {live_value} | {a.value_format} }}}}"),
        "runbook_url": f"{o.runbook_url}#{a.name.lower()}",
    }


def prometheus_rules(o: Options) -> dict[str, Any]:
    return {
        "groups": [
            {
                "name": GROUP,
                "rules": [
                    {
                        "alert": a.name,
                        "expr": a.prometheus_expr(),
                        "for": a.for_,
                        "labels": {"severity": a.severity},
                        "annotations": _annotations(a, o, "$value"),
                    }
                    for a in alerts(o)
                ],
            }
        ]
    }


_GRAFANA_OPS: Final = {"<": "lt", ">": "gt"}


def grafana_rules(o: Options) -> dict[str, Any]:
    """Grafana file provisioning (`apiVersion: 1`), rules built with the foundation SDK's alerting builders."""
    from ._sdk import JSONEncoder, alerting, expr_builders, models_alerting, prometheus

    uid = o.datasource_uid or GRAFANA_DS_VARIABLE
    rules = []
    for a in alerts(o):
        rule = (
            alerting.Rule(a.name)
            .uid(_rule_uid(a.name))
            .condition("C")
            .for_val(a.for_)
            .no_data_state("OK")  # no traffic or no breach: the value query returns nothing
            .exec_err_state("Error")
            .labels({"severity": a.severity})
            .annotations(_annotations(a, o, "$values.B.Value"))
            .with_query(
                alerting.Query("A")
                .datasource_uid(uid)
                .relative_time_range(models_alerting.RelativeTimeRange(from_val=a.window_s, to=0))
                .model(prometheus.Dataquery().expr(a.grafana_expr()).instant().ref_id("A"))
            )
            .with_query(
                alerting.Query("B")
                .datasource_uid("__expr__")
                .model(expr_builders.TypeReduce().expression("A").reducer("last").ref_id("B"))
            )
            .with_query(
                alerting.Query("C")
                .datasource_uid("__expr__")
                .model(
                    expr_builders.TypeThreshold()
                    .expression("B")
                    .ref_id("C")
                    .conditions(
                        [
                            expr_builders.ExprTypeThresholdConditions().evaluator(
                                expr_builders.ExprTypeThresholdConditionsEvaluator()
                                .type(_GRAFANA_OPS[a.op])  # type: ignore[arg-type]
                                .params([a.threshold])
                            )
                        ]
                    )
                )
            )
        )
        built: dict[str, Any] = json.loads(JSONEncoder().encode(rule.build()))
        # The SDK models the HTTP API; file provisioning names the group and folder on the group.
        for api_only in ("folderUID", "ruleGroup", "orgID", "id", "updated", "provenance"):
            built.pop(api_only, None)
        rules.append(built)
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": GROUP,
                "folder": GRAFANA_FOLDER,
                "interval": EVALUATION_INTERVAL,
                "rules": rules,
            }
        ],
    }


def _rule_uid(name: str) -> str:
    return f"anthropic-{name[len('Anthropic') :].lower()}"[:40]
