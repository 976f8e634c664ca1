"""The `anthropic-otel` command: demo, fake-api, dashboards, reference."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence

# What each command that needs the demo extra imports, checked before it starts.
_DEMO_MODULES = ("anthropic", "opentelemetry.sdk", "rich")
_FAKE_API_MODULES = ("starlette", "uvicorn")


def _missing(modules: Sequence[str]) -> str | None:
    """The first of `modules` that is not installed, or None."""
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except ModuleNotFoundError:  # a parent package is missing
            return name
    return None


def _needs_demo_extra(command: str, modules: Sequence[str], hint: str) -> bool:
    missing = _missing(modules)
    if missing is not None:
        print(
            f"anthropic-otel {command} needs the demo extra ({missing} is not installed): {hint}",
            file=sys.stderr,
        )
    return missing is not None


def main(argv: Sequence[str] | None = None) -> int:
    from .fake import __main__ as fake_cli

    # Light to import: the Grafana SDK is only imported when flags change the shipped files.
    from .grafana import cli as dashboards_cli

    parser = argparse.ArgumentParser(prog="anthropic-otel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo",
        help="run a workload against the built-in fake API and print the metrics (needs the demo extra)",
        description="Run a workload through the real anthropic SDK against the in-process fake API and "
        f"print what the instrumentation recorded. Needs the demo extra: {fake_cli.DEMO_EXTRA_HINT}",
    )
    fake_api = commands.add_parser(
        "fake-api",
        help="serve the fault-injecting fake Anthropic API over HTTP (needs the demo extra)",
        description="Serve the fault-injecting fake Anthropic Messages API over HTTP. Needs the demo "
        f"extra: {fake_cli.DEMO_EXTRA_HINT}",
    )
    fake_cli.add_arguments(fake_api)
    commands.add_parser("reference", help="print docs/telemetry.md, the reference of every emitted name")
    dashboards_cli.add_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "demo":
        if _needs_demo_extra("demo", _DEMO_MODULES, fake_cli.DEMO_EXTRA_HINT):
            return 1
        from .demo import main as demo_main

        return demo_main()
    if args.command == "fake-api":
        if _needs_demo_extra("fake-api", _FAKE_API_MODULES, fake_cli.DEMO_EXTRA_HINT):
            return 1
        return fake_cli.run(args, fake_api)
    if args.command == "dashboards":
        return dashboards_cli.run(args)
    if args.command == "reference":
        from ._reference import render

        sys.stdout.write(render())
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
