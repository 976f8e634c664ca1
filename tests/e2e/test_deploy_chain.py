"""The deploy chain as a deployed app exports: an app with no telemetry code, run by
`opentelemetry-instrument` in a subprocess with the OTEL_* variables deploy/README.md gives.

1. The OTLP link, up to the wire: the app exports OTLP/HTTP to a receiver in this test, which decodes
   the requests with opentelemetry-proto and checks names, values and `service.name`.
2. The alert links: the same app with the OTel Prometheus exporter, scraped by real Prometheus with
   the generated rules file and the spend rule `--spend-per-hour-max` adds (only `for:` cut to 0s)
   -> real Alertmanager -> a webhook here. One phase per alert family, each a workload of its own
   under its own `job` (all phases run at once: an alert carries its job, so every alert is
   attributed to exactly one phase). Precision and recall 100 %: each phase raises exactly its
   family's alerts, the healthy phase none; every shipped rule has a phase.
No collector binary installs here (deploy/README.md, "What is proven where"), so OTLP -> Prometheus
series is the one link not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.grafana import Options, _alerts
from anthropic_otel.grafana._yaml import dump

from . import prom
from .test_alertmanager_alerts import Webhook, webhook  # noqa: F401 - the fixture, reused

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("deploy_app.py")
RULES = ROOT / "dashboards" / "generated" / "prometheus"
SERVICE = "deploy-chain-app"
# deploy_app.py's constants (the app runs in another process: read, not imported, to keep it plain).
MODEL = "claude-haiku-4-5"
WIRE_CALLS = 3
OUTPUT_TOKENS = 7

# Phase (= deploy_app.py workload = Prometheus job) -> the alerts it must raise, and no other.
PHASES: dict[str, set[str]] = {
    "healthy": set(),
    "cache_ab_test": {
        "AnthropicCacheHitRatioLow",
        "AnthropicCacheNetSavingNegative",
        "AnthropicCacheABTestTrap",
    },
    "overloaded": {"AnthropicOverloadRateHigh"},
    "errors": {"AnthropicErrorRatioHigh"},
    "duplicates": {"AnthropicDuplicateRateHigh"},
    "stream_drops": {"AnthropicStreamDropRateHigh"},
    "fallback_canned": {"AnthropicFallbackToCanned"},
    # Spending 97 % of a minute's budget at once leaves 3 % (headroom) with most of the minute to go
    # at a rate that would spend more than that (exhaustion): the two come together.
    "ratelimit": {"AnthropicRateLimitHeadroomLow", "AnthropicRateLimitExhaustionPredicted"},
    "stalled": {"AnthropicStreamsStalled"},
    "spend": {"AnthropicSpendBurnHigh"},
}
# Settings of one phase's app beyond the README's: stalled after 1 s of silence (default 30 s).
PHASE_ENV: dict[str, dict[str, str]] = {"stalled": {semconv.ENV_STREAM_IDLE_TIMEOUT_S: "1"}}
# The spend rule is rendered only with --spend-per-hour-max. Its 10m rate sees only the seconds this
# test runs (about a hundredth of the window), so the budget sits between the spend workload's
# measured rate after a few seconds (about 40,000 USD/h for real) and what the other phases reach in
# minutes (the cache A/B test, the next dearest, a few hundred USD/h for real).
SPEND_PER_HOUR_MAX = 300.0


def _instrument() -> str:
    exe = Path(sys.executable).parent / "opentelemetry-instrument"
    if not exe.exists():
        pytest.skip("opentelemetry-instrument is not installed (the otlp/prometheus extras bring it)")
    return str(exe)


def _app_env(**otel: str) -> dict[str, str]:
    """The test's environment without any OTEL_* of its own, plus `otel`: what the README tells a user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "instrumentation"), env.get("PYTHONPATH")) if p
    )
    env.update(otel)
    return env


