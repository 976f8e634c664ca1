"""The generated dashboards and rules: up to date, valid for the SDK and promtool, flags honoured.

Prometheus rule unit tests (`promtool test rules`): one series that fires each alert and one
healthy series that keeps it silent, plus the near misses an alert must not mistake for its case.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from anthropic_otel import semconv
from anthropic_otel.grafana import OptionError, Options, _alerts, _catalog, _promql, cli, render, shipped_dir

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "dashboards" / "generated"


def _promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.skip("promtool is not installed (CI installs it: make system-deps)")
    return exe


def test_generated_files_are_up_to_date() -> None:
    fresh = render(Options())
    on_disk = {str(p.relative_to(GENERATED)): p.read_text() for p in GENERATED.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(fresh), "files differ: run python dashboards/generate.py"
    for rel, text in fresh.items():
        assert on_disk[rel] == text, f"{rel} is stale: run python dashboards/generate.py"


def test_dashboards_round_trip_through_the_sdk_model() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from grafana_foundation_sdk.cog.encoder import JSONEncoder
        from grafana_foundation_sdk.cog.plugins import register_default_plugins
        from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    for path in sorted((GENERATED / "dashboards").glob("*.json")):
        raw = json.loads(path.read_text())
        back = json.loads(JSONEncoder(sort_keys=True).encode(Dashboard.from_json(raw)))
        assert back == raw, path.name


def _datasource_uids(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        ds = node.get("datasource")
        if isinstance(ds, dict) and "uid" in ds:
            found.append(ds["uid"])
        for key, value in node.items():
            if key == "datasourceUid":
                found.append(value)
            found.extend(_datasource_uids(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_datasource_uids(item))
    return found


def test_no_hard_coded_datasource_uid_by_default() -> None:
    for rel, text in render(Options()).items():
        if rel.endswith(".json"):
            board = json.loads(text)
            assert set(_datasource_uids(board)) == {"${datasource}"}, rel
            variables = {v["name"]: v for v in board["templating"]["list"]}
            assert set(variables) == {"datasource", "job", "model"}
            assert "current" not in variables["datasource"]
    grafana = _alerts.grafana_rules(Options())
    assert set(_datasource_uids(grafana)) == {"${DS_PROMETHEUS}", "__expr__"}


def test_datasource_uid_flag_sets_the_uid_everywhere() -> None:
    files = render(Options(datasource_uid="prom-main"))
    board = json.loads(files["dashboards/anthropic-overview.json"])
    datasource = next(v for v in board["templating"]["list"] if v["name"] == "datasource")
    assert datasource["current"]["value"] == "prom-main"
    assert set(_datasource_uids(_alerts.grafana_rules(Options(datasource_uid="prom-main")))) == {
        "prom-main",
        "__expr__",
    }
    assert "${DS_PROMETHEUS}" not in files["grafana-alerting/anthropic-alerts.yaml"]


def test_every_panel_has_a_description_and_every_target_uses_the_variables() -> None:
    for board in _catalog.dashboards(Options()):
        for panel in board.panels:
            assert len(panel.description) > 40, panel.title
            for target in panel.targets:
                if target.expr.startswith("vector("):
                    continue  # constants (break-even per TTL)
                assert '=~"$job"' in target.expr, (panel.title, target.expr)
                assert (
                    "$__rate_interval" in target.expr
                    or "$__range" in target.expr
                    or "rate(" not in target.expr
                )


def test_queries_only_name_metrics_from_semconv() -> None:
    known = {
        n for spec in (*semconv.INSTRUMENTS, *semconv.PLANNED_INSTRUMENTS) for n in _promql.series_names(spec)
    }
    for board in _catalog.dashboards(Options()):
        for panel in board.panels:
            for target in panel.targets:
                for name in _words(target.expr):
                    if name.startswith(("anthropic_", "gen_ai_client_")) and "(" not in name:
                        assert name in known or name in _labels(), (panel.title, name)


def _words(expr: str) -> set[str]:
    return set(re.findall(r"[a-z_][a-z0-9_]*", expr))


def _labels() -> set[str]:
    return {v for k, v in vars(_promql).items() if k.isupper() and isinstance(v, str)}


def test_prometheus_names_agree_with_the_telemetry_reference() -> None:
    from anthropic_otel._reference import render as reference

    # The metric tables' rows: | `name` | kind | `unit` | `Prometheus` | attributes | meaning |
    cells = [row.split(" | ") for row in reference().splitlines()]
    rows = {row[0]: row[3] for row in cells if len(row) == 6 and row[0].startswith("| `")}
    for spec in (*semconv.INSTRUMENTS, *semconv.PLANNED_INSTRUMENTS):
        names = _promql.series_names(spec)
        documented = rows[f"| `{spec.name}`"].strip("`")
        if spec.kind == semconv.HISTOGRAM:
            base = names[0].removesuffix("_bucket")
            assert names == (f"{base}_bucket", f"{base}_sum", f"{base}_count")
            assert documented == f"{base}_bucket / _sum / _count", spec.name
        else:
            assert (documented,) == names, spec.name


# The spend alert has no default threshold: rendered (and tested) only with the flag.
SPEND_MAX = 10.0
WITH_SPEND = Options(spend_per_hour_max=SPEND_MAX)
SPEND = "AnthropicSpendBurnHigh"


def test_alerts_follow_the_house_style() -> None:
    rules = _alerts.prometheus_rules(WITH_SPEND)["groups"][0]["rules"]
    assert len(rules) == 12
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    for rule in rules:
        assert rule["alert"].startswith("Anthropic") and rule["alert"].isalnum()
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert "{{ $value" in rule["annotations"]["description"]
        anchor = rule["annotations"]["runbook_url"].split("#")[1]
        assert f"## {rule['alert']}" in runbooks and anchor == rule["alert"].lower()
        assert rule["for"]


def test_promtool_checks_the_generated_rules() -> None:
    result = subprocess.run(
        [_promtool(), "check", "rules", str(GENERATED / "prometheus" / "anthropic-alerts.rules.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout


# --- promtool test rules: fire and stay silent, per alert ------------------------------------------

M = _promql.MODEL
JOB = 'job="app"'


def _s(spec: semconv.Instrument, labels: str, values: str) -> dict[str, str]:
    return {"series": f"{_promql.metric(spec)}{{{JOB}, {labels}}}", "values": values}


def _tokens(kind: str, model: str, values: str) -> dict[str, str]:
    return _s(semconv.ANTHROPIC_TOKENS, f'{M}="{model}", {_promql.TOKEN_TYPE}="{kind}"', values)


def _requests(model: str, values: str, outcome: str = semconv.OUTCOME_SUCCESS) -> dict[str, str]:
    return _s(semconv.ANTHROPIC_REQUESTS, f'{M}="{model}", {_promql.OUTCOME}="{outcome}"', values)


def _variants(model: str, values: str) -> dict[str, str]:
    return _s(semconv.ANTHROPIC_CACHE_SYSTEM_VARIANTS, f'{M}="{model}"', values)


def _cost(model: str, values: str, kind: str = semconv.TOKEN_OUTPUT) -> dict[str, str]:
    return _s(semconv.ANTHROPIC_COST, f'{M}="{model}", {_promql.TOKEN_TYPE}="{kind}"', values)


def _canned(values: str) -> dict[str, str]:
    return _s(
        semconv.ANTHROPIC_FALLBACK_HOPS,
        f'{_promql.FROM_MODEL}="m", {_promql.TO_MODEL}="canned", {_promql.FALLBACK_REASON}="overloaded"',
        values,
    )


def _limit(kind: str, limit: str, remaining: str, reset: str, model: str = "m") -> list[dict[str, str]]:
    labels = f'{M}="{model}", {_promql.RATELIMIT_KIND}="{kind}"'
    return [
        _s(semconv.ANTHROPIC_RATELIMIT_LIMIT, labels, limit),
        _s(semconv.ANTHROPIC_RATELIMIT_REMAINING, labels, remaining),
        _s(semconv.ANTHROPIC_RATELIMIT_RESET_TIME, labels, reset),
    ]


# Sampled at minute i (t = 60 i s): a reset 30 s ahead of every sample, and one that passed long ago.
RESET_AHEAD = "30+60x120"
RESET_PASSED = "30x120"


# name -> (series that fire it, labels of the fired alert, healthy series). Samples every minute for 2h.
CASES: dict[str, tuple[list[dict[str, str]], dict[str, str], list[dict[str, str]]]] = {
    "AnthropicCacheHitRatioLow": (
        [
            _tokens("cache_read", "m", "0+100x120"),
            _tokens("cache_write_5m", "m", "0+400x120"),
            _requests("m", "0+10x120"),
        ],
        {M: "m"},
        [
            _tokens("cache_read", "m", "0+900x120"),
            _tokens("cache_write_5m", "m", "0+100x120"),
            _requests("m", "0+10x120"),
        ],
    ),
    "AnthropicCacheNetSavingNegative": (
        [
            _s(semconv.ANTHROPIC_COST_UNCACHED, f'{M}="m"', "0+1x120"),
            _s(semconv.ANTHROPIC_COST, f'{M}="m", {_promql.TOKEN_TYPE}="cache_write_5m"', "0+1.2x120"),
            _tokens("cache_write_5m", "m", "0+100x120"),
            _requests("m", "0+10x120"),
        ],
        {M: "m"},
        [
            _s(semconv.ANTHROPIC_COST_UNCACHED, f'{M}="m"', "0+1x120"),
            _s(semconv.ANTHROPIC_COST, f'{M}="m", {_promql.TOKEN_TYPE}="cache_read"', "0+0.3x120"),
            _requests("m", "0+10x120"),
        ],
    ),
    # 4 variants; 400 of 1000 cached tokens/min read (40 %) while writing the 1-hour cache, whose
    # break-even is (2 - 1) / (2 - 0.1) = 52.6 %: the A/B trap loses money.
    "AnthropicCacheABTestTrap": (
        [
            _variants("m", "4x120"),
            _tokens("cache_read", "m", "0+400x120"),
            _tokens("cache_write_1h", "m", "0+600x120"),
            _requests("m", "0+10x120"),
        ],
        {M: "m"},
        [
            _variants("m", "1x120"),
            _tokens("cache_read", "m", "0+900x120"),
            _tokens("cache_write_5m", "m", "0+100x120"),
            _requests("m", "0+10x120"),
        ],
    ),
    "AnthropicOverloadRateHigh": (
        [
            _s(semconv.ANTHROPIC_ATTEMPTS, f'{M}="m", {_promql.STATUS}="200"', "0+90x120"),
            _s(
                semconv.ANTHROPIC_ATTEMPTS,
                f'{M}="m", {_promql.STATUS}="529", {_promql.ERROR_TYPE}="overloaded_error"',
                "0+10x120",
            ),
        ],
        {M: "m"},
        [
            _s(semconv.ANTHROPIC_ATTEMPTS, f'{M}="m", {_promql.STATUS}="200"', "0+98x120"),
            _s(
                semconv.ANTHROPIC_ATTEMPTS,
                f'{M}="m", {_promql.STATUS}="529", {_promql.ERROR_TYPE}="overloaded_error"',
                "0+2x120",
            ),
        ],
    ),
    "AnthropicErrorRatioHigh": (
        [_requests("m", "0+10x120"), _requests("m", "0+2x120", semconv.OUTCOME_ERROR)],
        {M: "m"},
        [_requests("m", "0+100x120"), _requests("m", "0+1x120", semconv.OUTCOME_ERROR)],
    ),
    "AnthropicFallbackToCanned": (
        [_canned("0+1x120")],
        {_promql.FROM_MODEL: "m"},
        [
            _s(
                semconv.ANTHROPIC_FALLBACK_HOPS,
                f'{_promql.FROM_MODEL}="m", {_promql.TO_MODEL}="n", {_promql.FALLBACK_REASON}="overloaded"',
                "0+1x120",
            )
        ],
    ),
    "AnthropicStreamDropRateHigh": (
        [
            _s(semconv.ANTHROPIC_STREAMS, f'{M}="m", {_promql.END_REASON}="complete"', "0+98x120"),
            _s(semconv.ANTHROPIC_STREAMS, f'{M}="m", {_promql.END_REASON}="unexpected_close"', "0+2x120"),
        ],
        {M: "m"},
        [
            _s(semconv.ANTHROPIC_STREAMS, f'{M}="m", {_promql.END_REASON}="complete"', "0+1000x120"),
            _s(semconv.ANTHROPIC_STREAMS, f'{M}="m", {_promql.END_REASON}="unexpected_close"', "0+1x120"),
            _s(semconv.ANTHROPIC_STREAMS, f'{M}="m", {_promql.END_REASON}="cancelled"', "0+50x120"),
        ],
    ),
    "AnthropicStreamsStalled": (
        [_s(semconv.ANTHROPIC_STREAMS_STALLED, f'{M}="m"', "1x120")],
        {M: "m"},
        # Streams stall briefly and recover: never stalled through a whole 5m window.
        [_s(semconv.ANTHROPIC_STREAMS_STALLED, f'{M}="m"', "0 0 1 0 0 0 1 0 0 0 " * 12)],
    ),
    "AnthropicDuplicateRateHigh": (
        [
            _requests("m", "0+100x120"),
            _s(semconv.ANTHROPIC_DUPLICATES, f'{M}="m", {_promql.DUP_STATE}="completed"', "0+5x120"),
        ],
        {M: "m"},
        [
            _requests("m", "0+1000x120"),
            _s(semconv.ANTHROPIC_DUPLICATES, f'{M}="m", {_promql.DUP_STATE}="completed"', "0+1x120"),
        ],
    ),
    # Input tokens: 50 of 1,000 left = 5 % < 10 %; requests 80 of 100 left: the tightest limit decides.
    "AnthropicRateLimitHeadroomLow": (
        [
            *_limit("input_tokens", "1000x120", "50x120", RESET_AHEAD),
            *_limit("requests", "100x120", "80x120", RESET_AHEAD),
        ],
        {M: "m"},
        [
            *_limit("input_tokens", "1000x120", "500x120", RESET_AHEAD),
            *_limit("requests", "100x120", "80x120", RESET_AHEAD),
        ],
    ),
    # Input 1,200 tokens/min = 20/s, 30 s to the reset: 600 more before it, 300 left: 600 / 300 = 2.
    "AnthropicRateLimitExhaustionPredicted": (
        [_tokens("input", "m", "0+1200x120"), *_limit("input_tokens", "1000x120", "300x120", RESET_AHEAD)],
        {M: "m"},
        # 600 before the reset, 900 left: 0.67.
        [_tokens("input", "m", "0+1200x120"), *_limit("input_tokens", "1000x120", "900x120", RESET_AHEAD)],
    ),
    # The job's total: 0.1 USD/min on each of two models = 12 USD/h > 10, though each alone is 6.
    SPEND: (
        [_cost("m", "0+0.1x120"), _cost("n", "0+0.05x120", "input"), _cost("n", "0+0.05x120")],
        {},
        # 0.15 USD/min = 9 USD/h.
        [_cost("m", "0+0.1x120"), _cost("n", "0+0.05x120")],
    ),
}


def _promtool_tests(rule_files: list[Path]) -> dict[str, Any]:
    rules = {r["alert"]: r for r in _alerts.prometheus_rules(WITH_SPEND)["groups"][0]["rules"]}
    tests = []
    for name, (firing, labels, healthy) in CASES.items():
        expected = {"severity": rules[name]["labels"]["severity"], "job": "app", **labels}
        annotations = _expected_annotations(rules[name], expected, VALUES[name])
        tests.append(
            {
                "name": f"{name} fires",
                "interval": "1m",
                "input_series": firing,
                "alert_rule_test": [
                    {
                        "eval_time": "110m",
                        "alertname": name,
                        "exp_alerts": [{"exp_labels": expected, "exp_annotations": annotations}],
                    }
                ],
            }
        )
        tests.append(
            {
                "name": f"{name} stays silent on a healthy series",
                "interval": "1m",
                "input_series": healthy,
                "alert_rule_test": [{"eval_time": "110m", "alertname": name, "exp_alerts": []}],
            }
        )
        for why, series, other in NEAR_MISSES.get(name, []):
            checks: list[dict[str, Any]] = [{"eval_time": "110m", "alertname": name, "exp_alerts": []}]
            if other is not None:
                other_name, other_value = other
                other_labels = {"severity": rules[other_name]["labels"]["severity"], "job": "app", **labels}
                checks.append(
                    {
                        "eval_time": "110m",
                        "alertname": other_name,
                        "exp_alerts": [
                            {
                                "exp_labels": other_labels,
                                "exp_annotations": _expected_annotations(
                                    rules[other_name], other_labels, other_value
                                ),
                            }
                        ],
                    }
                )
            tests.append(
                {
                    "name": f"{name} stays silent: {why}",
                    "interval": "1m",
                    "input_series": series,
                    "alert_rule_test": checks,
                }
            )
        for why, series, at, value in ALSO_FIRES.get(name, []):
            tests.append(
                {
                    "name": f"{name} fires: {why}",
                    "interval": "1m",
                    "input_series": series,
                    "alert_rule_test": [
                        {
                            "eval_time": at,
                            "alertname": name,
                            "exp_alerts": [
                                {
                                    "exp_labels": expected,
                                    "exp_annotations": _expected_annotations(rules[name], expected, value),
                                }
                            ],
                        }
                    ],
                }
            )
        if name in IDLE:
            tests.append(
                {
                    "name": f"{name} stays silent on an idle service",
                    "interval": "1m",
                    "input_series": IDLE[name],
                    "alert_rule_test": [{"eval_time": "110m", "alertname": name, "exp_alerts": []}],
                }
            )
    return {"rule_files": [str(f) for f in rule_files], "evaluation_interval": "1m", "tests": tests}


# The live value each firing case must print in its description.
VALUES = {
    "AnthropicCacheHitRatioLow": "20%",
    "AnthropicCacheNetSavingNegative": "-12",
    "AnthropicCacheABTestTrap": "4",
    "AnthropicOverloadRateHigh": "10%",
    "AnthropicErrorRatioHigh": "16.67%",
    "AnthropicFallbackToCanned": "10",
    "AnthropicStreamDropRateHigh": "2%",
    "AnthropicStreamsStalled": "1",
    "AnthropicDuplicateRateHigh": "5%",
    "AnthropicRateLimitHeadroomLow": "5%",
    "AnthropicRateLimitExhaustionPredicted": "2",
    SPEND: "12",
}

# Bad ratios on too little traffic: the minimum-traffic guard keeps them silent.
IDLE: dict[str, list[dict[str, str]]] = {
    "AnthropicCacheHitRatioLow": [
        _tokens("cache_read", "m", "0+100x120"),
        _tokens("cache_write_5m", "m", "0+400x120"),
        _requests("m", "0+0.5x120"),
    ],
    "AnthropicErrorRatioHigh": [
        _requests("m", "0+1x120"),
        _requests("m", "0+0.5x120", semconv.OUTCOME_ERROR),
    ],
    "AnthropicOverloadRateHigh": [
        _s(semconv.ANTHROPIC_ATTEMPTS, f'{M}="m", {_promql.STATUS}="200"', "0+5x120"),
        _s(semconv.ANTHROPIC_ATTEMPTS, f'{M}="m", {_promql.STATUS}="529"', "0+1x120"),
    ],
    # Spent 50 USD long ago, nothing since: the counter is still exported, flat.
    SPEND: [_cost("m", "50x120")],
}


# Series an alert must stay silent on although they look like its case: (why, series, and another
# alert that does fire on them with its live value, or None).
NEAR_MISSES: dict[str, list[tuple[str, list[dict[str, str]], tuple[str, str] | None]]] = {
    "AnthropicCacheNetSavingNegative": [
        (
            # Uncached traffic: the actual cost sits a rounding error above the uncached one (summed
            # in another order), never a cache loss, since nothing was written.
            "a cost above the uncached cost with no cache write",
            [
                _s(semconv.ANTHROPIC_COST_UNCACHED, f'{M}="m"', "0+1x120"),
                _s(semconv.ANTHROPIC_COST, f'{M}="m", {_promql.TOKEN_TYPE}="input"', "0+1.000001x120"),
                _tokens("input", "m", "0+100x120"),
                _requests("m", "0+10x120"),
            ],
            None,
        ),
    ],
    "AnthropicCacheABTestTrap": [
        (
            # 40 % is under the 50 % rule (AnthropicCacheHitRatioLow fires) but above the 5-minute
            # cache's exact break-even, (1.25 - 1) / (1.25 - 0.1) = 21.7 %: the variants do not lose money.
            "variants but a hit ratio above the break-even",
            [
                _variants("m", "4x120"),
                _tokens("cache_read", "m", "0+400x120"),
                _tokens("cache_write_5m", "m", "0+600x120"),
                _requests("m", "0+10x120"),
            ],
            ("AnthropicCacheHitRatioLow", "40%"),
        ),
        (
            # 100 / 1000 = 10 %, losing money with a single system prompt: the hit-ratio alert's case.
            "one variant with a low hit ratio",
            [
                _variants("m", "1x120"),
                _tokens("cache_read", "m", "0+100x120"),
                _tokens("cache_write_5m", "m", "0+900x120"),
                _requests("m", "0+10x120"),
            ],
            ("AnthropicCacheHitRatioLow", "10%"),
        ),
        (
            "variants and a low hit ratio on an idle service",
            [
                _variants("m", "4x120"),
                _tokens("cache_read", "m", "0+100x120"),
                _tokens("cache_write_5m", "m", "0+900x120"),
                _requests("m", "0+0.5x120"),
            ],
            None,
        ),
    ],
    SPEND: [
        # 4 USD in 4 minutes (100m-103m), nothing after: 12-24 USD/h over 10m from 100m on, pending
        # at 110m but not for the 15m the alert waits.
        ("a spike shorter than 15m", [_cost("m", "0x99 1+1x3 4x16")], None),
        # A long-running job: its counter is large, its spend now 6 USD/h.
        ("a large total at a low rate", [_cost("m", "1000+0.1x120")], None),
    ],
    "AnthropicFallbackToCanned": [
        # One canned answer 80 minutes ago, none since: the series is still exported, flat.
        ("a canned answer long ago", [_canned("_x30 1x90")], None),
    ],
    "AnthropicRateLimitHeadroomLow": [
        # The process stopped calling: its gauges still say 5 % left, but the reset they announced
        # passed long ago and the budget has refilled.
        (
            "a frozen gauge whose reset has passed",
            _limit("input_tokens", "1000x120", "50x120", RESET_PASSED),
            None,
        ),
        # 110 of 1,000 = 11 %: close, not under 10 %.
        ("11 % left", _limit("input_tokens", "1000x120", "110x120", RESET_AHEAD), None),
        # 5 % for 3 minutes (106m-108m), then 50 % again: shorter than the 5m the alert waits.
        (
            "a dip shorter than 5m",
            _limit("input_tokens", "1000x120", "500x105 50x3 500x12", RESET_AHEAD),
            None,
        ),
    ],
    "AnthropicRateLimitExhaustionPredicted": [
        # 20 tokens/s against 300 left with 30 s to go would fire, but the reset passed long ago.
        (
            "fast consumption against a reset that has passed",
            [
                _tokens("input", "m", "0+1200x120"),
                *_limit("input_tokens", "1000x120", "300x120", RESET_PASSED),
            ],
            None,
        ),
        # Input 2/s plus 100/s of cache reads: reads do not count toward the input limit,
        # 2 * 30 / 300 = 0.2 (counting them: 102 * 30 / 300 = 10.2).
        (
            "cache reads, which do not count toward the input-tokens limit",
            [
                _tokens("input", "m", "0+120x120"),
                _tokens("cache_read", "m", "0+6000x120"),
                *_limit("input_tokens", "1000x120", "300x120", RESET_AHEAD),
            ],
            None,
        ),
        # Output at 20/s against a roomy output limit (30 * 20 / 100,000), input at 1/s against a
        # tight one (30 / 300 = 0.1): each kind is matched with its own consumption, never crossed.
        (
            "fast output against a tight input limit",
            [
                _tokens("output", "m", "0+1200x120"),
                _tokens("input", "m", "0+60x120"),
                *_limit("output_tokens", "100000x120", "100000x120", RESET_AHEAD),
                *_limit("input_tokens", "1000x120", "300x120", RESET_AHEAD),
            ],
            None,
        ),
        # 8 % left, but at 1 request/s only 30 of the 80 left go before the reset: the headroom
        # alert's case, not this one's.
        (
            "little left but a slow rate",
            [
                _s(semconv.ANTHROPIC_ATTEMPTS, f'{M}="m", {_promql.STATUS}="200"', "0+60x120"),
                *_limit("requests", "1000x120", "80x120", RESET_AHEAD),
            ],
            ("AnthropicRateLimitHeadroomLow", "8%"),
        ),
    ],
}

# Extra firing cases at their own evaluation time: (why, series, eval time, live value).
ALSO_FIRES: dict[str, list[tuple[str, list[dict[str, str]], str, str]]] = {
    "AnthropicFallbackToCanned": [
        # The exporter creates the series at the first canned answer (at 100m), with 1 as its first
        # sample: increase() alone sees no difference and would count 0. Pending from 100m, firing from
        # 105m, still in the 10m window at 107m.
        ("the first canned answer of a process", [_canned("_x100 1x20")], "107m", "1"),
    ],
    "AnthropicRateLimitExhaustionPredicted": [
        # Every attempt, retries included, spends a request: 600/min = 10/s, 30 s to go, 100 left: 3.
        (
            "attempts against the requests limit",
            [
                _s(semconv.ANTHROPIC_ATTEMPTS, f'{M}="m", {_promql.STATUS}="200"', "0+400x120"),
                _s(semconv.ANTHROPIC_ATTEMPTS, f'{M}="m", {_promql.STATUS}="429"', "0+200x120"),
                *_limit("requests", "1000x120", "100x120", RESET_AHEAD),
            ],
            "110m",
            "3",
        ),
        # Input 10/s and output 10/s: neither alone exceeds its own limit's 300 left (300 before the
        # reset), together they do against the tokens limit's 400 left: (10 + 10) * 30 / 400 = 1.5.
        (
            "input and output together against the tokens limit",
            [
                _tokens("input", "m", "0+600x120"),
                _tokens("output", "m", "0+600x120"),
                *_limit("input_tokens", "1000x120", "500x120", RESET_AHEAD),
                *_limit("output_tokens", "1000x120", "500x120", RESET_AHEAD),
                *_limit("tokens", "2000x120", "400x120", RESET_AHEAD),
            ],
            "110m",
            "1.5",
        ),
    ],
}


def _expected_annotations(rule: dict[str, Any], labels: dict[str, str], value: str) -> dict[str, str]:
    annotations = dict(rule["annotations"])
    text = re.sub(r"\{\{ \$value \| \w+ \}\}", value, annotations["description"])
    annotations["description"] = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
    return annotations


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    assert set(CASES) == set(VALUES) == {a.name for a in _alerts.alerts(WITH_SPEND)}


def test_the_spend_alert_is_rendered_only_with_its_flag() -> None:
    assert SPEND not in {a.name for a in _alerts.alerts(Options())}
    rule_files = ("prometheus/anthropic-alerts.rules.yaml", "grafana-alerting/anthropic-alerts.yaml")
    default, flagged = render(Options()), render(WITH_SPEND)
    for rel in rule_files:
        assert SPEND not in default[rel] and SPEND.lower() not in default[rel], rel
        assert flagged[rel].count(SPEND) == 1 and flagged[rel].count(f"#{SPEND.lower()}") == 1, rel
    assert {rel: text for rel, text in flagged.items() if rel not in rule_files} == {
        rel: text for rel, text in default.items() if rel not in rule_files
    }
    grafana = _alerts.grafana_rules(WITH_SPEND)["groups"][0]["rules"]
    (spend,) = [r for r in grafana if r["title"] == SPEND]
    (condition,) = [q for q in spend["data"] if q["refId"] == "C"]
    assert condition["model"]["conditions"][0]["evaluator"] == {"type": "gt", "params": [SPEND_MAX]}
    assert spend["data"][0]["model"]["expr"] == "sum by (job) (rate(anthropic_cost_usd_total[10m])) * 3600"


def _spend_rule_only(path: Path) -> Path:
    """The spend rule as `--spend-per-hour-max` renders it, in a file of its own beside the shipped one."""
    from anthropic_otel.grafana._yaml import dump

    rules = _alerts.prometheus_rules(WITH_SPEND)
    rules["groups"][0]["rules"] = [r for r in rules["groups"][0]["rules"] if r["alert"] == SPEND]
    path.write_text(dump(rules))
    return path


def test_promtool_unit_tests(tmp_path: Path) -> None:
    from anthropic_otel.grafana._yaml import dump

    test_file = tmp_path / "alerts.test.yaml"
    shipped = GENERATED / "prometheus" / "anthropic-alerts.rules.yaml"
    test_file.write_text(dump(_promtool_tests([shipped, _spend_rule_only(tmp_path / "spend.rules.yaml")])))
    result = subprocess.run([_promtool(), "test", "rules", str(test_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr + test_file.read_text()[:3000]


# --- the CLI ------------------------------------------------------------------------------------


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="anthropic-otel")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return cli.run(parser.parse_args(["dashboards", *argv]))


def test_cli_default_copies_the_shipped_files(tmp_path: Path) -> None:
    assert shipped_dir() == GENERATED
    assert _run("--out", str(tmp_path)) == 0
    for path in GENERATED.rglob("*"):
        if path.is_file():
            assert (tmp_path / path.relative_to(GENERATED)).read_bytes() == path.read_bytes()


def test_cli_default_needs_no_grafana_sdk(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['grafana_foundation_sdk'] = None\n"
        "import argparse\nfrom anthropic_otel.grafana import cli\n"
        "p = argparse.ArgumentParser(); cli.add_parser(p.add_subparsers(dest='c'))\n"
        f"sys.exit(cli.run(p.parse_args(['dashboards', '--out', {str(tmp_path / 'a')!r}])) * 10"
        f" + cli.run(p.parse_args(['dashboards', '--out', {str(tmp_path / 'b')!r}, '--hit-ratio-min', '0.6'])))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr  # defaults: 0; a changed flag without the SDK: 1
    assert result.stderr == (
        "anthropic-otel dashboards: rendering dashboards with non-default flags needs "
        "grafana-foundation-sdk: pip install 'anthropic-otel[dashboards]'\n"
    )
    assert (tmp_path / "a" / "prometheus" / "anthropic-alerts.rules.yaml").is_file()


def test_cli_flags_change_thresholds_and_selectors(tmp_path: Path) -> None:
    assert (
        _run(
            "--out",
            str(tmp_path),
            "--hit-ratio-min",
            "0.6",
            "--job",
            "api|worker",
            "--overload-rate-max",
            "0.05",
            "--ratelimit-headroom-min",
            "0.2",
        )
        == 0
    )
    rules = (tmp_path / "prometheus" / "anthropic-alerts.rules.yaml").read_text()
    assert ") < 0.6\n" in rules and ") > 0.05\n" in rules and ") < 0.2\n" in rules
    assert 'job=~"api|worker"' in rules
    result = subprocess.run(
        [_promtool(), "check", "rules", str(tmp_path / "prometheus" / "anthropic-alerts.rules.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_spend_flag_adds_the_spend_rule(tmp_path: Path) -> None:
    assert _run("--out", str(tmp_path), "--spend-per-hour-max", "1234567.5") == 0
    rules = (tmp_path / "prometheus" / "anthropic-alerts.rules.yaml").read_text()
    # Not rounded to %g's 6 digits (1.23457e+06).
    assert f"alert: {SPEND}" in rules and ") > 1234567.5\n" in rules
    assert "budget 1234567.5 USD/h" in rules
    assert f"title: {SPEND}" in (tmp_path / "grafana-alerting" / "anthropic-alerts.yaml").read_text()
    result = subprocess.run(
        [_promtool(), "check", "rules", str(tmp_path / "prometheus" / "anthropic-alerts.rules.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "SUCCESS: 12 rules found" in result.stdout, (
        result.stdout + result.stderr
    )


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--hit-ratio-min", "50", "strictly between 0 and 1"),
        ("--stream-drop-rate-max", "abc", "expects a ratio"),
        ("--duplicate-rate-max", "0", "strictly between 0 and 1"),
        ("--spend-per-hour-max", "0", "positive number of USD"),
        ("--spend-per-hour-max", "-5", "positive number of USD"),
        ("--spend-per-hour-max", "inf", "positive number of USD"),
        ("--spend-per-hour-max", "ten", "expects USD per hour"),
    ],
)
def test_cli_rejects_bad_ratios(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _run("--out", "unused", flag, value)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and message in err


@pytest.mark.parametrize(
    ("flag", "value"), [("--datasource-uid", "has space"), ("--job", 'a"b'), ("--job", "(unclosed")]
)
def test_cli_rejects_bad_selectors(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("--out", "unused", flag, value) == 2
    assert "anthropic-otel dashboards:" in capsys.readouterr().err


def test_options_validate() -> None:
    with pytest.raises(OptionError):
        Options(hit_ratio_min=1.5)
    for spend in (0, -1.0, float("nan"), True):
        with pytest.raises(OptionError, match="spend per hour"):
            Options(spend_per_hour_max=spend)
    assert not WITH_SPEND.is_default()
    assert Options().is_default() and not Options(job="x").is_default()


def test_readme_lists_every_panel() -> None:
    readme = (ROOT / "dashboards" / "README.md").read_text()
    for board in _catalog.dashboards(Options()):
        for panel in board.panels:
            assert f"| {panel.title} |" in readme, panel.title


def test_ratelimit_kinds_are_the_ones_the_headers_name() -> None:
    from anthropic_otel.extract import ratelimit

    assert {*_promql.RATELIMIT_TOKEN_TYPES, _promql.RATELIMIT_REQUESTS} == set(ratelimit._BASE_KINDS)
