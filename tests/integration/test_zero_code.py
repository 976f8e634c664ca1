"""`opentelemetry-instrument python app.py` picks the instrumentor up through its entry point.

The app script contains no telemetry code; the console exporters print what was recorded and the
test reads the exact values back. Derivation: system 400 chars -> 100 tokens (5m breakpoint),
"hello" -> 2 tokens, reply 12 tokens; call 1 writes the prefix, call 2 reads it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
SCRIPT = SCRIPTS / "zero_code_app.py"


def _json_documents(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    docs, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                doc, end = decoder.raw_decode(text, i)
                docs.append(doc)
                i = end
                continue
            except ValueError:
                pass
        i += 1
    return docs


def _run_instrumented(script: Path, **extra_env: str) -> str:
    """`opentelemetry-instrument python script` with console exporters; returns its stdout."""
    instrument = Path(sys.executable).parent / "opentelemetry-instrument"
    if not instrument.exists():
        pytest.skip(
            "opentelemetry-instrument is not installed in this venv (it comes with opentelemetry-distro)"
        )
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "console",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",
        "OTEL_SERVICE_NAME": "zero-code-test",
        "PYTHONWARNINGS": "ignore",
        **extra_env,
    }
    done = subprocess.run(
        [str(instrument), sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "app done" in done.stdout
    return done.stdout


def _metric_points(docs: list[Any], name: str) -> list[Any]:
    return [
        point
        for doc in docs
        if "resource_metrics" in doc
        for rm in doc["resource_metrics"]
        for sm in rm["scope_metrics"]
        for metric in sm["metrics"]
        if metric["name"] == name
        for point in metric["data"]["data_points"]
    ]


def test_opentelemetry_instrument_zero_code_change() -> None:
    stdout = _run_instrumented(SCRIPT)

    tokens: dict[str, float] = {}
    spans: list[Any] = []
    for doc in _json_documents(stdout):
        if "resource_metrics" in doc:
            for rm in doc["resource_metrics"]:
                for sm in rm["scope_metrics"]:
                    for metric in sm["metrics"]:
                        if metric["name"] == "anthropic.tokens":
                            for point in metric["data"]["data_points"]:
                                kind = point["attributes"]["anthropic.token.type"]
                                tokens[kind] = tokens.get(kind, 0) + point["value"]
        elif "context" in doc and "name" in doc:
            spans.append(doc)
    assert tokens == {"input": 4, "output": 24, "cache_write_5m": 100, "cache_read": 100}
    calls = [s for s in spans if s["attributes"].get("gen_ai.request.model") == "claude-haiku-4-5"]
    assert len(calls) == 2, [s["name"] for s in spans]
    assert [s["attributes"]["anthropic.cache.hit_ratio"] for s in calls] == [0.0, 1.0]


def test_a_stream_still_open_at_exit_is_recorded_before_the_providers_shut_down() -> None:
    # Our own span (the SDK's tracing off): the SDK's span of a stream never closed is the SDK's to end.
    docs = _json_documents(
        _run_instrumented(SCRIPTS / "stream_left_open_app.py", ANTHROPIC_OPEN_TELEMETRY="false")
    )
    streams = _metric_points(docs, "anthropic.streams")
    assert [(p["attributes"]["anthropic.stream.end_reason"], p["value"]) for p in streams] == [
        ("abandoned", 1)
    ]
    assert [p["value"] for p in _metric_points(docs, "anthropic.streams.active")] == [0]
    spans = [d for d in docs if "context" in d and "name" in d]
    assert [s["attributes"]["anthropic.stream.end_reason"] for s in spans] == ["abandoned"]
    assert spans[0]["attributes"]["anthropic.stream.partial_output_tokens"] == 1
