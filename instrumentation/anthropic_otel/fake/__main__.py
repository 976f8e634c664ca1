"""`anthropic-otel fake-api` (also `python -m anthropic_otel.fake`): serve the fault-injecting fake
Anthropic API over HTTP. One set of options for both entry points; a bad option ends with one line
naming the valid values, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .engine import FAULT_ALIASES, HEADER_FAULTS, Fault

# Faults a random rate can pick: `ok` is what is left over.
_RATE_FAULTS = tuple(fault.value for fault in Fault if fault is not Fault.OK)
_ALIASES = ", ".join(
    f"{alias}={fault.value}" for alias, fault in FAULT_ALIASES.items() if fault is not Fault.OK
)
DEMO_EXTRA_HINT = "pip install 'anthropic-otel[demo]'"


def parse_fault(spec: str) -> tuple[Fault, float]:
    """Parse `NAME=RATE`, e.g. `overloaded=0.02` or `529=0.02`; the error names the valid values."""
    name, sep, rate_text = spec.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=RATE (e.g. overloaded=0.02), got {spec!r}")
    try:
        fault = Fault.parse(name)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown fault {name.strip()!r} in {spec!r}; valid: {', '.join(_RATE_FAULTS)} "
            f"(aliases {_ALIASES})"
        ) from None
    if fault is Fault.OK:
        raise argparse.ArgumentTypeError(f"{spec!r}: `ok` is not a fault; give the rates of the faults")
    try:
        rate = float(rate_text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError(
            f"{spec!r}: the rate is a probability per request between 0 and 1 (0.02 = 2 %), got {rate_text!r}"
        )
    return fault, rate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default %(default)s)")
    parser.add_argument(
        "--fault",
        action="append",
        type=parse_fault,
        default=[],
        metavar="NAME=RATE",
        help=f"answer this share of requests with a fault, repeatable (rates add up to at most 1); "
        f"names: {', '.join(_RATE_FAULTS)}. A request can also script its own faults, one per "
        f"attempt, with the header `{HEADER_FAULTS}: overloaded,ok`",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the random faults (reproducible runs)"
    )
    parser.add_argument(
        "--output-tokens", type=int, default=12, help="reply length in tokens (default %(default)s)"
    )
    parser.add_argument(
        "--retry-after-ms",
        type=int,
        default=1,
        help="retry-after-ms sent on 429/5xx so SDK retries wait 1 ms (the real API does not send it); "
        "-1 omits it (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no request log, only warnings")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m anthropic_otel.fake",
        description="Run the fault-injecting fake Anthropic Messages API over HTTP.",
    )
    add_arguments(parser)
    return parser


def startup_line(args: argparse.Namespace) -> str:
    faults = ", ".join(f"{fault.value} {rate:.2%}" for fault, rate in args.fault) or "none"
    url = f"http://{args.host}:{args.port}"
    return (
        f"anthropic-otel fake-api: serving the fake Anthropic API on {url} (random faults: {faults}; "
        f"seed {args.seed}). Point a client at it: ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=fake"
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if sum(rate for _fault, rate in args.fault) > 1.0 + 1e-9:
        parser.error("the --fault rates add up to more than 1")
    from .server import serve

    print(startup_line(args), file=sys.stderr, flush=True)
    serve(
        args.host,
        args.port,
        args.seed,
        dict(args.fault),
        log_level="warning" if args.quiet else "info",
        access_log=not args.quiet,
        output_tokens=args.output_tokens,
        retry_after_ms=None if args.retry_after_ms < 0 else args.retry_after_ms,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    return run(parser.parse_args(argv), parser)


if __name__ == "__main__":
    raise SystemExit(main())
