"""docs/telemetry.md is generated from semconv.py; this fails when they drift apart."""

import re
from pathlib import Path

from anthropic_otel import semconv
from anthropic_otel._reference import render

ROOT = Path(__file__).resolve().parents[2]


def test_reference_doc_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "telemetry.md").read_text()
    assert committed == render(), "run: anthropic-otel reference > docs/telemetry.md"


def test_every_instrument_is_documented() -> None:
    text = render()
    for spec in semconv.INSTRUMENTS + semconv.PLANNED_INSTRUMENTS:
        assert f"`{spec.name}`" in text


def test_no_telemetry_name_is_spelled_outside_semconv() -> None:
    pattern = re.compile(r"[\"'](anthropic|gen_ai)\.[a-z_]+\.[a-z_.]+[\"']")
    offenders = [
        f"{path.name}: {m.group(0)}"
        for path in (ROOT / "instrumentation" / "anthropic_otel").rglob("*.py")
        if path.name != "semconv.py"
        for m in pattern.finditer(path.read_text())
    ]
    assert offenders == []
