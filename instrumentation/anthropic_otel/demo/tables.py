"""The demo's report on a terminal: one rich table per production problem, then what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import semconv
from ..grafana._options import Options
from ..pricing import break_even_hit_ratio

# The rule of thumb the dashboards also show beside the exact break-even.
RULE_OF_THUMB = 0.5
# The headroom alert's default threshold (`--ratelimit-headroom-min`).
HEADROOM_ALERT = Options().ratelimit_headroom_min


def print_report(
    console: Any,
    caching: Sequence[dict[str, Any]],
    causes: Sequence[dict[str, Any]],
    reliability: Sequence[dict[str, Any]],
    hops: Sequence[dict[str, Any]],
    fit: Sequence[dict[str, Any]],
    cascades: Sequence[dict[str, Any]] = (),
    headroom: Sequence[dict[str, Any]] = (),
    premium: Sequence[dict[str, Any]] = (),
) -> None:
    for part in (
        _caching(caching),
        _causes(causes),
        _reliability(reliability),
        _hops(hops),
        _model_fit(fit),
        _cascades(cascades),
        _headroom(headroom),
        _premium(premium),
    ):
        for renderable in part:
            console.print(renderable)
    console.print(
        "\n[bold]Next:[/bold] `anthropic-otel dashboards --out grafana/` writes these views as Grafana dashboards "
        "and alert rules; deploy/README.md runs a collector, Prometheus, Alertmanager and Grafana to point "
        "your app at (`opentelemetry-instrument python app.py`)."
    )


def _table(title: str, *columns: str, left: int = 1, text_last: bool = False) -> Any:
    """A table whose first `left` columns are text (and the last, with `text_last`), the rest numbers."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        text = i < left or (text_last and i == len(columns) - 1)
        table.add_column(column, justify="left" if text else "right", no_wrap=i == 0)
    return table


def _caching(rows: Sequence[dict[str, Any]]) -> list[Any]:
    table = _table(
        "1. Prompt caching: what each model's cache earns or loses",
        "model",
        "calls",
        "input*",
        "output",
        "cache write",
        "cache read",
        "hit ratio",
        "break-even",
        "cost $",
        "uncached $",
        "net saving $",
    )
    for row in rows:
        ratio, break_even = row["hit_ratio"], row["break_even"]
        if ratio is None:
            ratio_text = "-"
        else:
            # Red: below the exact break-even, caching loses money. Yellow: it pays, but under the rule of thumb.
            colour = "red" if ratio < break_even else "yellow" if ratio < RULE_OF_THUMB else "green"
            ratio_text = f"[{colour}]{ratio:.0%}[/{colour}]"
        saving = row["saving"]
        table.add_row(
            row["model"],
            f"{row['requests']:.0f}",
            f"{row[semconv.TOKEN_INPUT]:.0f}",
            f"{row[semconv.TOKEN_OUTPUT]:.0f}",
            f"{row[semconv.TOKEN_CACHE_WRITE_5M] + row[semconv.TOKEN_CACHE_WRITE_1H]:.0f}",
            f"{row[semconv.TOKEN_CACHE_READ]:.0f}",
            ratio_text,
            f"{break_even:.0%}",
            f"{row['cost']:.4f}",
            f"{row['uncached']:.4f}",
            f"[{'green' if saving >= 0 else 'red'}]{saving:+.4f}[/]",
        )
    return [
        table,
        "* input not read from or written to the cache (the API's `input_tokens`). "
        f"Hit ratio = cache read / (read + write). Caching pays above the exact break-even (5-minute cache "
        f"{break_even_hit_ratio('5m'):.0%}, 1-hour cache {break_even_hit_ratio('1h'):.0%}; red below it); the "
        f"rule of thumb is {RULE_OF_THUMB:.0%} (yellow between). The net saving column is the exact answer.",
    ]


def _causes(rows: Sequence[dict[str, Any]]) -> list[Any]:
    if not rows:
        return []
    table = _table(
        "2. Why each cache write happened (tokens): the A/B-test trap is `new_system`",
        "model",
        "system prompt variants",
        *semconv.WRITE_CAUSES,
    )
    for row in rows:
        variants = row["variants"]
        table.add_row(
            row["model"],
            f"[red]{variants:.0f}[/red]" if variants > 1 else f"{variants:.0f}",
            *(f"{row[cause]:.0f}" for cause in semconv.WRITE_CAUSES),
        )
    return [
        table,
        "Several system prompt variants of one model, each written to the cache and rarely read: move what "
        "varies (the A/B variant, the date, the user's name) out of `system` into the user message.",
    ]


