"""The chaos suite's short run in the test suite: `bench/chaos.py --short` (kill -9, Slack down,
Discord down, 429 storms, PostgreSQL restarted, each while customers and agents write) must
lose nothing, double nothing and keep each ticket's order.

It runs as a process of its own, as the bot it starts does: it prints its figures, and a
failure shows them here. Bounded: a run that overstays is stopped (SIGTERM lets it stop its
bots and its database server) and fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CHAOS = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"
# A passing short run takes under 3 minutes on a 2-core machine; a failing one waits up to a
# minute per scenario for a drain that does not come.
WITHIN = 480


def test_the_short_chaos_suite_loses_nothing_doubles_nothing_and_keeps_order() -> None:
    run = subprocess.Popen(
        [sys.executable, str(CHAOS), "--short"],
        cwd=CHAOS.parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = run.communicate(timeout=WITHIN)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGTERM)
        try:
            output, _ = run.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            output, _ = run.communicate()
        pytest.fail(f"the short chaos suite overstayed {WITHIN} s:\n{output[-20000:]}")
    assert run.returncode == 0, output[-20000:]
    assert "5 scenarios" in output, output[-20000:]
    assert "all passed" in output, output[-20000:]
