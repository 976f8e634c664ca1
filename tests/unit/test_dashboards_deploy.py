"""The deploy/ stack's configs, validated with the real tools (Docker itself is not needed).

promtool checks the Prometheus config together with the generated rules it loads; amtool the
Alertmanager config; the compose file's mounts must point at files that exist in the checkout.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed (CI installs it: make system-deps)")
    return exe


def test_prometheus_config_and_the_rules_it_loads(tmp_path: Path) -> None:
    # Lay the files out as the container sees them: rules/ next to prometheus.yml.
    shutil.copy(DEPLOY / "prometheus" / "prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copytree(ROOT / "dashboards" / "generated" / "prometheus", tmp_path / "rules")
    result = subprocess.run(
        [_tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout + result.stderr


def test_alertmanager_config() -> None:
    result = subprocess.run(
        [_tool("amtool"), "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_collector_config() -> None:
    exe = shutil.which("otelcol-contrib") or shutil.which("otelcol")
    if exe is None:
        pytest.skip("otelcol-contrib is not installed: the collector config is only checked where it is")
    result = subprocess.run(
        [exe, "validate", f"--config={DEPLOY / 'otel-collector' / 'config.yaml'}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_mounts_exist() -> None:
    compose = (DEPLOY / "docker-compose.yml").read_text()
    mounts = re.findall(r"^\s+- (\.\.?/[^:]+):", compose, flags=re.M)
    assert len(mounts) >= 8
    for mount in mounts:
        assert (DEPLOY / mount).exists(), mount
    # Grafana expands ${DS_PROMETHEUS} in the alert rules to the provisioned datasource's uid.
    assert "DS_PROMETHEUS: prometheus" in compose
    assert (
        "uid: prometheus"
        in (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
