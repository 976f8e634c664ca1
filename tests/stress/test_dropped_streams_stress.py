"""The dropped-streams-in-cycles workload (`tests/stress/dropped_streams.py`), run in subprocesses
for long enough to have caught the collection-time hang and crash: `make stress` (part of CI).

Two processes at once, default GC settings, `STRESS_SECONDS` each (default 150): each must exit 0
(a signal means a crash, a timeout a hang), with no exception in an app thread and exactly one
recorded end per dropped stream.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("STRESS_SECONDS", "150"))


def test_dropped_streams_in_cycles_never_hang_crash_or_raise() -> None:
    command = [sys.executable, "-X", "faulthandler", "-m", "tests.stress.dropped_streams", str(SECONDS)]
    runs = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for run in runs:
        try:
            out, err = run.communicate(timeout=SECONDS + 180)
        except subprocess.TimeoutExpired:
            for other in runs:
                other.kill()
                other.communicate()
            pytest.fail(f"hang: a {SECONDS:.0f} s run had not exited {SECONDS + 180:.0f} s later")
        assert run.returncode == 0, (
            f"exit status {run.returncode} (negative: killed by a signal)\n{err[-4000:]}"
        )
        results.append(json.loads(out.strip().splitlines()[-1]))
    for figures in results:
        print(json.dumps(figures))
        assert figures["app_errors"] == 0, figures["first_error"]
        assert figures["dropped"] > 0
        assert figures["streams_recorded"] == figures["dropped"]
        assert figures["spans_exported"] == figures["dropped"]
