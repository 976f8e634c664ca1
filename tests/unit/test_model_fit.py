"""Model fit settings and decisions, apart from any SDK: the per-model memo and the cost comparison."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from anthropic_otel.extract.usage import Usage
from anthropic_otel.pricing import ModelPrice, PriceTable
from anthropic_otel.settings import Settings, load_settings
from anthropic_otel.state.model_fit import ModelFit


class _Recorded:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float, float]] = []

    def model_fit(self, model: str, cheaper_model: str, cost: float, cheaper_cost: float) -> None:
        self.calls.append((model, cheaper_model, cost, cheaper_cost))


def _fit(prices: PriceTable | None = None, cheaper: str = "claude-haiku-4-5", limit: int = 64) -> Any:
    recorded = _Recorded()
    table = prices or PriceTable()
    return ModelFit(table, recorded, cheaper, limit), recorded, table  # type: ignore[arg-type]


def _usage(input: int = 100, output: int = 3, write_5m: int = 0, read: int = 0) -> Usage:
    return Usage(input, output, write_5m, 0, read)


def test_settings_defaults_environment_and_keywords() -> None:
    assert (Settings().model_fit_max_output_tokens, Settings().model_fit_cheaper_model) == (
        64,
        "claude-haiku-4-5",
    )
    s = load_settings(
        {
            "ANTHROPIC_OTEL_MODEL_FIT_MAX_OUTPUT_TOKENS": "16",
            "ANTHROPIC_OTEL_MODEL_FIT_CHEAPER_MODEL": " claude-sonnet-4-6 ",
        }
    )
    assert (s.model_fit_max_output_tokens, s.model_fit_cheaper_model) == (16, "claude-sonnet-4-6")
    s = load_settings({}, model_fit_max_output_tokens=0, model_fit_cheaper_model="claude-haiku-5")
    assert (s.model_fit_max_output_tokens, s.model_fit_cheaper_model) == (0, "claude-haiku-5")


@pytest.mark.parametrize("raw", ["-1", "2.5", "many", "inf"])
def test_an_invalid_threshold_warns_and_keeps_the_default(raw: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        s = load_settings(
            {"ANTHROPIC_OTEL_MODEL_FIT_MAX_OUTPUT_TOKENS": raw, "ANTHROPIC_OTEL_MODEL_FIT_CHEAPER_MODEL": " "}
        )
    assert (s.model_fit_max_output_tokens, s.model_fit_cheaper_model) == (64, "claude-haiku-4-5")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "ANTHROPIC_OTEL_MODEL_FIT_MAX_OUTPUT_TOKENS" in messages[0]
    assert "ANTHROPIC_OTEL_MODEL_FIT_CHEAPER_MODEL" in messages[1]


def test_a_pricier_model_is_counted_with_both_costs() -> None:
    fit, recorded, table = _fit()
    usage = _usage()
    cost = table.cost(usage, "claude-sonnet-4-6")
    assert cost is not None
    fit.call_succeeded("claude-sonnet-4-6", usage, cost)
    # Sonnet 100 x 3e-6 + 3 x 15e-6 = 345e-6; Haiku 100 x 1e-6 + 3 x 5e-6 = 115e-6.
    [(model, cheaper, usd, cheaper_usd)] = recorded.calls
    assert (model, cheaper) == ("claude-sonnet-4-6", "claude-haiku-4-5")
    assert usd == pytest.approx(345e-6, rel=1e-9)
    assert cheaper_usd == pytest.approx(115e-6, rel=1e-9)


def test_the_decision_is_memoised_per_model() -> None:
    fit, recorded, table = _fit()
    usage = _usage()
    for model in ("claude-sonnet-4-6", "claude-haiku-4-5", "claude-3-haiku", "claude-sonnet-4-6"):
        cost = table.cost(usage, model)
        assert cost is not None
        fit.call_succeeded(model, usage, cost)
    # Claude 3 Haiku costs less than Haiku 4.5 on every kind: never pricier; Haiku 4.5 is not pricier than itself.
    assert fit._pricier == {"claude-sonnet-4-6": True, "claude-haiku-4-5": False, "claude-3-haiku": False}
    assert [c[0] for c in recorded.calls] == ["claude-sonnet-4-6", "claude-sonnet-4-6"]


def test_a_model_pricier_on_one_kind_counts_only_calls_that_cost_more() -> None:
    # A made-up model: input dearer than Haiku ($2 vs $1), output cheaper ($1 vs $5).
    prices = {
        "claude-haiku-4-5": ModelPrice.per_million(1.0, 5.0),
        "claude-odd-1": ModelPrice.per_million(2.0, 1.0),
    }
    fit, recorded, table = _fit(PriceTable(prices))
    long_prompt, chatty = _usage(input=100, output=3), _usage(input=1, output=60)
    for usage in (long_prompt, chatty):
        cost = table.cost(usage, "claude-odd-1")
        assert cost is not None
        fit.call_succeeded("claude-odd-1", usage, cost)
    # 100 x 2 + 3 x 1 = 203e-6 > 100 x 1 + 3 x 5 = 115e-6: counted.  1 x 2 + 60 x 1 = 62e-6 < 1 + 300 = 301e-6: not.
    assert [(c[2], c[3]) for c in recorded.calls] == [(pytest.approx(203e-6), pytest.approx(115e-6))]


def test_output_over_the_threshold_is_not_looked_up() -> None:
    fit, recorded, table = _fit(limit=2)
    usage = _usage(output=3)
    cost = table.cost(usage, "claude-sonnet-4-6")
    assert cost is not None
    fit.call_succeeded("claude-sonnet-4-6", usage, cost)
    assert (recorded.calls, fit._pricier) == ([], {})


def test_an_unknown_cheaper_model_disables_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="anthropic_otel"):
        fit, _, _ = _fit(cheaper="claude-tiny-9")
    assert fit.enabled is False
    [message] = [r.getMessage() for r in caplog.records]
    assert "ANTHROPIC_OTEL_MODEL_FIT_CHEAPER_MODEL='claude-tiny-9'" in message
    assert "ANTHROPIC_OTEL_PRICES_FILE" in message
