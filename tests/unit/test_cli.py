"""The `anthropic-otel` command as a newcomer meets it: clear one-line errors naming the valid values
or the fix, never a traceback, and a summary of what was done."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from anthropic_otel import cli
from anthropic_otel._setup_check import warn_if_nothing_exports
from anthropic_otel.fake import __main__ as fake_cli
from anthropic_otel.fake.engine import Fault


def _fake_api_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main(["fake-api", *argv])
    assert exc.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


def test_unknown_fault_names_every_valid_one(capsys: pytest.CaptureFixture[str]) -> None:
    line = _fake_api_error(capsys, "--fault", "nosuchfault=0.1")
    assert "unknown fault 'nosuchfault'" in line
    for fault in Fault:
        assert (fault.value in line) is (fault is not Fault.OK)
    assert "529=overloaded" in line


@pytest.mark.parametrize("spec", ["overloaded=7", "overloaded=-0.1", "overloaded=abc", "overloaded=nan"])
def test_a_rate_is_a_probability(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    assert "between 0 and 1" in _fake_api_error(capsys, "--fault", spec)


def test_rates_may_not_add_up_past_one(capsys: pytest.CaptureFixture[str]) -> None:
    line = _fake_api_error(capsys, "--fault", "overloaded=0.6", "--fault", "529=0.5")
    assert line.endswith("the --fault rates add up to more than 1")


def test_fault_spec_needs_a_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert "expected NAME=RATE" in _fake_api_error(capsys, "--fault", "overloaded")


def test_startup_line_names_the_url_and_the_faults() -> None:
    parser = fake_cli.build_parser()
    args = parser.parse_args(["--port", "9999", "--fault", "529=0.02", "--seed", "3"])
    assert fake_cli.startup_line(args) == (
        "anthropic-otel fake-api: serving the fake Anthropic API on http://127.0.0.1:9999 (random faults: "
        "overloaded 2.00%; seed 3). Point a client at it: ANTHROPIC_BASE_URL=http://127.0.0.1:9999 "
        "ANTHROPIC_API_KEY=fake"
    )


def test_help_describes_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["fake-api", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for option in ("--host", "--port", "--fault", "--seed", "--output-tokens", "--retry-after-ms", "--quiet"):
        assert option in out
    assert "connection_reset" in out and "one per attempt" in out and "[demo]" in out


@pytest.mark.parametrize(("command", "module"), [("demo", "rich"), ("fake-api", "uvicorn")])
def test_a_missing_extra_is_named_in_one_line(command: str, module: str) -> None:
    code = f"import sys; sys.modules[{module!r}] = None\nfrom anthropic_otel import cli\nsys.exit(cli.main([{command!r}]))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == (
        f"anthropic-otel {command} needs the demo extra ({module} is not installed): "
        "pip install 'anthropic-otel[demo]'\n"
    )


def test_dashboards_into_an_impossible_directory_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli.main(["dashboards", "--out", str(blocker / "x")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"anthropic-otel dashboards: cannot write into {blocker / 'x'}: ")
    assert captured.err.count("\n") == 1 and "--out" in captured.err


def test_dashboards_summarises_what_it_wrote_and_how_to_use_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["dashboards", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert out.splitlines()[0] == f"anthropic-otel dashboards: wrote {len(files)} files into {tmp_path}"
    for path in files:
        assert path.name in out
    assert "Dashboards > New > Import" in out and "rule_files" in out and "promtool check rules" in out


def test_no_warning_when_a_provider_is_passed() -> None:
    assert warn_if_nothing_exports({"meter_provider": object()}) is False


def test_warns_under_opentelemetry_instrument_without_an_sdk() -> None:
    # The auto-instrumentation module loaded, no configurator ran: the API's placeholder providers.
    code = (
        "import opentelemetry.instrumentation.auto_instrumentation\n"
        "from anthropic_otel import AnthropicInstrumentor\n"
        "AnthropicInstrumentor().instrument(); AnthropicInstrumentor().uninstrument()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("no OpenTelemetry SDK is configured") == 1
    assert "pip install 'anthropic-otel[otlp]'" in result.stderr


def test_no_warning_outside_opentelemetry_instrument() -> None:
    code = (
        "from anthropic_otel import AnthropicInstrumentor\n"
        "AnthropicInstrumentor().instrument(); AnthropicInstrumentor().uninstrument()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == ""


def test_parser_is_shared_by_both_entry_points() -> None:
    parser = argparse.ArgumentParser()
    fake_cli.add_arguments(parser)
    assert parser.parse_args(["--fault", "429=0.5"]).fault == [(Fault.RATE_LIMITED, 0.5)]
