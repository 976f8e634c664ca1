"""`python -m anthropic_otel.fake --port N [--seed S] [--fault overloaded=0.02 ...]`: run the fake
Anthropic API over HTTP (the `anthropic-otel fake-api` CLI calls the same `serve`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .engine import Fault
from .server import serve


def parse_fault(spec: str) -> tuple[Fault, float]:
    """Parse `NAME=RATE`, e.g. `overloaded=0.02` or `529=0.02`."""
    name, sep, rate = spec.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=RATE, got {spec!r}")
    try:
        return Fault.parse(name), float(rate)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad fault spec {spec!r}: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m anthropic_otel.fake",
        description="Run the fault-injecting fake Anthropic Messages API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=None, help="seed for random faults")
    parser.add_argument(
        "--fault",
        action="append",
        type=parse_fault,
        default=[],
        metavar="NAME=RATE",
        help=f"random fault rate, repeatable; names: {', '.join(f.value for f in Fault)}",
    )
    parser.add_argument("--output-tokens", type=int, default=12, help="default reply length in tokens")
    parser.add_argument(
        "--retry-after-ms",
        type=int,
        default=1,
        help="retry-after-ms sent on 429/5xx (the real API does not send it); -1 omits it",
    )
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    rates: dict[str | Fault, float] = {}
    for fault, rate in args.fault:
        rates[fault] = rate
    serve(
        args.host,
        args.port,
        args.seed,
        rates,
        log_level=args.log_level,
        output_tokens=args.output_tokens,
        retry_after_ms=None if args.retry_after_ms < 0 else args.retry_after_ms,
    )


if __name__ == "__main__":
    main()
