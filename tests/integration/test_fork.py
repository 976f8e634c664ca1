"""After a fork the child starts empty: no counts of the parent's, no open stream of the parent's
to end as `abandoned`, and no lock a parent thread held at fork time (`os.register_at_fork`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "fork_app.py"


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no os.fork on this platform")
def test_child_starts_empty_and_never_blocks_on_the_parents_locks() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = {(row := json.loads(line))["who"]: row for line in done.stdout.splitlines()}
    child, parent = lines["child"], lines["parent"]
    # The child: its own call and its own stream, read to the end; nothing of the parent's.
    assert child["anthropic.requests"] == 2
    assert child["anthropic.streams"] == 1  # its own, complete: the parent's open one is not ended here
    assert child["anthropic.streams.active"] == 0
    assert child["anthropic.attempts"] == 2
    # The parent: two calls and its stream, which it finishes reading after the fork.
    assert parent["anthropic.requests"] == 3
    assert parent["anthropic.streams"] == 1
    assert parent["anthropic.streams.active"] == 0
    assert parent["anthropic.attempts"] == 3
