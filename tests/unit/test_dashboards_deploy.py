"""The deploy/ stack's configs, validated with the real tools (Docker itself is not needed).

promtool checks the Prometheus config together with the generated rules it loads; amtool the
Alertmanager config; the collector's pipelines are checked for structure (and by `otelcol validate`
where the binary is installed); the compose file's mounts must point at files that exist in the
checkout, its images carry exact versions, Grafana has no anonymous Admin and reads the generated
dashboards' schemaVersion.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

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
    # As many rules as the generated files hold (rules get added there: count them, don't hard-code).
    generated = sum(
        len(re.findall(r"^\s*- (?:alert|record): ", path.read_text(), flags=re.M))
        for path in (ROOT / "dashboards" / "generated" / "prometheus").glob("*.yaml")
    )
    assert generated > 0
    assert f"SUCCESS: {generated} rules found" in result.stdout + result.stderr


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


def _yaml_mapping(text: str) -> dict[str, Any]:
    """The block mappings of a plain YAML file (keys, `key: value`, `key: [a, b]`, comments): enough
    for the collector config, whose schema no installable package validates (PyYAML is no dependency)."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        value = value.strip()
        if not value:
            parent[key] = {}
            stack.append((indent, parent[key]))
        elif value.startswith("["):
            parent[key] = [item.strip() for item in value.strip("[]").split(",") if item.strip()]
        else:
            parent[key] = value
    return root


def test_collector_pipelines_take_every_signal_the_distro_sends() -> None:
    config = _yaml_mapping((DEPLOY / "otel-collector" / "config.yaml").read_text())
    # opentelemetry-instrument exports metrics, traces and logs over OTLP by default: a signal without
    # a pipeline is answered 404 (HTTP) / UNIMPLEMENTED (gRPC) and the app logs export failures.
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"metrics", "traces", "logs"}
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{name}: {kind[:-1]} {component} is not defined"
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert config["exporters"]["debug"] == {"verbosity": "basic"}
    # Both OTLP transports, on the ports deploy/README.md and docker-compose.yml give.
    assert config["receivers"]["otlp"]["protocols"] == {
        "grpc": {"endpoint": "0.0.0.0:4317"},
        "http": {"endpoint": "0.0.0.0:4318"},
    }


def _compose_service(name: str) -> str:
    compose = (DEPLOY / "docker-compose.yml").read_text()
    found = re.search(rf"^  {name}:\n((?:    .*\n|\n)+)", compose, flags=re.M)
    assert found, name
    return found.group(1)


def test_images_carry_exact_versions() -> None:
    images = re.findall(r"^\s+image: (\S+)$", (DEPLOY / "docker-compose.yml").read_text(), flags=re.M)
    assert len(images) == 4  # collector, Prometheus, Alertmanager, Grafana
    for image in images:
        # An exact x.y.z tag (digests cannot be read from where this is tested: deploy/README.md).
        assert re.fullmatch(r"[a-z0-9./-]+:v?\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?", image), image


def test_grafana_has_no_anonymous_admin() -> None:
    grafana = _compose_service("grafana")
    assert 'GF_AUTH_ANONYMOUS_ENABLED: "false"' in grafana
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE: Viewer" in grafana
    assert "Admin" not in grafana
    assert "GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD:-admin}" in grafana
    readme = (DEPLOY / "README.md").read_text()
    assert "reset-admin-password" in readme and "GRAFANA_ADMIN_PASSWORD" in readme


# The newest dashboard schemaVersion each Grafana minor reads (its DashboardMigrator's
# DASHBOARD_SCHEMA_VERSION). 42 is the "hideFrom tooltip" migration, grafana/grafana pull request
# 110517 (merged 2025-09-05), in the 12.3 releases; 41 was the newest before it. Extend this when
# pinning another Grafana.
GRAFANA_SCHEMA_VERSION = {(12, 3): 42}


def test_pinned_grafana_reads_the_generated_dashboards() -> None:
    image = re.search(r"image: grafana/grafana:(\d+)\.(\d+)\.\d+", _compose_service("grafana"))
    assert image, "Grafana is not pinned to an x.y.z tag"
    minor = (int(image.group(1)), int(image.group(2)))
    assert minor in GRAFANA_SCHEMA_VERSION, f"no known schemaVersion for Grafana {minor}: add it"
    versions = {
        path.name: json.loads(path.read_text())["schemaVersion"]
        for path in (ROOT / "dashboards" / "generated" / "dashboards").glob("*.json")
    }
    assert versions
    for name, version in versions.items():
        assert version <= GRAFANA_SCHEMA_VERSION[minor], (name, version, minor)


def test_readme_gives_the_app_its_env_vars() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for variable in (
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
        "OTEL_SERVICE_NAME",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "OTEL_TRACES_EXPORTER",
        "OTEL_LOGS_EXPORTER",
    ):
        assert variable in readme, variable
    # The old instruction sent the distro's default (gRPC) to the HTTP port.
    compose = (DEPLOY / "docker-compose.yml").read_text()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 " not in compose
