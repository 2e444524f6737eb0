"""`threadline demo --script`: one ticket's whole life played through the emulators' people,
with a transcript of both sides, and a failing exit when a step does not happen."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot import demo, demo_script
from bot.core.errors import ConfigError
from tests.cli.cli_support import threadline

STEPS = 14


def lines_of(out: str, side: str) -> list[str]:
    """The transcript lines of one side (a message's later lines belong to it)."""
    found: list[str] = []
    current = False
    for line in out.splitlines():
        if re.match(r"^   \S", line):
            current = line.startswith(f"   {side}")
        elif not line.startswith(demo_script.INDENT):
            current = False
        if current:
            found.append(line)
    return found


async def test_the_tour_plays_every_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await demo_script.play(tmp_path / "data")
    out = capsys.readouterr().out
    headlines = re.findall(r"^== (\d+)\. (.*)$", out, re.MULTILINE)
    assert [int(n) for n, _ in headlines] == list(range(1, STEPS + 1))
    said = "\n".join(h for _, h in headlines)
    for step in (
        "Alice (customer, Discord DM) writes",
        "clicks Claim",
        "replies in the ticket's thread",
        "internal note",
        "Alice answers in her DMs",
        "clicks Escalate",
        "clicks Resolve",
        "survey delay",
        "Alice clicks 5 on the survey",
        "Alice writes again",
        "Bob (customer, Discord DM) writes",
        "next SLA event",
    ):
        assert step in said
    discord, slack = "\n".join(lines_of(out, "Discord")), "\n".join(lines_of(out, "Slack"))
    assert "your ticket is #1001." in discord  # rendered: no ** around it
    assert f"alice: {demo_script.REPLY}" in discord
    assert demo_script.NOTE_WORDS not in discord
    assert "Alice (Discord): Thanks, I'll wait for news." in slack
    assert 'dialog "Escalate #1001"' in slack
    assert "Status: :arrow_double_up: Escalated" in slack
    assert "#escalations  supportbot: Ticket #1001" in slack
    assert "Your ticket #1001 is resolved" in discord
    assert "[5 😄]" in discord
    assert "Alice rated ticket #1001 ★★★★★ 5/5" in slack
    assert "Your ticket #1001 is open again" in discord
    assert re.search(r":alarm_clock: Ticket #1002 .* is due|SLA breached", slack)
    assert "   Clock    Clock moved 1 h 1 min" in out
    assert "Assignee: @Alice Agent" in slack  # names, not ids
    for raw in ("<@U", "<t:", "**", "UBOT", "!! step"):
        assert raw not in out
    assert out.rstrip().endswith(f"All {STEPS} steps happened.")


async def test_a_step_that_does_not_happen_is_said_and_fails_the_tour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_script, "STEP_WAIT", 1.0)
    first: Callable[[demo_script.Tour], Awaitable[None]] = demo_script.Tour.customer_writes

    async def then_closes_her_dms(tour: demo_script.Tour) -> None:
        await first(tour)
        tour.alice.close_dms()  # nothing the bot sends her arrives any more

    monkeypatch.setattr(demo_script.Tour, "customer_writes", then_closes_her_dms)
    assert not await demo_script.play(None)
    out = capsys.readouterr().out
    assert "!! step 2 did not happen: Alice to be told" in out
    assert "!! step 3 did not happen: Alice to receive the reply" in out
    assert "!! step 1 did not" not in out
    assert re.search(rf"\n(\d+) of {STEPS} steps did not happen\.\n$", out)


async def test_a_data_directory_already_used_is_refused(tmp_path: Path) -> None:
    (tmp_path / demo.DATABASE).write_bytes(b"")
    with pytest.raises(ConfigError, match="starts from an empty database"):
        await demo_script.play(tmp_path)


def test_the_command_refuses_a_used_data_directory_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    (tmp_path / demo.DATABASE).write_bytes(b"")
    code, out, err = threadline(capsys, "demo", "--script", "--data", str(tmp_path))
    assert code == 2
    assert out == ""
    assert err.startswith("threadline: error: the scripted tour starts from an empty database")
    assert len(err.strip().splitlines()) == 1


def test_threadline_demo_script_exits_0(tmp_path: Path) -> None:
    # No `python -m bot` (no bot/__main__.py): the installed command, as people run it.
    exe = Path(sys.executable).parent / "threadline"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    done = subprocess.run(
        [str(exe), "demo", "--script"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(f"All {STEPS} steps happened.")
