"""A real alert, end to end: demo traffic -> OTel Prometheus exporter -> Prometheus -> Alertmanager -> webhook.

The A/B-test part of the demo (a fresh system prompt variant almost every call) keeps the Haiku
cache hit ratio at 20 %, so `AnthropicCacheHitRatioLow` must reach a webhook receiver, and with its
12 system-prompt variants and 20 % under the 5-minute cache's 21.7 % break-even, so must
`AnthropicCacheABTestTrap`. Prometheus
loads a test-only copy of the generated rules with `for:` shortened to 0s and evaluates every
second; everything else (expressions, guards, labels, annotations) is what ships.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from anthropic_otel.grafana import Options, _alerts, _promql
from anthropic_otel.grafana._yaml import dump

from . import prom

ALERT = "AnthropicCacheHitRatioLow"
AB_TRAP_ALERT = "AnthropicCacheABTestTrap"
# The demo's A/B test: 15 calls over variants i % 12, each of which writes the cache.
AB_TEST_VARIANTS = 12
AB_TEST_MODEL = "claude-haiku-4-5"


class Webhook:
    """Alertmanager's webhook receiver: records every notification it is sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.url = ""  # set once served
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        self.handler = Handler

    def alerts(self) -> list[dict[str, Any]]:
        return [alert for note in list(self.received) for alert in note["alerts"]]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    with prom.http_receiver(hook.handler) as url:
        hook.url = url + "/alerts"
        yield hook


@pytest.fixture
def demo_traffic() -> Iterator[str]:
    """The demo workload in a loop, exposed by the OTel Prometheus exporter on a free port."""
    from anthropic_otel import AnthropicInstrumentor
    from anthropic_otel.demo import run_workload
    from anthropic_otel.fake import FakeAnthropic
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(meter_provider=provider, tracer_provider=TracerProvider())
    port = prom.free_port()
    http_server, http_thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    http_server.daemon_threads = False  # as the webhook's: close joins the scrape handlers
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            run_workload(FakeAnthropic(seed=7))  # fresh caches each round: the hit ratio stays put
            stop.wait(0.2)

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop.set()
        worker.join(timeout=10)
        instrumentor.uninstrument()
        http_server.shutdown()
        http_server.server_close()
        http_thread.join(timeout=5)
        provider.shutdown()


def _test_rules() -> str:
    rules = _alerts.prometheus_rules(Options())
    for rule in rules["groups"][0]["rules"]:
        rule["for"] = "0s"  # the only change from the shipped file: no waiting 30 minutes in a test
    return dump(rules)


# Four HTTP peers run in this process's threads here (the exporter's server, the webhook server and
# urllib polling Prometheus and Alertmanager). On a loaded machine one of their sockets was, now and
# then, left to the collector, which under -W error failed this test at a random point. The package
# itself opens no socket in this test (in-process fake API, in-memory dedup), so only here a
# ResourceWarning is not an error.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_cache_alerts_reach_the_webhook(tmp_path: Path, webhook: Webhook, demo_traffic: str) -> None:
    for names in (("prometheus",), prom.ALERTMANAGER_NAMES):
        if prom.binary(*names) is None:
            pytest.skip(f"{names[-1]} is not installed (CI installs it: make system-deps)")
    am_config = (
        "route:\n  receiver: hook\n  group_by: [alertname, job, gen_ai_request_model]\n"
        "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: {webhook.url}\n        send_resolved: false\n"
    )
    with prom.alertmanager(tmp_path / "am", am_config) as am:
        (tmp_path / "prom").mkdir()
        (tmp_path / "prom" / "rules.yaml").write_text(_test_rules())
        prom_config = (
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files: [{tmp_path / 'prom' / 'rules.yaml'}]\n"
            "alerting:\n  alertmanagers:\n"
            f"    - static_configs:\n        - targets: ['{am.url.removeprefix('http://')}']\n"
            "scrape_configs:\n  - job_name: anthropic-app\n"
            f"    static_configs:\n      - targets: ['{demo_traffic}']\n"
        )
        with prom.prometheus(tmp_path / "prom", prom_config) as server:

            def arrived() -> list[dict[str, Any]]:
                names = {a["labels"]["alertname"] for a in webhook.alerts()}
                return webhook.alerts() if {ALERT, AB_TRAP_ALERT} <= names else []

            try:
                received = prom.wait_until(
                    arrived, 60, f"{ALERT} and {AB_TRAP_ALERT} at the webhook", poll_s=0.25
                )
            except TimeoutError:
                state = prom.http_json(f"{server.url}/api/v1/alerts")
                raise AssertionError(
                    f"not both of {ALERT}, {AB_TRAP_ALERT}; Prometheus alerts: {state}\n{server.logs()}\n{am.logs()}"
                ) from None
    alerts = [a for a in received if a["labels"]["alertname"] == ALERT]

    alert = alerts[0]
    assert alert["status"] == "firing"
    assert alert["labels"][_promql.MODEL] == AB_TEST_MODEL
    assert alert["labels"]["job"] == "anthropic-app"
    assert alert["labels"]["severity"] == "warning"
    # The description carries the live value: the demo's A/B test reads about 1 token in 5 from the cache.
    found = re.search(
        r"Cache hit ratio of (\S+) in anthropic-app is ([0-9.]+)% over 30m",
        alert["annotations"]["description"],
    )
    assert found, alert["annotations"]["description"]
    assert found.group(1) == AB_TEST_MODEL and 10 < float(found.group(2)) < 30
    assert alert["annotations"]["runbook_url"].endswith("docs/runbooks.md#anthropiccachehitratiolow")
    trap = next(a for a in received if a["labels"]["alertname"] == AB_TRAP_ALERT)
    assert trap["status"] == "firing"
    assert (trap["labels"][_promql.MODEL], trap["labels"]["severity"]) == (AB_TEST_MODEL, "warning")
    assert (
        f"{AB_TEST_MODEL} in anthropic-app writes the prompt cache with {AB_TEST_VARIANTS} system-prompt variants"
        in trap["annotations"]["description"]
    ), trap["annotations"]["description"]
    assert trap["annotations"]["runbook_url"].endswith("docs/runbooks.md#anthropiccacheabtesttrap")
    # The well-cached support bot (Sonnet) is a healthy cache: no cache alert for it, ever. (Its retried
    # 529s, 3 of 44 attempts a round, are an overload rate the overload alert may rightly report once
    # enough attempts are in its window.)
    sonnet_cache_alerts = [
        a["labels"]
        for a in webhook.alerts()
        if a["labels"].get(_promql.MODEL) == "claude-sonnet-4-6"
        and a["labels"]["alertname"].startswith("AnthropicCache")
    ]
    assert sonnet_cache_alerts == []
