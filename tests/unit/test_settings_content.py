"""Content settings: the capture limit, and the GenAI instrumentations' standard content switch."""

from __future__ import annotations

import logging

import pytest
from anthropic_otel.settings import Settings, load_settings

STANDARD = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
OURS = "ANTHROPIC_OTEL_CAPTURE_CONTENT"
LIMIT = "ANTHROPIC_OTEL_CAPTURE_CONTENT_MAX_CHARS"


def test_defaults() -> None:
    assert Settings().capture_content is False
    assert Settings().capture_content_max_chars == 16384


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("false", False),
        ("span_only", True),
        ("EVENT_ONLY", True),
        ("SPAN_AND_EVENT", True),
        ("NO_CONTENT", False),
    ],
)
def test_standard_switch_decides_when_ours_is_unset(value: str, expected: bool) -> None:
    assert load_settings({STANDARD: value}).capture_content is expected


def test_ours_wins_over_the_standard_switch_both_ways() -> None:
    assert load_settings({STANDARD: "true", OURS: "false"}).capture_content is False
    assert load_settings({STANDARD: "NO_CONTENT", OURS: "true"}).capture_content is True
    assert load_settings({STANDARD: "true"}, capture_content=False).capture_content is False


def test_invalid_standard_switch_warns_once_and_keeps_capture_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        s = load_settings({STANDARD: "sometimes"})
    assert s.capture_content is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert STANDARD in warnings[0] and "'sometimes'" in warnings[0]


@pytest.mark.parametrize(("raw", "expected"), [("64", 64), ("100000", 100000), ("2048.0", 2048)])
def test_limit_from_environment(raw: str, expected: int) -> None:
    assert load_settings({LIMIT: raw}).capture_content_max_chars == expected


def test_limit_from_keyword() -> None:
    assert load_settings({LIMIT: "100"}, capture_content_max_chars=500).capture_content_max_chars == 500


@pytest.mark.parametrize("raw", ["63", "0", "-5", "12.5", "inf", "nan", "lots"])
def test_invalid_limit_warns_once_and_uses_the_default(caplog: pytest.LogCaptureFixture, raw: str) -> None:
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        s = load_settings({LIMIT: raw})
    assert s.capture_content_max_chars == 16384
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert LIMIT in warnings[0] and repr(raw) in warnings[0]
