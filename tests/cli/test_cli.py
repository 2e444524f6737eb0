"""The `threadline` command as people type it."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import runtime
from bot.config import load_settings
from bot.core.domain import Agent, AgentId
from bot.core.events import AgentMessage, CustomerMessage
from integrations.platforms import DISCORD
from storage.migrate import head
from tests.cli.cli_support import threadline


async def _seed() -> None:
    async with runtime(load_settings()) as rt:
        sent = datetime(2026, 3, 2, 9, tzinfo=UTC)
        intake = await rt.service.receive_customer_message(
            CustomerMessage(DISCORD, "m1", "42", "Alice", "Printer on fire", sent)
        )
        ann = Agent(AgentId("U0ANN"), "Ann")
        await rt.service.claim(intake.ticket.number, ann)
        await rt.service.add_agent_message(
            intake.ticket.number, AgentMessage(ann, "Unplug it", False, sent)
        )
        await rt.service.add_agent_message(
            intake.ticket.number, AgentMessage(ann, "Call the fire brigade", True, sent)
        )
        await rt.service.receive_customer_message(
            CustomerMessage(DISCORD, "m2", "43", "Bob", "Where is my order?", sent)
        )


@pytest.fixture
def seeded(db: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert threadline(capsys, "db", "upgrade")[0] == 0
    asyncio.run(_seed())
    return db


def test_db_upgrade_creates_then_reports_up_to_date(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = threadline(capsys, "db", "upgrade")
    assert code == 0
    assert f"schema created (revision {head()})" in out
    assert db.exists()
    code, out, _ = threadline(capsys, "db", "upgrade")
    assert "schema up to date" in out


def test_tickets_list_shows_a_table(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = threadline(capsys, "tickets", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["TICKET", "STATUS", "PRIORITY", "TIER"]
    assert lines[1].split()[:2] == ["#1002", "new"]
    assert "Where is my order?" in lines[1]
    assert lines[2].split()[:5] == ["#1001", "claimed", "normal", "1", "Ann"]


def test_tickets_list_filters_and_prints_json(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = threadline(capsys, "tickets", "list", "--status", "claimed", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(t["number"], t["status"], t["assignee"]["name"]) for t in listed] == [
        (1001, "claimed", "Ann")
    ]


def test_tickets_show_prints_messages_and_history(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = threadline(capsys, "tickets", "show", "#1001")
    assert code == 0
    assert "Ticket #1001: Printer on fire" in out
    assert "held by Ann (U0ANN)" in out
    assert "customer Alice (discord 42)" in out
    assert "customer Alice: Printer on fire" in out
    assert "reply    Ann: Unplug it" in out
    assert "note     Ann: Call the fire brigade" in out
    assert "claim" in out
    assert "new → claimed by Ann" in out


def test_tickets_show_json(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = threadline(capsys, "tickets", "show", "1001", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["ticket"]["number"] == 1001
    assert [m["direction"] for m in shown["messages"]] == ["from_customer", "to_customer", "note"]
    assert [e["action"] for e in shown["events"]] == ["open", "claim"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["tickets", "show", "4242"], "threadline: error: Ticket #4242 does not exist."),
        (["tickets", "show", "abc"], "threadline: error: Invalid value for 'NUMBER'"),
        (["tickets", "list", "--bogus"], "threadline: error: No such option '--bogus'"),
        (
            ["tickets", "list", "--status", "lost"],
            "threadline: error: Invalid value for '--status'",
        ),
        (["nonsense"], "threadline: error: No such command 'nonsense'"),
    ],
)
def test_mistakes_get_one_line_and_status_2(
    seeded: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, out, err = threadline(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith(expected)
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_an_unreachable_database_is_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody:pw@127.0.0.1:1/none")
    code, _, err = threadline(capsys, "tickets", "list")
    assert code == 2
    assert err.startswith("threadline: error: Cannot reach the database at postgresql+asyncpg://")
    assert "pw" not in err
    assert len(err.strip().splitlines()) == 1


def test_an_unmigrated_database_names_the_command(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = threadline(capsys, "tickets", "list")
    assert code == 2
    assert "has no Threadline schema; run `threadline db upgrade`" in err


def test_a_malformed_setting_fails_naming_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_LEADS", "lea")
    code, _, err = threadline(capsys, "check-config")
    assert code == 2
    assert "SLACK_LEADS: expected comma-separated Slack user ids" in err


def test_check_config_never_prints_secrets(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-top-secret")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "discord-top-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-top-secret")
    code, out, _ = threadline(capsys, "check-config")
    assert code == 0
    assert "top-secret" not in out
    assert "SLACK_BOT_TOKEN            set (hidden)" in out
    assert "SLACK_SUPPORT_CHANNEL      (not set)" in out
    assert "Slack: missing SLACK_SUPPORT_CHANNEL, SLACK_APP_TOKEN" in out
    assert "Discord: configured" in out
    assert "AI: configured (model gpt-4o-mini)" in out


def test_run_without_platforms_migrates_and_says_what_to_set(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = threadline(capsys, "run")
    assert code == 2
    assert "schema created" in out
    assert "Slack: missing SLACK_BOT_TOKEN" in out
    assert "SLACK_BOT_TOKEN, SLACK_SUPPORT_CHANNEL, and SLACK_APP_TOKEN" in err
    assert "DISCORD_BOT_TOKEN" in err
    assert "threadline demo" in err


def test_installed_console_script_runs() -> None:
    # The script installed beside this interpreter, whether or not its folder is on PATH.
    exe = shutil.which("threadline", path=str(Path(sys.executable).parent))
    assert exe is not None, "the threadline console script is not installed"
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    for command in ("run", "db", "tickets", "check-config"):
        assert command in done.stdout


def test_customers_block_and_unblock(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = threadline(capsys, "customers", "block", "42")
    assert code == 0
    assert out.strip() == "Alice (discord 42) is blocked."
    code, out, _ = threadline(capsys, "customers", "unblock", "42")
    assert out.strip() == "Alice (discord 42) is no longer blocked."
    code, _, err = threadline(capsys, "customers", "block", "777")  # nobody: refused
    assert code == 2
    assert "no discord customer '777' is known" in err
    code, _, err = threadline(capsys, "customers", "block", "1", "--platform", "irc")
    assert code == 2
    assert "Invalid value for '--platform'" in err


def test_jobs_run_once_sweeps_and_reports(
    db: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = workdir / "threadline.toml"
    # A target shorter than the reminder lead: each unanswered ticket is due a reminder now.
    policy.write_text(
        '[sla.normal]\nfirst_response = "1h"\ncalendar = "24x7"\n'
        '[reminders]\nbefore_breach = "2h"\n'
    )
    monkeypatch.setenv("THREADLINE_CONFIG", str(policy))
    assert threadline(capsys, "db", "upgrade")[0] == 0
    asyncio.run(_seed())
    code, out, _ = threadline(capsys, "jobs", "run-once", "--json")
    assert code == 0
    assert json.loads(out) == {"sla": 1, "csat": 0, "autoclose": 0, "digest": 0}
    code, out, _ = threadline(capsys, "jobs", "run-once")
    assert code == 0
    assert out.split() == ["sla", "0", "csat", "0", "autoclose", "0", "digest", "0"]
