"""The demo's report: what the instrumentation recorded, read back from an in-memory metric reader
and laid out per problem, the way the dashboards show it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .. import semconv
from ..pricing import CACHE_WRITE_1H_MULTIPLIER, CACHE_WRITE_5M_MULTIPLIER, break_even_hit_ratio

Totals = dict[str, dict[tuple[tuple[str, Any], ...], float]]
MODEL = semconv.GEN_AI_REQUEST_MODEL


def collect(reader: Any) -> Totals:
    """Every metric's value per attribute set (sums, gauges; a histogram's sum)."""
    totals: Totals = defaultdict(lambda: defaultdict(float))
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    key = tuple(sorted(point.attributes.items()))
                    value = point.value if hasattr(point, "value") else point.sum
                    totals[metric.name][key] += float(value)
    return totals


def _per_model(
    totals: Totals, instrument: semconv.Instrument, column: str | None = None
) -> dict[str, dict[str, float]]:
    """`{model: {column or the named attribute's value: total}}` of one instrument."""
    rows: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key, value in totals.get(instrument.name, {}).items():
        attrs = dict(key)
        rows[attrs.get(MODEL, "")][column if column else str(attrs.get(instrument.attributes[-1]))] += value
    return rows


def summarize(reader: Any) -> list[dict[str, Any]]:
    """Per-model rows: requests, tokens by kind, hit ratio, its exact break-even, cost, uncached cost,
    net saving."""
    totals = collect(reader)
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    for key, value in totals[semconv.ANTHROPIC_REQUESTS.name].items():
        rows[dict(key)[MODEL]]["requests"] += value
    for key, value in totals[semconv.ANTHROPIC_TOKENS.name].items():
        attrs = dict(key)
        rows[attrs[MODEL]][attrs[semconv.ANTHROPIC_TOKEN_TYPE]] += value
    for key, value in totals[semconv.ANTHROPIC_COST.name].items():
        rows[dict(key)[MODEL]]["cost"] += value
    for key, value in totals[semconv.ANTHROPIC_COST_UNCACHED.name].items():
        rows[dict(key)[MODEL]]["uncached"] += value
    result = []
    for model, row in sorted(rows.items()):
        writes_5m, writes_1h = row[semconv.TOKEN_CACHE_WRITE_5M], row[semconv.TOKEN_CACHE_WRITE_1H]
        writes = writes_5m + writes_1h
        reads = row[semconv.TOKEN_CACHE_READ]
        mix = (
            (writes_5m * CACHE_WRITE_5M_MULTIPLIER + writes_1h * CACHE_WRITE_1H_MULTIPLIER) / writes
            if writes
            else CACHE_WRITE_5M_MULTIPLIER
        )
        result.append(
            {
                "model": model,
                **row,
                "hit_ratio": reads / (reads + writes) if reads + writes else None,
                "break_even": break_even_hit_ratio(write_multiplier=mix),
                "saving": row["uncached"] - row["cost"],
            }
        )
    return result


def write_causes(reader: Any) -> list[dict[str, Any]]:
    """Per-model rows: distinct cache-writing system prompts now, and cache-written tokens by cause."""
    totals = collect(reader)
    causes = _per_model(totals, semconv.ANTHROPIC_CACHE_WRITES)
    variants = _per_model(totals, semconv.ANTHROPIC_CACHE_SYSTEM_VARIANTS, "variants")
    return [
        {
            "model": model,
            "variants": variants[model]["variants"],
            **{c: causes[model][c] for c in semconv.WRITE_CAUSES},
        }
        for model in sorted(set(causes) | set(variants))
    ]


def reliability(reader: Any, stalled_peak: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Per-model rows: requests (and failed ones), HTTP attempts, 529s, unacknowledged retries, duplicates,
    streams by end reason, and the most streams seen stalled at once (`stalled_peak`, sampled while
    the workload ran)."""
    totals = collect(reader)
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    for key, value in totals[semconv.ANTHROPIC_REQUESTS.name].items():
        attrs = dict(key)
        row = rows[attrs[MODEL]]
        row["requests"] += value
        if attrs[semconv.ANTHROPIC_REQUEST_OUTCOME] == semconv.OUTCOME_ERROR:
            row["failed"] += value
    for key, value in totals[semconv.ANTHROPIC_ATTEMPTS.name].items():
        attrs = dict(key)
        row = rows[attrs[MODEL]]
        row["attempts"] += value
        if attrs.get(semconv.ERROR_TYPE) == semconv.ERROR_OVERLOADED:
            row["overloaded"] += value
    for key, value in totals[semconv.ANTHROPIC_RETRIES_UNACKNOWLEDGED.name].items():
        rows[dict(key)[MODEL]]["unacknowledged"] += value
    for key, value in totals[semconv.ANTHROPIC_STREAMS.name].items():
        attrs = dict(key)
        rows[attrs[MODEL]][attrs[semconv.ANTHROPIC_STREAM_END_REASON]] += value
    for key, value in totals[semconv.ANTHROPIC_DUPLICATES.name].items():
        rows[dict(key)[MODEL]]["duplicates"] += value
    for model, peak in (stalled_peak or {}).items():
        rows[model]["stalled"] = peak
    columns = (
        "requests",
        "failed",
        "attempts",
        "overloaded",
        "unacknowledged",
        "duplicates",
        "stalled",
        *semconv.END_REASONS,
    )
    return [{"model": model, **{c: row.get(c, 0.0) for c in columns}} for model, row in sorted(rows.items())]


