"""Every target of every shipped dashboard, run on a real Prometheus holding the demo's real series.

The demo workload runs through the real SDK, the instrumentation and the fake API, exported by
the OTel Prometheus exporter; each run's exposition is stamped 15 s apart and backfilled with
`promtool tsdb create-blocks-from openmetrics`, so values are deterministic and comparable with
what the demo computes in-process (`anthropic_otel.demo.summarize`). Queries on metrics still in
`semconv.PLANNED_INSTRUMENTS` must parse; they are reported "not yet provable" and are proven
automatically once their instrument moves to `semconv.INSTRUMENTS`.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.grafana import _promql as q
from anthropic_otel.pricing import break_even_hit_ratio

from . import prom

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards" / "generated" / "dashboards"
RUNS = 5
STEP_S = 15
JOB = "anthropic-demo"
WINDOW = "2m"  # covers all RUNS samples: stands in for $__rate_interval and $__range
SUBSTITUTIONS = {"$__rate_interval": WINDOW, "$__range": WINDOW, "$job": ".*", "$model": ".*"}

SERIES_TO_SPEC = {
    name: spec
    for spec in (*semconv.INSTRUMENTS, *semconv.PLANNED_INSTRUMENTS)
    for name in q.series_names(spec)
}
_NAME_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, SERIES_TO_SPEC), key=len, reverse=True)) + r")\b"
)


def _targets() -> list[Any]:
    params = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                params.append(
                    pytest.param(
                        board["uid"],
                        panel,
                        target["expr"],
                        id=f"{board['uid']}:{panel['title']}:{target['refId']}",
                    )
                )
    return params


def _expand(expr: str) -> str:
    for variable, value in SUBSTITUTIONS.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


# --- the data: demo traffic -> OTel Prometheus exporter -> OpenMetrics with timestamps -> TSDB --------


def _stamp(exposition: str, ts: float) -> dict[str, tuple[list[str], list[str]]]:
    """Family name -> (header lines, sample lines with `job` and a timestamp added, as a scrape would)."""
    families: dict[str, tuple[list[str], list[str]]] = {}
    current = ""
    for line in exposition.splitlines():
        if not line or line == "# EOF":
            continue
        if line.startswith("#"):
            current = line.split()[2]
            families.setdefault(current, ([], []))[0].append(line)
            continue
        name_labels, value = line.rsplit(" ", 1)
        extra = f'job="{JOB}",instance="demo"'
        if "{" in name_labels:
            name, labels = name_labels.split("{", 1)
            sample = f"{name}{{{extra},{labels} {value} {ts:.3f}"
        else:
            sample = f"{name_labels}{{{extra}}} {value} {ts:.3f}"
        families[current][1].append(sample)
    return families


class DemoData:
    def __init__(self, tmp: Path) -> None:
        from anthropic_otel import AnthropicInstrumentor, _runtime
        from anthropic_otel.demo import INSTRUMENT_OPTIONS, reliability, run_workload, summarize
        from anthropic_otel.demo.report import collect
        from anthropic_otel.fake import FakeAnthropic
        from anthropic_otel.state.write_causes import WriteCauses
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from prometheus_client import CollectorRegistry
        from prometheus_client.openmetrics.exposition import generate_latest

        registry = CollectorRegistry()
        prom_reader = PrometheusMetricReader(registry=registry)
        memory = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[prom_reader, memory])
        instrumentor = AnthropicInstrumentor()
        instrumentor.instrument(
            meter_provider=provider, tracer_provider=TracerProvider(), **INSTRUMENT_OPTIONS
        )
        start = math.floor(time.time()) - 20 * 60
        merged: dict[str, tuple[list[str], list[str]]] = {}
        try:
            for i in range(RUNS):
                # A fresh fake per run: cold caches, so every run adds exactly the same increments. The
                # write causes' memory of cached prefixes starts cold too, as in a fresh process: kept
                # across runs, a prefix the fake has forgotten would be `rewritten` after the first run.
                runtime = _runtime.current
                assert runtime is not None
                runtime.write_causes = WriteCauses(runtime.write_causes.window_s)
                run_workload(FakeAnthropic(seed=7))
                exposition = generate_latest(registry).decode()  # type: ignore[no-untyped-call]
                for family, (header, samples) in _stamp(exposition, start + i * STEP_S).items():
                    slot = merged.setdefault(family, (header, []))
                    slot[1].extend(samples)
        finally:
            instrumentor.uninstrument()
        self.rows = {row["model"]: row for row in summarize(memory)}
        self.reliability = {row["model"]: row for row in reliability(memory)}
        # Instrument name -> attribute set -> value, summed over all RUNS: what the queries must find.
        self.totals = collect(memory)
        provider.shutdown()
        self.exported_names = {s.split("{", 1)[0] for _, samples in merged.values() for s in samples}
        self.at = float(start + (RUNS - 1) * STEP_S)
        text = "\n".join(line for header, samples in merged.values() for line in (*header, *samples))
        self.storage = tmp / "tsdb"
        prom.backfill(text + "\n# EOF\n", self.storage, tmp)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    for tool in ("prometheus", "promtool"):
        if prom.binary(tool) is None:
            pytest.skip(f"{tool} is not installed (CI installs it: make system-deps)")
    return DemoData(tmp_path_factory.mktemp("demo-data"))


@pytest.fixture(scope="module")
def server(demo: DemoData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[prom.Server]:
    workdir = tmp_path_factory.mktemp("prometheus")
    with prom.prometheus(workdir, "global:\n  scrape_interval: 15s\n", storage=demo.storage) as s:
        yield s


def _vector(server: prom.Server, expr: str, at: float) -> list[dict[str, Any]]:
    answer = prom.query(server, expr, at)
    assert answer["status"] == "success", f"{expr}\n-> {answer}"
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _by_model(result: list[dict[str, Any]]) -> dict[str, float]:
    return {r["metric"].get(q.MODEL, ""): float(r["value"][1]) for r in result}


def _by(result: list[dict[str, Any]], *attributes: str) -> dict[tuple[str, ...], float]:
    """Query result keyed by the labels of `attributes` (semconv attribute names)."""
    return {tuple(r["metric"][q.label(a)] for a in attributes): float(r["value"][1]) for r in result}


def _totals(demo: DemoData, spec: semconv.Instrument, *attributes: str) -> dict[tuple[str, ...], float]:
    """The in-process totals of `spec` over all runs, summed by `attributes`."""
    found: dict[tuple[str, ...], float] = {}
    for key, value in demo.totals[spec.name].items():
        attrs = dict(key)
        group = tuple(str(attrs[a]) for a in attributes)
        found[group] = found.get(group, 0.0) + value
    return found


def _approx(expected: dict[tuple[str, ...], float], rel: float = 1e-6) -> dict[tuple[str, ...], Any]:
    return {k: pytest.approx(v, rel=rel) for k, v in expected.items()}


# --- the tests -------------------------------------------------------------------------------


def test_exporter_names_match_the_names_dashboards_derive(demo: DemoData) -> None:
    """Every recorded instrument reaches Prometheus under the name `_promql.metric` derives."""
    # Only exist after an internal error or a Redis failure, which the demo must not have; the dedup
    # counters are proven against a real redis-server in test_dedup_redis.py.
    failure_only = (
        semconv.ANTHROPIC_OTEL_INTERNAL_ERRORS,
        semconv.ANTHROPIC_OTEL_DEDUP_STORE_ERRORS,
        semconv.ANTHROPIC_OTEL_DEDUP_DROPPED,
        semconv.ANTHROPIC_USAGE_MALFORMED_RESPONSES,  # only after a malformed response
        semconv.ANTHROPIC_OTEL_RATELIMIT_HEADER_ERRORS,  # only after a garbled rate-limit header
    )
    for spec in semconv.INSTRUMENTS:
        if spec in failure_only:
            continue
        for name in q.series_names(spec):
            assert name in demo.exported_names, (
                f"{spec.name} is not exported as {name} (either the name differs or the demo traffic does not "
                f"exercise it; exported: {sorted(demo.exported_names)})"
            )


@pytest.mark.parametrize(("uid", "panel", "expr"), _targets())
def test_panel_query(server: prom.Server, demo: DemoData, uid: str, panel: dict[str, Any], expr: str) -> None:
    expanded = _expand(expr)
    result = _vector(server, expanded, demo.at)  # parses and evaluates, whatever the metrics
    used = {SERIES_TO_SPEC[name] for name in _NAME_RE.findall(expanded)}
    planned = sorted(spec.name for spec in used if spec not in semconv.INSTRUMENTS)
    if planned:
        pytest.skip(
            f"not yet provable: parses, but {', '.join(planned)} is not recorded yet (semconv.PLANNED_INSTRUMENTS); "
            "proven automatically once it moves to semconv.INSTRUMENTS"
        )
    for spec in used:
        for name in q.series_names(spec):
            if name in expanded:
                assert _vector(server, f"count({name})", demo.at), (
                    f"{spec.name} is recorded (semconv.INSTRUMENTS) but the demo traffic produced no {name} "
                    "series: make anthropic_otel.demo.run_workload exercise it so this panel is proven"
                )
    assert result, f"{panel['title']}: no data from\n{expanded}"
    values = [float(r["value"][1]) for r in result]
    assert all(math.isfinite(v) for v in values), f"{panel['title']}: {values}"
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    if unit == "percentunit":
        assert all(0.0 <= v <= 1.0 for v in values), f"{panel['title']}: {values}"
    if unit == "s":
        assert all(v >= 0 for v in values), f"{panel['title']}: {values}"
    check = _EXACT.get(panel["title"])
    if check is not None:
        check(server, demo, result)


def _hit_ratio_by_model(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    got = _by_model(result)
    expected = {m: r["hit_ratio"] for m, r in demo.rows.items() if r["hit_ratio"] is not None}
    assert got.keys() == expected.keys()
    for model, ratio in expected.items():
        assert got[model] == pytest.approx(ratio, rel=1e-9), model


def _hit_ratio_total(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    reads = sum(r[semconv.TOKEN_CACHE_READ] for r in demo.rows.values())
    cached = reads + sum(
        r[semconv.TOKEN_CACHE_WRITE_5M] + r[semconv.TOKEN_CACHE_WRITE_1H] for r in demo.rows.values()
    )
    assert float(result[0]["value"][1]) == pytest.approx(reads / cached, rel=1e-9)


def _scale(server: prom.Server, demo: DemoData) -> float:
    """Prometheus USD/h per in-process USD: the same factor for every series (same sample times)."""
    per_hour = float(_vector(server, _expand(q.cost_per_hour(q.Scope(WINDOW), ())), demo.at)[0]["value"][1])
    factor: float = per_hour / sum(r["cost"] for r in demo.rows.values())
    # RUNS runs of identical cost, STEP_S apart: about 3600 / STEP_S / RUNS, give or take extrapolation.
    nominal = 3600 / STEP_S / RUNS
    assert 0.5 * nominal < factor < 2 * nominal, factor
    return factor


def _net_saving_by_model(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    factor = _scale(server, demo)
    got = _by_model(result)
    assert got.keys() == demo.rows.keys()
    for model, row in demo.rows.items():
        assert got[model] == pytest.approx(factor * row["saving"], rel=1e-6), model
    # The A/B-test workload (many system-prompt variants) loses money on caching, the support bot saves.
    assert got["claude-haiku-4-5"] < 0 < got["claude-sonnet-4-6"]


def _cost_by_model(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    factor = _scale(server, demo)
    for model, value in _by_model(result).items():
        assert value == pytest.approx(factor * demo.rows[model]["cost"], rel=1e-6), model


def _billing_cost(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    factor = _scale(server, demo)
    billing = (
        semconv.GEN_AI_REQUEST_MODEL,
        semconv.ANTHROPIC_RESPONSE_SERVICE_TIER,
        semconv.ANTHROPIC_RESPONSE_SPEED,
        semconv.ANTHROPIC_RESPONSE_INFERENCE_GEO,
    )
    expected = _totals(demo, semconv.ANTHROPIC_COST_BILLING, *billing)
    assert _by(result, *billing) == _approx({k: factor * v for k, v in expected.items()})
    # The demo's two calls billed away from standard rates (workload.PREMIUM_CALLS).
    assert set(expected) == {
        ("claude-opus-5", "standard", "fast", "not_available"),
        ("claude-sonnet-4-6", "standard", "standard", "us"),
    }


def _break_even_constants(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    value = float(result[0]["value"][1])
    assert any(value == pytest.approx(break_even_hit_ratio(ttl), abs=1e-6) for ttl in ("5m", "1h")), value


def _break_even_mix(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    # The demo writes only 5-minute cache entries: the mix break-even is the 5m one, exactly.
    for model, value in _by_model(result).items():
        assert value == pytest.approx(break_even_hit_ratio("5m"), rel=1e-9), model


def _system_variants(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    # A gauge: its last value per model, exactly as the process holds it.
    expected = _totals(demo, semconv.ANTHROPIC_CACHE_SYSTEM_VARIANTS, semconv.GEN_AI_REQUEST_MODEL)
    assert _by(result, semconv.GEN_AI_REQUEST_MODEL) == expected
    # The A/B test's 12 variants (the same 12 in every run) against one support prompt.
    assert expected[("claude-haiku-4-5",)] > 1 == expected[("claude-sonnet-4-6",)]


# The checks below are for metrics recorded from semconv.PLANNED_INSTRUMENTS on: they run once the
# metric is recorded and the demo exercises it (test_panel_query says so when it does not yet).
_CAUSE = (semconv.GEN_AI_REQUEST_MODEL, semconv.ANTHROPIC_CACHE_WRITE_CAUSE)
_FIT = (semconv.GEN_AI_REQUEST_MODEL, semconv.ANTHROPIC_MODEL_FIT_CHEAPER_MODEL)
_HOP = (semconv.ANTHROPIC_FALLBACK_FROM_MODEL, semconv.ANTHROPIC_FALLBACK_TO_MODEL)


def _writes_by_cause(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    factor = _scale(server, demo)
    writes = _totals(demo, semconv.ANTHROPIC_CACHE_WRITES, *_CAUSE)
    assert _by(result, *_CAUSE) == _approx({k: factor * v for k, v in writes.items()})
    # The contract: summed over causes, a model's cache-written tokens.
    for model, row in demo.rows.items():
        written = sum(v for (m, _), v in writes.items() if m == model)
        assert written == row[semconv.TOKEN_CACHE_WRITE_5M] + row[semconv.TOKEN_CACHE_WRITE_1H], model


def _new_system_share(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    writes = _totals(demo, semconv.ANTHROPIC_CACHE_WRITES, *_CAUSE)
    expected = {
        (model,): writes.get((model, semconv.WRITE_CAUSE_NEW_SYSTEM), 0.0)
        / sum(v for (m, _), v in writes.items() if m == model)
        for model in {m for m, _ in writes}
    }
    assert _by(result, semconv.GEN_AI_REQUEST_MODEL) == _approx(expected, rel=1e-9)


def _model_fit_share(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    calls = _totals(demo, semconv.ANTHROPIC_MODEL_FIT_CALLS, *_FIT)
    expected = {(m, c): n / demo.rows[m]["requests"] for (m, c), n in calls.items()}
    assert _by(result, *_FIT) == _approx(expected, rel=1e-9)
    assert ("claude-haiku-4-5", "claude-haiku-4-5") not in expected  # never pricier than itself


def _model_fit_saving(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    per_day = 24 * _scale(server, demo)
    cost_ = _totals(demo, semconv.ANTHROPIC_MODEL_FIT_COST, *_FIT)
    cheaper = _totals(demo, semconv.ANTHROPIC_MODEL_FIT_CHEAPER_COST, *_FIT)
    assert _by(result, *_FIT) == _approx({k: per_day * (v - cheaper[k]) for k, v in cost_.items()})


def _cascade_escalations(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    answered = _totals(demo, semconv.ANTHROPIC_CASCADE_REQUESTS, semconv.ANTHROPIC_CASCADE_NAME)
    escalations = _totals(
        demo,
        semconv.ANTHROPIC_CASCADE_ESCALATIONS,
        semconv.ANTHROPIC_CASCADE_NAME,
        semconv.ANTHROPIC_CASCADE_FROM_MODEL,
    )
    expected = {(name, stage): n / answered[(name,)] for (name, stage), n in escalations.items()}
    assert _by(result, semconv.ANTHROPIC_CASCADE_NAME, semconv.ANTHROPIC_CASCADE_FROM_MODEL) == _approx(
        expected, rel=1e-9
    )


def _cascade_costs(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    factor = _scale(server, demo)
    if all(q.MODEL in r["metric"] for r in result):  # target A: each stage
        stage = (semconv.ANTHROPIC_CASCADE_NAME, semconv.GEN_AI_REQUEST_MODEL)
        expected = _totals(demo, semconv.ANTHROPIC_CASCADE_COST, *stage)
        assert _by(result, *stage) == _approx({k: factor * v for k, v in expected.items()})
    else:  # target B: the baseline, per cascade
        expected = _totals(demo, semconv.ANTHROPIC_CASCADE_BASELINE_COST, semconv.ANTHROPIC_CASCADE_NAME)
        assert _by(result, semconv.ANTHROPIC_CASCADE_NAME) == _approx(
            {k: factor * v for k, v in expected.items()}
        )


def _cascade_saving(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    factor = _scale(server, demo)
    baseline = _totals(demo, semconv.ANTHROPIC_CASCADE_BASELINE_COST, semconv.ANTHROPIC_CASCADE_NAME)
    cost_ = _totals(demo, semconv.ANTHROPIC_CASCADE_COST, semconv.ANTHROPIC_CASCADE_NAME)
    expected = {k: factor * (v - cost_[k]) for k, v in baseline.items()}
    assert _by(result, semconv.ANTHROPIC_CASCADE_NAME) == _approx(expected)


def _hops_in_range(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    # Every series first appeared inside the window, so the table counts all of each: the exact totals.
    hop = (*_HOP, semconv.ANTHROPIC_FALLBACK_REASON)
    assert _by(result, *hop) == _approx(_totals(demo, semconv.ANTHROPIC_FALLBACK_HOPS, *hop), rel=1e-9)


def _hop_rate(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    per_s = _scale(server, demo) / 3600
    hops = _totals(demo, semconv.ANTHROPIC_FALLBACK_HOPS, *_HOP)
    assert _by(result, *_HOP) == _approx({k: per_s * v for k, v in hops.items()})


def _canned(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    per_s = _scale(server, demo) / 3600
    hops = _totals(demo, semconv.ANTHROPIC_FALLBACK_HOPS, *_HOP)
    expected = {(f,): per_s * v for (f, t), v in hops.items() if t == semconv.FALLBACK_TO_CANNED}
    assert _by(result, semconv.ANTHROPIC_FALLBACK_FROM_MODEL) == _approx(expected)


def _requests_by_model(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    got = _by_model(result)
    total = sum(got.values())
    for model, row in demo.rows.items():
        assert got[model] / total == pytest.approx(
            row["requests"] / sum(r["requests"] for r in demo.rows.values())
        )


def _error_ratio(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    failed = sum(r["failed"] for r in demo.reliability.values())
    requests = sum(r["requests"] for r in demo.reliability.values())
    # The demo's failed calls per run, of 124 calls: the stream that drops and the one that hangs, the
    # hand-written chain's calls that failed all their attempts (STORM_FAILED_STEPS 1, 1, 1, 2, 3: 5 on
    # the first model, 2 on the second, 1 on the third) and FallbackChain's (HELPER_FAILED_STEPS 1, 3:
    # 2 on the first, 1 each on the others). Calls: 20 support, 15 A/B, 5 streams, 5 retried or
    # redelivered, 15 hand-written storm (1 + 1 + 1 + 2 + 2 + 2 + 3 + 3 models asked), 5 helper storm
    # (2 + 3), 12 classification, 12 cascade (9 tickets, 3 escalated), 2 broken streams, 31 in the
    # rate-limit ramp (1 + 2 + 4 + 8 + 16, all answered), 2 billed above list price.
    assert (failed, requests) == (14 * RUNS, 124 * RUNS)
    assert [float(r["value"][1]) for r in result] == [pytest.approx(failed / requests)]


def _gauges(demo: DemoData, spec: semconv.Instrument) -> dict[tuple[str, str], float]:
    """The last value of a rate-limit gauge per (model, kind); the last run's is the last exposition's."""
    return {
        k: v
        for k, v in _totals(
            demo, spec, semconv.GEN_AI_REQUEST_MODEL, semconv.ANTHROPIC_RATELIMIT_KIND
        ).items()
    }


def _headroom(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    # The fake announces 2,000,000 input / 400,000 output / 4,000 requests / 2,400,000 tokens per
    # minute, remaining = limit minus the last response's own tokens: every ratio is its gauges'.
    limit = _gauges(demo, semconv.ANTHROPIC_RATELIMIT_LIMIT)
    remaining = _gauges(demo, semconv.ANTHROPIC_RATELIMIT_REMAINING)
    got = _by(result, semconv.GEN_AI_REQUEST_MODEL, semconv.ANTHROPIC_RATELIMIT_KIND)
    assert got == _approx({k: remaining[k] / limit[k] for k in limit}, rel=1e-12)
    assert {k[1] for k in got} == {"input_tokens", "output_tokens", "requests", "tokens"}
    assert limit[next(iter(k for k in limit if k[1] == "requests"))] == 4_000


def _seconds_to_reset(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    # The resets were announced a minute after wall time when the demo ran; the queries run at the
    # backfilled data's last sample, so each is its gauge minus that instant.
    reset = _gauges(demo, semconv.ANTHROPIC_RATELIMIT_RESET_TIME)
    got = _by(result, semconv.GEN_AI_REQUEST_MODEL, semconv.ANTHROPIC_RATELIMIT_KIND)
    assert got == _approx({k: v - demo.at for k, v in reset.items()}, rel=1e-9)


def _attempts_429(server: prom.Server, demo: DemoData, result: list[dict[str, Any]]) -> None:
    # The demo's traffic has no 429: every model with attempts shows 0, none is missing.
    attempts = _totals(demo, semconv.ANTHROPIC_ATTEMPTS, semconv.GEN_AI_REQUEST_MODEL)
    statuses = {
        str(dict(key).get(semconv.HTTP_RESPONSE_STATUS_CODE))
        for key in demo.totals[semconv.ANTHROPIC_ATTEMPTS.name]
    }
    assert "429" not in statuses and "529" in statuses  # a check that can tell statuses apart
    assert _by_model(result) == {model: 0.0 for (model,) in attempts}


_EXACT = {
    "Rate-limit headroom": _headroom,
    "Seconds to rate-limit reset": _seconds_to_reset,
    "429 attempts by model": _attempts_429,
    "Cache hit ratio by model": _hit_ratio_by_model,
    "Cache hit ratio": _hit_ratio_total,
    "Net cache saving (USD/h)": _net_saving_by_model,
    "Cost per hour by model": _cost_by_model,
    "Cost per hour away from standard rates": _billing_cost,
    "Exact break-even hit ratio per cache TTL": _break_even_constants,
    "Break-even for each model's TTL mix": _break_even_mix,
    "System-prompt variants writing the cache": _system_variants,
    "Cache writes by cause (tokens/h)": _writes_by_cause,
    "Share of cache writes from new system prompts": _new_system_share,
    "Short-output calls a cheaper model could take": _model_fit_share,
    "Saving on the cheaper model (USD/day)": _model_fit_saving,
    "Cascade escalations per request, by stage": _cascade_escalations,
    "Cascade cost per stage vs baseline (USD/h)": _cascade_costs,
    "Cascade saving (USD/h)": _cascade_saving,
    "Fallback hops in the time range (from -> to)": _hops_in_range,
    "Fallback hop rate": _hop_rate,
    "Canned responses": _canned,
    "Requests per second": _requests_by_model,
    "Error ratio (final)": _error_ratio,
}


def test_every_exact_check_names_a_real_panel() -> None:
    titles = {p.values[1]["title"] for p in _targets()}
    assert set(_EXACT) <= titles, set(_EXACT) - titles
