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

SCRIPT = Path(__file__).parent / "scripts" / "zero_code_app.py"


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


def test_opentelemetry_instrument_zero_code_change() -> None:
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
    }
    done = subprocess.run(
        [str(instrument), sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "app done" in done.stdout

    tokens: dict[str, float] = {}
    spans: list[Any] = []
    for doc in _json_documents(done.stdout):
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