@contextmanager
def _app(
    workload: str, env: dict[str, str], log: Path, seconds: float = 240.0
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_instrument(), sys.executable, str(APP), workload, str(seconds)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        prom.stop(process)


# -- 1. app -> OTLP/HTTP wire --------------------------------------------------------------------------


class OtlpReceiver:
    """An OTLP/HTTP receiver: keeps every request body by path (/v1/metrics, /v1/traces, /v1/logs)."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[bytes]] = {}
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                assert self.headers.get("Content-Type") == "application/x-protobuf"
                bodies.setdefault(self.path, []).append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.handler = Handler
        self.url = ""  # set once served


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    with prom.http_receiver(receiver.handler) as url:
        receiver.url = url
        yield receiver


def _sums(requests: list[Any], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The last exported value of each point of counter `name` (exports are cumulative), by attributes."""
    values: dict[tuple[tuple[str, str], ...], float] = {}
    for request in requests:
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name != name:
                        continue
                    assert metric.sum.is_monotonic, name
                    for point in metric.sum.data_points:
                        attrs = tuple(sorted((a.key, a.value.string_value) for a in point.attributes))
                        values[attrs] = point.as_double or float(point.as_int)
    return values


@pytest.mark.filterwarnings(
    "ignore::ResourceWarning"
)  # as in test_alertmanager_alerts: HTTP peers in threads
def test_app_exports_otlp_http_as_the_readme_says(tmp_path: Path, otlp_receiver: OtlpReceiver) -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    # deploy/README.md, "Over HTTP instead of gRPC", with the receiver's address for localhost:4318.
    env = _app_env(
        OTEL_SERVICE_NAME=SERVICE,
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_METRIC_EXPORT_INTERVAL="1000",
    )
    with _app("wire", env, tmp_path / "app.log") as app:
        assert app.wait(timeout=60) == 0, (tmp_path / "app.log").read_text()
    log = (tmp_path / "app.log").read_text()
    # No export failure in the app's log (a wrong port or protocol shows up here).
    assert "Failed to export" not in log and "UNAVAILABLE" not in log, log

    metrics = [ExportMetricsServiceRequest.FromString(b) for b in otlp_receiver.bodies.get("/v1/metrics", [])]
    assert metrics, f"no metrics arrived: {sorted(otlp_receiver.bodies)}\n{log}"
    resources = {
        a.key: a.value.string_value
        for request in metrics
        for rm in request.resource_metrics
        for a in rm.resource.attributes
    }
    assert resources["service.name"] == SERVICE
    # 3 successful non-streaming calls on one model.
    requests = _sums(metrics, "anthropic.requests")
    assert sum(requests.values()) == WIRE_CALLS, requests
    assert all(dict(attrs)["anthropic.request.outcome"] == "success" for attrs in requests), requests
    assert all(dict(attrs)["gen_ai.request.model"] == MODEL for attrs in requests), requests
    # Each reply is OUTPUT_TOKENS long (the x-fake-output-tokens header): 3 x 7 = 21 output tokens.
    tokens = _sums(metrics, "anthropic.tokens")
    output = {attrs: v for attrs, v in tokens.items() if dict(attrs)["anthropic.token.type"] == "output"}
    assert list(output.values()) == [WIRE_CALLS * OUTPUT_TOKENS], tokens
    # One attempt per call, each answered 200.
    attempts = _sums(metrics, "anthropic.attempts")
    assert sum(attempts.values()) == WIRE_CALLS, attempts

    # The distro sends traces too (so the collector needs a traces pipeline): one span per call
    # (its name depends on the SDK version, which may trace the call itself: count by model).
    traces = [ExportTraceServiceRequest.FromString(b) for b in otlp_receiver.bodies.get("/v1/traces", [])]
    models = [
        {a.key: a.value.string_value for a in span.attributes}.get("gen_ai.request.model")
        for request in traces
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    assert models.count(MODEL) == WIRE_CALLS, models


# -- 2. app -> Prometheus -> generated rules -> Alertmanager -> webhook -----------------------------------


def _shipped_rules_without_waiting() -> str:
    """The generated rules file as shipped, `for:` cut to 0s (no waiting 5 to 30 minutes in a test)."""
    (path,) = RULES.glob("*.yaml")
    text, cut = re.subn(r'^(\s+for: )"\d+[smh]"$', r'\1"0s"', path.read_text(), flags=re.M)
    assert cut == len(re.findall(r"^\s+- alert: ", path.read_text(), flags=re.M)) > 0
    return text


def _spend_rule_without_waiting() -> str:
    """The rule `--spend-per-hour-max` adds to the shipped ones, `for:` cut to 0s likewise."""
    rules = _alerts.prometheus_rules(Options(spend_per_hour_max=SPEND_PER_HOUR_MAX))
    group = rules["groups"][0]
    group["rules"] = [{**r, "for": "0s"} for r in group["rules"] if r["alert"] not in _shipped_alerts()]
    assert [r["alert"] for r in group["rules"]] == ["AnthropicSpendBurnHigh"]
    group["name"] += "-spend"
    return dump(rules)


def _shipped_alerts() -> set[str]:
    return {
        name
        for path in RULES.glob("*.yaml")
        for name in re.findall(r"^\s+- alert: (\S+)", path.read_text(), flags=re.M)
    }


def _scalar(server: prom.Server, expr: str) -> float:
    result = prom.query(server, expr)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_each_alert_family_reaches_the_webhook_and_only_its_phase(
    tmp_path: Path,
    webhook: Webhook,  # noqa: F811 - the fixture imported above
) -> None:
    for names in (("prometheus",), prom.ALERTMANAGER_NAMES):
        if prom.binary(*names) is None:
            pytest.skip(f"{names[-1]} is not installed (CI installs it: make system-deps)")
    _instrument()
    started = time.monotonic()
    expected_alerts = set().union(*PHASES.values())
    loaded = _shipped_alerts() | {"AnthropicSpendBurnHigh"}
    assert expected_alerts == loaded, (
        f"rules without a phase: {loaded - expected_alerts}; unknown: {expected_alerts - loaded}"
    )
    ports = {phase: prom.free_port() for phase in PHASES}
    am_config = (
        "route:\n  receiver: hook\n  group_by: [alertname, job, gen_ai_request_model]\n"
        "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: {webhook.url}\n        send_resolved: false\n"
    )
    with ExitStack() as stack:
        am = stack.enter_context(prom.alertmanager(tmp_path / "am", am_config))
        (tmp_path / "prom").mkdir()
        (tmp_path / "prom" / "rules.yaml").write_text(_shipped_rules_without_waiting())
        (tmp_path / "prom" / "spend.yaml").write_text(_spend_rule_without_waiting())
        # The README's app settings, with the Prometheus exporter instead of OTLP (no collector here).
        for phase, port in ports.items():
            env = _app_env(
                OTEL_SERVICE_NAME=SERVICE,
                OTEL_METRICS_EXPORTER="prometheus",
                OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
                OTEL_EXPORTER_PROMETHEUS_PORT=str(port),
                OTEL_TRACES_EXPORTER="none",
                OTEL_LOGS_EXPORTER="none",
                **PHASE_ENV.get(phase, {}),
            )
            stack.enter_context(_app(phase, env, tmp_path / f"app-{phase}.log"))
        scrape = "".join(
            f"  - job_name: {phase}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            for phase, port in ports.items()
        )
        prom_config = (
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files: [{tmp_path / 'prom' / 'rules.yaml'}, {tmp_path / 'prom' / 'spend.yaml'}]\n"
            "alerting:\n  alertmanagers:\n"
            f"    - static_configs:\n        - targets: ['{am.url.removeprefix('http://')}']\n"
            f"scrape_configs:\n{scrape}"
        )
        server = stack.enter_context(prom.prometheus(tmp_path / "prom", prom_config))

        def received() -> dict[str, set[str]]:
            by_phase: dict[str, set[str]] = {phase: set() for phase in PHASES}
            for alert in webhook.alerts():
                by_phase.setdefault(alert["labels"]["job"], set()).add(alert["labels"]["alertname"])
            return by_phase

        def healthy_is_not_vacuous() -> bool:
            # The healthy phase must have met every volume guard of the rules (so silence means healthy,
            # not "too little traffic to judge"): >= 100 requests and attempts, >= 200 streams.
            return (
                _scalar(server, 'sum(increase(anthropic_requests_total{job="healthy"}[10m]))') >= 100
                and _scalar(server, 'sum(increase(anthropic_attempts_total{job="healthy"}[10m]))') >= 100
                and _scalar(server, 'sum(increase(anthropic_streams_total{job="healthy"}[10m]))') >= 200
            )

        def all_arrived() -> bool:
            got = received()
            return (
                all(expected <= got[phase] for phase, expected in PHASES.items()) and healthy_is_not_vacuous()
            )

        try:
            prom.wait_until(all_arrived, 150, "every phase's alerts at the webhook", poll_s=0.5)
            # A few more evaluations and notifications, so a late wrong alert would show up too.
            settle_from = time.monotonic()
            prom.wait_until(lambda: time.monotonic() - settle_from > 5, 10, "settling")
        except TimeoutError:
            state = prom.http_json(f"{server.url}/api/v1/alerts")
            logs = "\n".join((tmp_path / f"app-{p}.log").read_text()[-2000:] for p in PHASES)
            raise AssertionError(
                f"received {received()}; Prometheus alerts: {state}\n{logs}\n{am.logs()}"
            ) from None
        spend = {
            phase: round(_scalar(server, f'sum(rate(anthropic_cost_usd_total{{job="{phase}"}}[10m])) * 3600'))
            for phase in PHASES
        }
        # The ratelimit phase came near its limit without reaching it: no attempt was answered 429.
        limited = _scalar(
            server, 'sum(anthropic_attempts_total{job="ratelimit", http_response_status_code="429"})'
        )
        pending_or_firing = {
            (a["labels"]["job"], a["labels"]["alertname"])
            for a in prom.http_json(f"{server.url}/api/v1/alerts")["data"]["alerts"]
        }
    got = received()
    duration = time.monotonic() - started
    print(f"\ndeploy chain: {duration:.0f}s; alerts per phase: { {p: sorted(a) for p, a in got.items()} }")
    print(f"spend per phase at the end (USD/h over 10m, budget {SPEND_PER_HOUR_MAX:g}): {spend}")
    # Precision and recall: every phase got exactly its family, at the webhook and in Prometheus.
    assert got == PHASES
    assert limited == 0
    expected = {(p, a) for p, alerts in PHASES.items() for a in alerts}
    # Still active in Prometheus at the end; the rate-limit alerts follow the fake's minute windows
    # (they resolve when the minute rolls over and the budget is full, and fire again once it is spent,
    # the exhaustion one not in the last seconds of a minute), so they may be between two firings.
    assert pending_or_firing <= expected, pending_or_firing - expected
    missing = expected - pending_or_firing
    assert {p for p, _ in missing} <= {"ratelimit"}, missing
    for alert in webhook.alerts():
        assert alert["status"] == "firing"
        assert alert["labels"].get("gen_ai_request_model", MODEL) == MODEL
