"""The `threadline` command: credentials masked, the policy file checked, a busy port explained,
help asked for by naming a group, unknown customers refused, SLA due times shown."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import runtime
from bot.config import load_settings
from bot.core.domain import Agent, AgentId
from bot.core.events import AgentMessage, CustomerMessage
from integrations.platforms import DISCORD
from tests.cli.cli_support import threadline


def test_check_config_masks_the_database_password(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL",
        "postgresql+asyncpg://threadline:hunter2@db.internal:5432/tl?password=hunter3&ssl=on",
    )
    monkeypatch.setenv("OPENAI_BASE_URL", "https://bob:sesame@llm.internal/v1?api_key=sk-live")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh-signing")
    code, out, _ = threadline(capsys, "check-config")
    assert code == 0
    for secret in ("hunter2", "hunter3", "sesame", "sk-live", "shh-signing"):
        assert secret not in out
    assert "postgresql+asyncpg://threadline:***@db.internal:5432/tl?password=***&ssl=on" in out
    assert "https://bob:***@llm.internal/v1?api_key=***" in out
    assert "SLACK_SIGNING_SECRET       set (hidden)" in out


def test_check_config_reports_a_broken_policy_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "threadline.toml").write_text('[sla.normal]\nfirst_response = "soon"\n')
    code, _, err = threadline(capsys, "check-config")
    assert code == 2
    assert err.startswith("threadline: error: threadline.toml: ")
    assert "sla.normal.first_response" in err
    assert len(err.strip().splitlines()) == 1


def test_check_config_says_the_policy_file_is_valid(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "threadline.toml").write_text('[sla.normal]\nfirst_response = "2h"\n')
    code, out, _ = threadline(capsys, "check-config")
    assert code == 0
    assert "Policy: threadline.toml: valid" in out


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def test_a_busy_http_port_is_one_line_naming_the_settings(
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    taken_port: int,
) -> None:
    # Slack in HTTP mode, pointed nowhere: the listener is the first thing that must start.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_SUPPORT_CHANNEL", "C0SUPPORT")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("HTTP_PORT", str(taken_port))
    code, _, err = threadline(capsys, "run")
    assert code == 2
    assert "Traceback" not in err
    assert err.strip() == (
        f"threadline: error: Cannot listen on 127.0.0.1:{taken_port}: the address is already "
        "in use (another Threadline, or another program). Set HTTP_PORT to a free port "
        "(0 picks one), or HTTP_HOST to another address."
    )


@pytest.mark.parametrize(
    ("args", "shows"),
    [([], "Usage: threadline [OPTIONS] COMMAND"), (["tickets"], "Usage: threadline tickets")],
)
def test_a_group_without_a_command_prints_plain_help(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], shows: str
) -> None:
    code, out, err = threadline(capsys, *args)
    assert code == 0
    assert out.startswith(shows)
    assert "Commands:" in out
    assert err == ""


async def _seed() -> None:
    async with runtime(load_settings()) as rt:
        sent = datetime(2026, 3, 2, 9, tzinfo=UTC)
        intake = await rt.service.receive_customer_message(
            CustomerMessage(DISCORD, "m1", "42", "Alice", "Printer on fire", sent)
        )
        ann = Agent(AgentId("U0ANN"), "Ann")
        await rt.service.add_agent_message(
            intake.ticket.number, AgentMessage(ann, "Unplug it", False, sent)
        )
        await rt.service.receive_customer_message(
            CustomerMessage(DISCORD, "m2", "42", "Alice", "Still smoking", sent)
        )


@pytest.fixture
def seeded(db: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert threadline(capsys, "db", "upgrade")[0] == 0
    asyncio.run(_seed())
    return db


def test_blocking_refuses_an_id_that_is_no_customer(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = threadline(capsys, "customers", "block", "777")
    assert code == 2
    assert out == ""
    assert err.startswith("threadline: error: no discord customer '777' is known")
    assert "not a Discord user id" in err
    code, _, err = threadline(capsys, "customers", "unblock", "80351110224678912")
    assert code == 2
    assert "no discord customer '80351110224678912' is known" in err
    code, out, _ = threadline(capsys, "tickets", "list", "--json")
    assert out.count('"number"') == 1  # nothing was created by the refusals


def test_blocking_a_discord_user_before_they_write(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = threadline(capsys, "customers", "block", "80351110224678912")
    assert code == 0
    assert out.strip() == (
        "80351110224678912 (discord 80351110224678912) is blocked. They have not written yet."
    )
    code, out, _ = threadline(capsys, "customers", "block", "42")
    assert (code, out.strip()) == (0, "Alice (discord 42) is blocked.")


def test_tickets_show_prints_each_clock_and_its_due_time(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = threadline(capsys, "tickets", "show", "1001")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Ticket #1001: Printer on fire"
    sla = [line.strip() for line in lines if line.strip().startswith("SLA ")]
    assert "SLA first response: met 2026-03-02 09:00 UTC" in sla
    running = [line for line in sla if ": due " in line]
    assert {line.split(":")[0] for line in running} == {"SLA next response", "SLA resolution"}
    first_sla = next(i for i, line in enumerate(lines) if line.strip().startswith("SLA "))
    assert 0 < first_sla < lines.index("Messages (3):")  # with the header, before the messages