def _reliability(rows: Sequence[dict[str, Any]]) -> list[Any]:
    table = _table(
        "3. What the SDK hides: retried attempts, possible double bills, duplicates, stalls, how streams ended",
        "model",
        "calls",
        "failed",
        "HTTP attempts",
        "529s",
        "unacked retries",
        "duplicates",
        "stalled (peak)",
        "stream endings",
        text_last=True,
    )
    for row in rows:
        endings = ", ".join(f"{reason} {row[reason]:.0f}" for reason in semconv.END_REASONS if row[reason])
        table.add_row(
            row["model"],
            f"{row['requests']:.0f}",
            f"{row['failed']:.0f}",
            f"{row['attempts']:.0f}",
            f"{row['overloaded']:.0f}",
            _red_if(row["unacknowledged"]),
            _red_if(row["duplicates"]),
            _red_if(row["stalled"]),
            endings or "-",
        )
    return [
        table,
        "The API has no idempotency key: a retry after a timeout or a lost connection may be billed twice, and "
        "a request sent again (a queue redelivery, a double click) is billed again: that is a duplicate. "
        "Unacked retries: retries sent after a timeout or a lost connection, when the first attempt may "
        "already be billed.",
    ]


def _hops(rows: Sequence[dict[str, Any]]) -> list[Any]:
    if not rows:
        return []
    table = _table("4. Fallback hops in the 529 storm", "from", "to", "reason", "hops", left=3)
    for row in rows:
        to = row["to"]
        table.add_row(
            row["from"],
            f"[red]{to}[/red]" if to == semconv.FALLBACK_TO_CANNED else to,
            row["reason"],
            f"{row['hops']:.0f}",
        )
    return [
        table,
        "Hops between models are detected from the calls alone (a failed call, then the same request on another "
        "model); a canned answer makes no call, so it is counted when anthropic_otel.FallbackChain runs the chain.",
    ]


def _model_fit(rows: Sequence[dict[str, Any]]) -> list[Any]:
    if not rows:
        return []
    table = _table(
        "5. Expensive models doing cheap work (short outputs)",
        "model",
        "cheaper model",
        "short-output calls",
        "cost USD",
        "on the cheaper model USD",
        "saving USD",
        left=2,
    )
    for row in rows:
        table.add_row(
            row["model"],
            row["cheaper_model"],
            f"{row['calls']:.0f}",
            f"{row['cost']:.4f}",
            f"{row['cheaper_cost']:.4f}",
            f"[green]{row['saving']:.4f}[/green]",
        )
    return [
        table,
        "Classification, routing and extraction usually run as well on the cheaper model: try it first "
        "(anthropic_otel.Cascade escalates only the hard cases).",
    ]


def _cascades(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        kept = ", ".join(f"{model} {n:.0f}" for model, n in sorted(row["kept"].items()))
        saving = row["baseline"] - row["cost"]
        share = f" ({saving / row['baseline']:.0%})" if row["baseline"] else ""
        lines.append(
            f"Cascade `{row['name']}`: answers kept from {kept}, {row['escalations']:.0f} escalated; "
            f"cost {row['cost']:.4f} USD against {row['baseline']:.4f} USD on {row['baseline_model']} alone: "
            f"saving {saving:.4f} USD{share}."
        )
    return lines


def _headroom(rows: Sequence[dict[str, Any]]) -> list[Any]:
    if not rows:
        return []
    table = _table(
        "6. Rate-limit headroom: limits under half left in the last response",
        "model",
        "limit",
        "per minute",
        "remaining",
        "left",
        "reset in",
        left=2,
    )
    for row in rows:
        left = f"{row['left']:.1%}"
        reset = "-" if row["reset_in_s"] is None else f"{row['reset_in_s']:.0f} s"
        table.add_row(
            row["model"],
            row["kind"],
            f"{row['limit']:,.0f}",
            f"{row['remaining']:,.0f}",
            f"[red]{left}[/red]" if row["left"] < HEADROOM_ALERT else left,
            reset,
        )
    return [
        table,
        f"Under {HEADROOM_ALERT:.0%} left, AnthropicRateLimitHeadroomLow fires, and AnthropicRateLimitExhaustionPredicted "
        "when the current rate would spend the rest before the reset: both before the first 429.",
    ]


def _premium(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        f"Billed away from standard rates, as its usage says: {row['model']} "
        + ", ".join(f"{field}={value}" for field, value in row["billed"].items())
        + f", {row['cost']:.6f} USD"
        for row in rows
    ]
    if lines:
        lines.append(
            "Every call's cost follows its usage's service tier, speed and inference region (pricing.py)."
        )
    return lines


def _red_if(value: float) -> str:
    return f"[red]{value:.0f}[/red]" if value else "0"
