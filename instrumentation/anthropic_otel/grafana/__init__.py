"""Grafana dashboards, Grafana alert rules and Prometheus rules for the anthropic-otel metrics.

Generated from code with grafana-foundation-sdk builders (the `dashboards` extra); every metric
and label name comes from `anthropic_otel.semconv`. The default rendering ships inside the
package (`generated/`, or `dashboards/generated/` in a source checkout), so
`anthropic-otel dashboards --out DIR` works without the SDK unless a flag changes the output.
"""

from __future__ import annotations

from pathlib import Path

from ._options import OptionError, Options

__all__ = ["OptionError", "Options", "render", "shipped_dir", "write"]


def shipped_dir() -> Path | None:
    """The pre-rendered default files: package data in a wheel, `dashboards/generated` in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "generated", here.parents[2] / "dashboards" / "generated"):
        if (candidate / "prometheus").is_dir():
            return candidate
    return None


def render(options: Options | None = None) -> dict[str, str]:
    from ._render import render as _render

    return _render(options)


def write(out: Path, options: Options | None = None) -> list[Path]:
    from ._render import write as _write

    return _write(out, options)