def stalled_now(reader: Any) -> dict[str, float]:
    """Streams stalled right now, per model."""
    return {
        model: row["stalled"]
        for model, row in _per_model(collect(reader), semconv.ANTHROPIC_STREAMS_STALLED, "stalled").items()
    }


def fallback_hops(reader: Any) -> list[dict[str, Any]]:
    """One row per (from, to, reason): hops counted."""
    hops = collect(reader).get(semconv.ANTHROPIC_FALLBACK_HOPS.name, {})
    rows = []
    for key, value in sorted(hops.items()):
        attrs = dict(key)
        rows.append(
            {
                "from": attrs.get(semconv.ANTHROPIC_FALLBACK_FROM_MODEL, ""),
                "to": attrs.get(semconv.ANTHROPIC_FALLBACK_TO_MODEL, ""),
                "reason": attrs.get(semconv.ANTHROPIC_FALLBACK_REASON, ""),
                "hops": value,
            }
        )
    return rows


def model_fit(reader: Any) -> list[dict[str, Any]]:
    """Per (model, cheaper model): short-output calls, what they cost, and on the cheaper model."""
    totals = collect(reader)
    rows: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for instrument, column in (
        (semconv.ANTHROPIC_MODEL_FIT_CALLS, "calls"),
        (semconv.ANTHROPIC_MODEL_FIT_COST, "cost"),
        (semconv.ANTHROPIC_MODEL_FIT_CHEAPER_COST, "cheaper_cost"),
    ):
        for key, value in totals.get(instrument.name, {}).items():
            attrs = dict(key)
            rows[(attrs.get(MODEL, ""), attrs.get(semconv.ANTHROPIC_MODEL_FIT_CHEAPER_MODEL, ""))][
                column
            ] += value
    return [
        {"model": model, "cheaper_model": cheaper, **row, "saving": row["cost"] - row["cheaper_cost"]}
        for (model, cheaper), row in sorted(rows.items())
    ]


def cascades(reader: Any) -> list[dict[str, Any]]:
    """Per cascade name: requests by kept model, escalations, stage cost and the last-model baseline."""
    totals = collect(reader)
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "kept": defaultdict(float),
            "escalations": 0.0,
            "cost": 0.0,
            "baseline": 0.0,
            "baseline_model": "",
        }
    )
    name_of = semconv.ANTHROPIC_CASCADE_NAME
    for key, value in totals.get(semconv.ANTHROPIC_CASCADE_REQUESTS.name, {}).items():
        attrs = dict(key)
        rows[attrs[name_of]]["kept"][attrs[MODEL]] += value
    for key, value in totals.get(semconv.ANTHROPIC_CASCADE_ESCALATIONS.name, {}).items():
        rows[dict(key)[name_of]]["escalations"] += value
    for key, value in totals.get(semconv.ANTHROPIC_CASCADE_COST.name, {}).items():
        rows[dict(key)[name_of]]["cost"] += value
    for key, value in totals.get(semconv.ANTHROPIC_CASCADE_BASELINE_COST.name, {}).items():
        attrs = dict(key)
        row = rows[attrs[name_of]]
        row["baseline"] += value
        row["baseline_model"] = attrs[MODEL]
    return [{"name": name, **row, "kept": dict(row["kept"])} for name, row in sorted(rows.items())]


def headroom(reader: Any, now: float, below: float = 0.5) -> list[dict[str, Any]]:
    """Rate limits with less than `below` of their budget left in the last response of each model:
    limit, remaining, the share left and the seconds to the announced reset (from `now`)."""
    totals = collect(reader)
    kind_of = semconv.ANTHROPIC_RATELIMIT_KIND
    gauges = {
        column: {(dict(k)[MODEL], dict(k)[kind_of]): v for k, v in totals.get(instrument.name, {}).items()}
        for column, instrument in (
            ("limit", semconv.ANTHROPIC_RATELIMIT_LIMIT),
            ("remaining", semconv.ANTHROPIC_RATELIMIT_REMAINING),
            ("reset", semconv.ANTHROPIC_RATELIMIT_RESET_TIME),
        )
    }
    rows = []
    for (model, kind), limit in sorted(gauges["limit"].items()):
        remaining = gauges["remaining"].get((model, kind))
        if not limit or remaining is None or remaining / limit >= below:
            continue
        reset = gauges["reset"].get((model, kind))
        rows.append(
            {
                "model": model,
                "kind": kind,
                "limit": limit,
                "remaining": remaining,
                "left": remaining / limit,
                "reset_in_s": None if reset is None else max(0.0, reset - now),
            }
        )
    return rows


def premium_calls(reader: Any) -> list[dict[str, Any]]:
    """Per model and billing (service tier, speed, inference region): what the calls billed away
    from standard rates cost, as `anthropic.cost.billing.usd` counted them."""
    billing = semconv.ANTHROPIC_COST_BILLING.attributes[1:]
    rows = []
    for key, value in sorted(collect(reader).get(semconv.ANTHROPIC_COST_BILLING.name, {}).items()):
        attrs = dict(key)
        billed = {name.rsplit(".", 1)[-1]: attrs[name] for name in billing}
        rows.append({"model": attrs[MODEL], "billed": billed, "cost": value})
    return rows
