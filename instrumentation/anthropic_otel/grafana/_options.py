"""The knobs of the generated dashboards and alerts: thresholds, label selectors, datasource, runbooks.

Defaults encode the field's rules of thumb (50 % cache hit ratio, 529s above the normal 1-3 % band,
drops above 0.5 %). `Options()` is what `dashboards/generated/` is rendered with; any other value
makes the CLI render afresh instead of copying the shipped files.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Final

RUNBOOK_URL: Final = "https://github.com/anthropic-otel/anthropic-otel/blob/main/docs/runbooks.md"

# Grafana uids are at most 40 characters of this alphabet.
_UID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class OptionError(ValueError):
    """A threshold or selector that cannot produce working dashboards or alerts."""


@dataclass(frozen=True)
class Options:
    hit_ratio_min: float = 0.5
    overload_rate_max: float = 0.03
    stream_drop_rate_max: float = 0.005
    duplicate_rate_max: float = 0.01
    error_ratio_max: float = 0.05
    # Alert when any rate limit has less than this share left (a 10 % margin absorbs a burst).
    ratelimit_headroom_min: float = 0.10
    # USD per hour a job may spend at list prices; None (the default) renders no spend alert, since
    # a budget is the user's to name.
    spend_per_hour_max: float | None = None
    datasource_uid: str | None = None
    job: str | None = None
    runbook_url: str = RUNBOOK_URL

    def __post_init__(self) -> None:
        for name in (
            "hit_ratio_min",
            "overload_rate_max",
            "stream_drop_rate_max",
            "duplicate_rate_max",
            "error_ratio_max",
            "ratelimit_headroom_min",
        ):
            value = getattr(self, name)
            # Every threshold is a ratio: outside (0, 1) an alert could never fire or would always fire.
            if not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
                raise OptionError(
                    f"{name} must be a ratio strictly between 0 and 1 (e.g. 0.05 for 5 %), got {value!r}"
                )
        spend = self.spend_per_hour_max
        if spend is not None and (
            isinstance(spend, bool)
            or not isinstance(spend, (int, float))
            or not math.isfinite(spend)
            or spend <= 0
        ):
            raise OptionError(f"spend per hour must be a positive number of USD (e.g. 25), got {spend!r}")
        if self.datasource_uid is not None and not _UID_RE.match(self.datasource_uid):
            raise OptionError(
                f"datasource uid must be 1-40 letters, digits, '-' or '_' (Grafana's uid format), got {self.datasource_uid!r}"
            )
        if self.job is not None:
            if not self.job or '"' in self.job or "\\" in self.job or "\n" in self.job:
                raise OptionError(
                    f"job must be a non-empty regular expression without quotes or backslashes, got {self.job!r}"
                )
            try:
                re.compile(self.job)
            except re.error as exc:
                raise OptionError(f"job is not a valid regular expression ({exc}): {self.job!r}") from None
        if not self.runbook_url.startswith(("http://", "https://")) or '"' in self.runbook_url:
            raise OptionError(f"runbook url must be an http(s) URL, got {self.runbook_url!r}")

    def is_default(self) -> bool:
        return all(getattr(self, f.name) == f.default for f in fields(self))
