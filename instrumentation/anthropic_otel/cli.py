"""The `anthropic-otel` command: demo, fake-api, dashboards, reference."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parse_rates(specs: Sequence[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            if not sep:
                raise ValueError
            rates[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(
                f"anthropic-otel: --fault expects NAME=RATE (e.g. overloaded=0.02), got {spec!r}"
            ) from None
    return rates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="anthropic-otel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run a workload against the built-in fake API and print the metrics")
    fake_api = commands.add_parser("fake-api", help="serve the fault-injecting fake Anthropic API over HTTP")
    fake_api.add_argument("--host", default="127.0.0.1")
    fake_api.add_argument("--port", type=int, default=8765)
    fake_api.add_argument("--seed", type=int, default=None)
    fake_api.add_argument("--fault", action="append", default=[], metavar="NAME=RATE")
    commands.add_parser("reference", help="print docs/telemetry.md, the reference of every emitted name")
    # Light to import: the Grafana SDK is only imported when flags change the shipped files.
    from .grafana import cli as dashboards_cli

    dashboards_cli.add_parser(commands)
    args = parser.parse_args(argv)

    if args.command == "demo":
        from .demo import main as demo_main

        return demo_main()
    if args.command == "fake-api":
        from .fake.server import serve

        serve(host=args.host, port=args.port, seed=args.seed, fault_rates=_parse_rates(args.fault))
        return 0
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
