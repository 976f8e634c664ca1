"""`anthropic-otel demo`: a small workload through the real SDK over the in-process fake API.

It shows what the dashboards will show, without a key or a network: a well-cached support bot,
an A/B test that varies the system prompt (and so loses money on caching), streamed calls, and
what the SDK hides (529s it retried, a retry after a lost connection that may bill twice, a request
redelivered and billed again, a stream that drops and one that hangs), then tables of the metrics the instrumentation recorded, read
back from an in-memory reader.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from . import AnthropicInstrumentor, semconv
from .fake import FakeAnthropic
from .fake.engine import HEADER_FAULTS
from .pricing import break_even_hit_ratio


def _system(text: str, ttl: str = "5m") -> list[dict[str, Any]]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral", "ttl": ttl}}]


# The demo's instrumentation options: a short idle threshold, so the hung stream shows as stalled
# within the demo instead of after the production default of 30 s.
INSTRUMENT_OPTIONS: dict[str, Any] = {"stream_idle_timeout_s": 0.1}
# The hung stream's client read timeout: the SDK gives up after this, and the stream ends `timeout`.
HUNG_STREAM_READ_TIMEOUT_S = 0.4
# Faults scripted per attempt (`x-fake-faults`): the SDK retries each until the `ok`.
RETRIED_FAULTS = ("overloaded,ok", "overloaded,overloaded,ok", "connection_reset,ok")


def run_workload(fake: FakeAnthropic) -> None:
    """The demo traffic. Deterministic: the fake's tokenizer and cache make every number reproducible."""
    client = fake.client(max_retries=2)
    orders = iter(range(1000, 10_000))

    def question() -> list[dict[str, Any]]:
        # A different customer question each call: the shared system prompt is what gets cached.
        return [{"role": "user", "content": f"Where is my order #{next(orders)}?"}]

    support = _system("You are the support assistant of an online shop. " * 40)
    for _ in range(20):
        client.messages.create(model="claude-sonnet-4-6", max_tokens=256, system=support, messages=question())
    # An A/B test with a fresh variant almost every call: each variant is written, rarely read.
    for i in range(15):
        variant = _system(f"Variant {i % 12}: you are a concise classifier. " * 40)
        client.messages.create(model="claude-haiku-4-5", max_tokens=16, system=variant, messages=question())
    for _ in range(5):
        with client.messages.stream(
            model="claude-opus-4-6", max_tokens=512, system=support, messages=question()
        ) as stream:
            for _text in stream.text_stream:
                pass
    for faults in RETRIED_FAULTS:
        client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=256,
            system=support,
            messages=question(),
            extra_headers={HEADER_FAULTS: faults},
        )
    # A queue redelivers a job the app already answered: the same request, billed a second time.
    redelivered = question()
    for _ in range(2):
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=256, system=support, messages=redelivered
        )
    for fault in ("drop_mid_stream", "hang"):
        try:
            with client.with_options(timeout=HUNG_STREAM_READ_TIMEOUT_S).messages.stream(
                model="claude-opus-4-6",
                max_tokens=512,
                system=support,
                messages=question(),
                extra_headers={HEADER_FAULTS: fault},
            ) as stream:
                for _text in stream.text_stream:
                    pass
        except Exception:  # noqa: BLE001 - the raw transport error a started stream raises, as apps see it
            pass  # the telemetry says which way the stream ended


def _collect(reader: Any) -> dict[str, dict[tuple[tuple[str, Any], ...], float]]:
    totals: dict[str, dict[tuple[tuple[str, Any], ...], float]] = defaultdict(lambda: defaultdict(float))
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    key = tuple(sorted(point.attributes.items()))
                    value = point.value if hasattr(point, "value") else point.sum
                    totals[metric.name][key] += float(value)
    return totals


def summarize(reader: Any) -> list[dict[str, Any]]:
    """Per-model rows: requests, tokens by kind, hit ratio, cost, uncached cost, net saving."""
    totals = _collect(reader)
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    for key, value in totals[semconv.ANTHROPIC_REQUESTS.name].items():
        rows[dict(key)[semconv.GEN_AI_REQUEST_MODEL]]["requests"] += value
    for key, value in totals[semconv.ANTHROPIC_TOKENS.name].items():
        attrs = dict(key)
        rows[attrs[semconv.GEN_AI_REQUEST_MODEL]][attrs[semconv.ANTHROPIC_TOKEN_TYPE]] += value
    for key, value in totals[semconv.ANTHROPIC_COST.name].items():
        rows[dict(key)[semconv.GEN_AI_REQUEST_MODEL]]["cost"] += value
    for key, value in totals[semconv.ANTHROPIC_COST_UNCACHED.name].items():
        rows[dict(key)[semconv.GEN_AI_REQUEST_MODEL]]["uncached"] += value
    result = []
    for model, row in sorted(rows.items()):
        writes = row[semconv.TOKEN_CACHE_WRITE_5M] + row[semconv.TOKEN_CACHE_WRITE_1H]
        reads = row[semconv.TOKEN_CACHE_READ]
        result.append(
            {
                "model": model,
                **row,
                "hit_ratio": reads / (reads + writes) if reads + writes else None,
                "saving": row["uncached"] - row["cost"],
            }
        )
    return result


