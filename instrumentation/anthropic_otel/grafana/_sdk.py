"""The grafana-foundation-sdk imports, in one place, loaded only when something is rendered.

The runtime package does not depend on the SDK: the CLI copies the shipped files unless a flag
changes them, and only then needs `pip install 'anthropic-otel[dashboards]'`.
"""

from __future__ import annotations

import warnings

INSTALL_HINT = "pip install 'anthropic-otel[dashboards]'"

try:
    with warnings.catch_warnings():
        # The classic dashboard model warns at import that v2 exists; v2 dashboards cannot be imported
        # through Grafana's "Import dashboard" page or file provisioning without feature flags, so v1 it is.
        warnings.simplefilter("ignore", DeprecationWarning)
        from grafana_foundation_sdk.builders import (
            alerting,
            common,
            dashboard,
            prometheus,
            stat,
            table,
            timeseries,
        )
        from grafana_foundation_sdk.builders import expr as expr_builders
        from grafana_foundation_sdk.cog.encoder import JSONEncoder
        from grafana_foundation_sdk.cog.plugins import register_default_plugins
        from grafana_foundation_sdk.models import alerting as models_alerting
        from grafana_foundation_sdk.models import common as models_common
        from grafana_foundation_sdk.models import dashboard as models_dashboard
        from grafana_foundation_sdk.models.prometheus import PromQueryFormat
except ImportError as exc:  # pragma: no cover - exercised by the CLI test with the import blocked
    raise ImportError(
        f"rendering dashboards with non-default flags needs grafana-foundation-sdk: {INSTALL_HINT}"
    ) from exc

__all__ = [
    "INSTALL_HINT",
    "JSONEncoder",
    "PromQueryFormat",
    "alerting",
    "common",
    "dashboard",
    "expr_builders",
    "models_alerting",
    "models_common",
    "models_dashboard",
    "prometheus",
    "register_default_plugins",
    "stat",
    "table",
    "timeseries",
]
