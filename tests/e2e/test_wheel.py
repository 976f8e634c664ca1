"""The built wheel, installed without the `dashboards` extra into a fresh venv: the generated
dashboards and rules ship inside it, and a flag that needs the Grafana SDK says how to get it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "dashboards" / "generated"


def _run(*cmd: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_wheel_ships_the_generated_files_and_names_the_extra(tmp_path: Path) -> None:
    built = _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", ROOT)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("anthropic_otel-*.whl")
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    installed = _run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel)
    assert installed.returncode == 0, installed.stderr
    cli = venv / "bin" / "anthropic-otel"

    # Run outside the checkout, so the files can only come from the wheel.
    default = _run(cli, "dashboards", "--out", tmp_path / "out", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    shipped = sorted(p.relative_to(GENERATED) for p in GENERATED.rglob("*") if p.is_file())
    copied = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert copied == shipped and len(shipped) == 7
    for rel in shipped:
        assert (tmp_path / "out" / rel).read_bytes() == (GENERATED / rel).read_bytes()

    flagged = _run(cli, "dashboards", "--out", tmp_path / "other", "--hit-ratio-min", "0.6", cwd=tmp_path)
    assert flagged.returncode == 1
    assert "pip install 'anthropic-otel[dashboards]'" in flagged.stderr
    assert "Traceback" not in flagged.stderr
