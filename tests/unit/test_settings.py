import logging

import pytest
from anthropic_otel.settings import Settings, load_setting, load_settings


def test_defaults_with_empty_environment() -> None:
    assert load_settings({}) == Settings()


def test_environment_values_are_parsed() -> None:
    s = load_settings(
        {
            "ANTHROPIC_OTEL_CAPTURE_CONTENT": "true",
            "ANTHROPIC_OTEL_DEDUP": "Redis",
            "ANTHROPIC_OTEL_DEDUP_WINDOW_S": "86400",
            "ANTHROPIC_OTEL_STREAM_IDLE_TIMEOUT_S": "0.5",
            "ANTHROPIC_OTEL_STREAM_IDLE_ENFORCE": "1",
            "ANTHROPIC_OTEL_PRICES_FILE": "/etc/prices.toml",
        }
    )
    assert s.capture_content is True
    assert s.dedup == "redis"
    assert s.dedup_window_s == 86400.0
    assert s.stream_idle_timeout_s == 0.5
    assert s.stream_idle_enforce is True
    assert s.prices_file == "/etc/prices.toml"


def test_keyword_arguments_override_environment() -> None:
    s = load_settings(
        {"ANTHROPIC_OTEL_CAPTURE_CONTENT": "true"}, capture_content=False, stream_idle_timeout_s=2
    )
    assert s.capture_content is False
    assert s.stream_idle_timeout_s == 2.0


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("ANTHROPIC_OTEL_CAPTURE_CONTENT", "maybe", "capture_content"),
        ("ANTHROPIC_OTEL_DEDUP", "postgres", "dedup"),
        ("ANTHROPIC_OTEL_DEDUP_WINDOW_S", "-5", "dedup_window_s"),
        ("ANTHROPIC_OTEL_STREAM_IDLE_TIMEOUT_S", "soon", "stream_idle_timeout_s"),
        ("ANTHROPIC_OTEL_STREAM_IDLE_TIMEOUT_S", "inf", "stream_idle_timeout_s"),
    ],
)
def test_invalid_value_warns_once_naming_the_variable_and_uses_the_default(
    caplog: pytest.LogCaptureFixture, variable: str, value: str, field: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        s = load_settings({variable: value})
    assert getattr(s, field) == getattr(Settings(), field)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert variable in warnings[0].getMessage() and repr(value) in warnings[0].getMessage()


def test_unknown_keyword_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        load_settings({}, capture_contnet=True, meter_provider=None)
    assert ["capture_contnet" in r.getMessage() for r in caplog.records] == [True]


@pytest.mark.parametrize(
    ("raw", "latest"),
    [
        ("gen_ai_latest_experimental", True),
        ("http, GEN_AI_LATEST_EXPERIMENTAL ,database", True),
        ("http", False),
        ("gen_ai", False),
        ("", False),
    ],
)
def test_the_semconv_opt_in_is_read_from_otels_list(raw: str, latest: bool) -> None:
    assert load_settings({"OTEL_SEMCONV_STABILITY_OPT_IN": raw}).genai_latest is latest


def test_the_semconv_opt_in_can_be_a_keyword_switch() -> None:
    assert load_settings({}, genai_latest=True).genai_latest is True
    assert (
        load_settings(
            {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}, genai_latest=False
        ).genai_latest
        is False
    )


def test_one_setting_is_read_and_checked_alone(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "ANTHROPIC_OTEL_PRICES_FILE": " /etc/prices.toml ",
        "ANTHROPIC_OTEL_DEDUP_HMAC_KEY": "",
        "ANTHROPIC_OTEL_DEDUP_WINDOW_S": "soon",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only",
    }
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        assert load_setting("prices_file", env) == "/etc/prices.toml"
        assert load_setting("dedup_hmac_key", env) is None
        assert load_setting("capture_content", env) is True
        assert caplog.records == []  # the bad window is not theirs to warn about
        assert load_setting("dedup_window_s", env) == 600.0
    assert ["ANTHROPIC_OTEL_DEDUP_WINDOW_S='soon'" in r.getMessage() for r in caplog.records] == [True]
