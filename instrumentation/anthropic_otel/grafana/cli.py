"""`anthropic-otel dashboards --out DIR [flags]`: write the dashboards, Grafana alerts and Prometheus rules.

With default flags the pre-rendered files shipped in the package are copied (no Grafana SDK
needed); any flag that changes the output renders afresh with grafana-foundation-sdk.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

from ._options import OptionError, Options


def _ratio(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} expects a ratio like 0.05 (= 5 %), got {text!r}"
            ) from None
        if not 0.0 < value < 1.0:
            raise argparse.ArgumentTypeError(
                f"{flag} must be strictly between 0 and 1 (0.05 = 5 %), got {text!r}"
            )
        return value

    return parse


def _usd(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} expects USD per hour like 25, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(
                f"{flag} must be a positive number of USD per hour, got {text!r}"
            )
        return value

    return parse


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    d = Options()
    p: argparse.ArgumentParser = subparsers.add_parser(
        "dashboards",
        help="write Grafana dashboards, Grafana alert rules and Prometheus rules",
        description=__doc__,
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write into (created)")
    p.add_argument(
        "--hit-ratio-min",
        type=_ratio("--hit-ratio-min"),
        default=d.hit_ratio_min,
        help="alert when the cache hit ratio is below this (default %(default)s)",
    )
    p.add_argument(
        "--overload-rate-max",
        type=_ratio("--overload-rate-max"),
        default=d.overload_rate_max,
        help="alert when the 529 share of attempts is above this (default %(default)s)",
    )
    p.add_argument(
        "--stream-drop-rate-max",
        type=_ratio("--stream-drop-rate-max"),
        default=d.stream_drop_rate_max,
        help="alert when the stream drop rate is above this (default %(default)s)",
    )
    p.add_argument(
        "--duplicate-rate-max",
        type=_ratio("--duplicate-rate-max"),
        default=d.duplicate_rate_max,
        help="alert when duplicates per request are above this (default %(default)s)",
    )
    p.add_argument(
        "--error-ratio-max",
        type=_ratio("--error-ratio-max"),
        default=d.error_ratio_max,
        help="alert when the final error ratio is above this (default %(default)s)",
    )
    p.add_argument(
        "--ratelimit-headroom-min",
        type=_ratio("--ratelimit-headroom-min"),
        default=d.ratelimit_headroom_min,
        help="alert when any rate limit has less than this share left (default %(default)s)",
    )
    p.add_argument(
        "--spend-per-hour-max",
        type=_usd("--spend-per-hour-max"),
        default=None,
        metavar="USD",
        help="alert (AnthropicSpendBurnHigh) when a job spends more than this many USD per hour at list "
        "prices, sustained (default: no spend alert)",
    )
    p.add_argument(
        "--datasource-uid",
        default=None,
        help="Prometheus datasource uid for Grafana alert rules and the dashboards' default "
        "(default: ${DS_PROMETHEUS} from Grafana's environment, and the datasource picker)",
    )
    p.add_argument(
        "--job",
        default=None,
        metavar="REGEX",
        help="restrict alerts to jobs matching this regex and preselect it in the dashboards",
    )
    p.add_argument(
        "--runbook-url", default=d.runbook_url, help="base URL of the runbooks (default %(default)s)"
    )
    return p


def run(args: argparse.Namespace) -> int:
    try:
        options = Options(
            hit_ratio_min=args.hit_ratio_min,
            overload_rate_max=args.overload_rate_max,
            stream_drop_rate_max=args.stream_drop_rate_max,
            duplicate_rate_max=args.duplicate_rate_max,
            error_ratio_max=args.error_ratio_max,
            ratelimit_headroom_min=args.ratelimit_headroom_min,
            spend_per_hour_max=args.spend_per_hour_max,
            datasource_uid=args.datasource_uid,
            job=args.job,
            runbook_url=args.runbook_url,
        )
    except OptionError as exc:
        print(f"anthropic-otel dashboards: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    try:
        written = _copy_shipped(out) if options.is_default() else None
        if written is None:
            from ._render import write

            written = write(out, options)
    except ImportError as exc:
        # The Grafana SDK is imported when rendering starts; without it `_sdk`'s error names
        # its install command (`_sdk.INSTALL_HINT`, which cannot be imported without the SDK).
        print(f"anthropic-otel dashboards: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = exc.filename or out
        print(
            f"anthropic-otel dashboards: cannot write into {out}: {exc.strerror or exc} ({where}); "
            "choose a directory you can write to with --out",
            file=sys.stderr,
        )
        return 1
    print(summary(out, written))
    return 0


# What each generated folder holds and how to use it, for the summary printed after writing.
_USES: dict[str, str] = {
    "dashboards": "Grafana dashboards: import each in Grafana (Dashboards > New > Import) or provision the "
    "folder (deploy/grafana/provisioning)",
    "grafana-alerting": "Grafana alert rules: copy into Grafana's provisioning/alerting folder; they query "
    "the datasource ${DS_PROMETHEUS}",
    "prometheus": "Prometheus alerting rules: add the file to rule_files in prometheus.yml "
    "(check with `promtool check rules FILE`)",
}


def summary(out: Path, written: list[Path]) -> str:
    """Lines naming what was written where, folder by folder, and how to use it."""
    by_folder: dict[str, list[Path]] = {}
    for path in written:
        folder = path.relative_to(out).parts[0] if path.parent != out else "."
        by_folder.setdefault(folder, []).append(path)
    lines = [f"anthropic-otel dashboards: wrote {len(written)} files into {out}"]
    for folder, paths in sorted(by_folder.items()):
        names = ", ".join(path.name for path in paths)
        use = _USES.get(folder)
        lines.append(f"  {folder}/: {names}" + (f"\n    {use}" if use else ""))
    return "\n".join(lines)


def _copy_shipped(out: Path) -> list[Path] | None:
    from . import shipped_dir

    source = shipped_dir()
    if source is None:
        return None  # neither a wheel nor a checkout with generated files: render instead
    written = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = out / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(target)
    return written
