"""Regenerate dashboards/generated/ (the committed, shipped default rendering).

    python dashboards/generate.py

The builders live in `anthropic_otel.grafana` (importable from the installed package, which the
CLI needs); this is only the entry point. Needs the `dashboards` extra.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from anthropic_otel.grafana import Options, write

GENERATED = Path(__file__).resolve().parent / "generated"


def main() -> int:
    # Start clean so a renamed or removed dashboard does not linger in the committed output.
    shutil.rmtree(GENERATED, ignore_errors=True)
    for path in write(GENERATED, Options()):
        print(path.relative_to(GENERATED.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
