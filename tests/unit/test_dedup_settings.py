"""The dedup flush timeout setting: how long `uninstrument()` may wait for queued Redis operations."""

from __future__ import annotations

import logging

import pytest
from anthropic_otel import semconv
from anthropic_otel.settings import Settings, load_settings


def test_default_is_two_seconds_and_zero_means_do_not_wait() -> None:
    assert Settings().dedup_flush_timeout_s == 2.0
    assert load_settings({semconv.ENV_DEDUP_FLUSH_TIMEOUT_S: "0"}).dedup_flush_timeout_s == 0.0
    assert load_settings({semconv.ENV_DEDUP_FLUSH_TIMEOUT_S: "0.25"}).dedup_flush_timeout_s == 0.25
    assert load_settings({}, dedup_flush_timeout_s=0).dedup_flush_timeout_s == 0.0
    assert (
        load_settings({semconv.ENV_DEDUP_FLUSH_TIMEOUT_S: "5"}, dedup_flush_timeout_s=1).dedup_flush_timeout_s
        == 1.0
    )


@pytest.mark.parametrize("value", ["-1", "inf", "nan", "soon"])
def test_invalid_values_warn_naming_the_variable_and_use_the_default(
    caplog: pytest.LogCaptureFixture, value: str
) -> None:
    with caplog.at_level(logging.WARNING, logger=semconv.LOGGER):
        settings = load_settings({semconv.ENV_DEDUP_FLUSH_TIMEOUT_S: value})
    assert settings.dedup_flush_timeout_s == 2.0
    assert len(caplog.records) == 1
    assert "ANTHROPIC_OTEL_DEDUP_FLUSH_TIMEOUT_S" in caplog.records[0].getMessage()
    assert repr(value) in caplog.records[0].getMessage()