def reliability(reader: Any) -> list[dict[str, Any]]:
    """Per-model rows: requests (and failed ones), HTTP attempts, 529s, unacknowledged retries, duplicates,
    streams by end reason."""
    totals = _collect(reader)
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    for key, value in totals[semconv.ANTHROPIC_REQUESTS.name].items():
        attrs = dict(key)
        row = rows[attrs[semconv.GEN_AI_REQUEST_MODEL]]
        row["requests"] += value
        if attrs[semconv.ANTHROPIC_REQUEST_OUTCOME] == semconv.OUTCOME_ERROR:
            row["failed"] += value
    for key, value in totals[semconv.ANTHROPIC_ATTEMPTS.name].items():
        attrs = dict(key)
        row = rows[attrs[semconv.GEN_AI_REQUEST_MODEL]]
        row["attempts"] += value
        if attrs.get(semconv.ERROR_TYPE) == semconv.ERROR_OVERLOADED:
            row["overloaded"] += value
    for key, value in totals[semconv.ANTHROPIC_RETRIES_UNACKNOWLEDGED.name].items():
        rows[dict(key)[semconv.GEN_AI_REQUEST_MODEL]]["unacknowledged"] += value
    for key, value in totals[semconv.ANTHROPIC_STREAMS.name].items():
        attrs = dict(key)
        rows[attrs[semconv.GEN_AI_REQUEST_MODEL]][attrs[semconv.ANTHROPIC_STREAM_END_REASON]] += value
    for key, value in totals[semconv.ANTHROPIC_DUPLICATES.name].items():
        rows[dict(key)[semconv.GEN_AI_REQUEST_MODEL]]["duplicates"] += value
    columns = (
        "requests",
        "failed",
        "attempts",
        "overloaded",
        "unacknowledged",
        "duplicates",
        *semconv.END_REASONS,
    )
    return [{"model": model, **{c: row.get(c, 0.0) for c in columns}} for model, row in sorted(rows.items())]


def main() -> int:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from rich.console import Console
    from rich.table import Table

    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(
        meter_provider=meter_provider, tracer_provider=TracerProvider(), **INSTRUMENT_OPTIONS
    )
    fake = FakeAnthropic(seed=7)
    try:
        run_workload(fake)
    finally:
        instrumentor.uninstrument()
    rows = summarize(reader)

    console = Console() if Console().is_terminal else Console(width=150)
    table = Table(title="anthropic-otel demo: what the dashboards show (fake API, real SDK)")
    for column in (
        "model",
        "requests",
        "input",
        "output",
        "cache write",
        "cache read",
        "hit ratio",
        "cost USD",
        "uncached USD",
        "net saving USD",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        ratio = row["hit_ratio"]
        ratio_text = "-" if ratio is None else f"{ratio:.0%}"
        if ratio is not None and ratio < 0.5:
            ratio_text = f"[red]{ratio_text}[/red]"
        saving = row["saving"]
        table.add_row(
            row["model"],
            f"{row['requests']:.0f}",
            f"{row[semconv.TOKEN_INPUT]:.0f}",
            f"{row[semconv.TOKEN_OUTPUT]:.0f}",
            f"{row[semconv.TOKEN_CACHE_WRITE_5M] + row[semconv.TOKEN_CACHE_WRITE_1H]:.0f}",
            f"{row[semconv.TOKEN_CACHE_READ]:.0f}",
            ratio_text,
            f"{row['cost']:.4f}",
            f"{row['uncached']:.4f}",
            f"[{'green' if saving >= 0 else 'red'}]{saving:+.4f}[/]",
        )
    console.print(table)
    console.print(
        f"Cache break-even hit ratio: 5m cache {break_even_hit_ratio('5m'):.0%}, "
        f"1h cache {break_even_hit_ratio('1h'):.0%}. Rule of thumb: below 50 % caching probably loses money; "
        "the net saving column is the exact answer."
    )
    hidden = Table(
        title="What the SDK hides: retried attempts, possible double bills, duplicates, how streams ended"
    )
    for column in (
        "model",
        "requests",
        "failed",
        "HTTP attempts",
        "529 overloaded",
        "unacknowledged retries",
        "duplicates",
        "stream endings",
    ):
        hidden.add_column(column, justify="left" if column in ("model", "stream endings") else "right")
    for row in reliability(reader):
        endings = ", ".join(f"{reason} {row[reason]:.0f}" for reason in semconv.END_REASONS if row[reason])
        unacknowledged = row["unacknowledged"]
        hidden.add_row(
            row["model"],
            f"{row['requests']:.0f}",
            f"{row['failed']:.0f}",
            f"{row['attempts']:.0f}",
            f"{row['overloaded']:.0f}",
            f"[red]{unacknowledged:.0f}[/red]" if unacknowledged else "0",
            f"[red]{row['duplicates']:.0f}[/red]" if row["duplicates"] else "0",
            endings or "-",
        )
    console.print(hidden)
    console.print(
        "The API has no idempotency key: a retry after a timeout or a lost connection may be billed twice, "
        "and a request sent again (a queue redelivery, a double click) is billed again: that is a duplicate."
    )
    return 0
