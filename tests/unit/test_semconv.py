"""semconv.py holds names the package uses, once each."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from anthropic_otel import semconv
from anthropic_otel.semconv import COUNTER, GAUGE, HISTOGRAM, UPDOWN, Instrument

PACKAGE = Path(__file__).resolve().parents[2] / "instrumentation" / "anthropic_otel"


def test_every_name_in_semconv_is_used() -> None:
    # A name only defined (spelled once in the whole package) is dead: nothing emits or reads it.
    sources = [path.read_text() for path in PACKAGE.rglob("*.py")]
    dead = [
        name
        for name in vars(semconv)
        if name.isupper() and sum(len(re.findall(rf"\b{name}\b", text)) for text in sources) < 2
    ]
    assert dead == []


@pytest.mark.parametrize(
    ("instrument", "expected"),
    [
        (semconv.GEN_AI_CLIENT_OPERATION_DURATION, "gen_ai_client_operation_duration_seconds"),
        (semconv.GEN_AI_CLIENT_TOKEN_USAGE, "gen_ai_client_token_usage"),
        (semconv.ANTHROPIC_TOKENS, "anthropic_tokens_total"),
        (semconv.ANTHROPIC_COST, "anthropic_cost_usd_total"),
        (semconv.ANTHROPIC_STREAMS_ACTIVE, "anthropic_streams_active"),
        (semconv.ANTHROPIC_CACHE_SYSTEM_VARIANTS, "anthropic_cache_system_variants"),
        # Units in braces are annotations: no suffix, whatever the name ends with.
        (Instrument("x.spend", COUNTER, "{USD}", "", ()), "x_spend_total"),
        (Instrument("x.wait", HISTOGRAM, "ms", "", ()), "x_wait_milliseconds"),
        (Instrument("x.body", UPDOWN, "By", "", ()), "x_body_bytes"),
        (Instrument("x.hit", GAUGE, "1", "", ()), "x_hit_ratio"),
        # A name already ending in its suffixes does not get them twice.
        (Instrument("x.wait_seconds", COUNTER, "s", "", ()), "x_wait_seconds_total"),
        (Instrument("x.calls_total", COUNTER, "{call}", "", ()), "x_calls_total"),
    ],
)
def test_prometheus_name(instrument: Instrument, expected: str) -> None:
    assert semconv.prometheus_name(instrument) == expected


def _log_calls(tree: ast.AST) -> list[ast.Call]:
    levels = {"debug", "info", "warning", "error", "exception", "critical"}
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in levels
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id.endswith("log")
    ]


def test_every_log_message_starts_with_the_one_prefix() -> None:
    unprefixed = []
    calls = 0
    for path in PACKAGE.rglob("*.py"):
        for call in _log_calls(ast.parse(path.read_text())):
            calls += 1
            message = call.args[0]
            prefix = message.left if isinstance(message, ast.BinOp) else None
            if not (
                isinstance(prefix, ast.Name)
                and prefix.id == "LOG_PREFIX"
                or isinstance(prefix, ast.Attribute)
                and prefix.attr == "LOG_PREFIX"
            ):
                unprefixed.append(f"{path.name}:{call.lineno}")
    assert calls >= 15  # the walk does find the package's log calls
    assert unprefixed == []
    assert semconv.LOG_PREFIX == "anthropic-otel: "
