"""`threadline events`: dead letters listed, shown, retried and dropped from the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.app import runtime
from bot.config import load_settings
from bot.core.inbound import MAX_ATTEMPTS
from integrations.platforms import SLACK
from tests.cli.cli_support import threadline


async def _dead_letter() -> None:
    async with runtime(load_settings()) as rt:
        body = {"event_id": "EvDead", "event": {"type": "message", "text": "hello"}}
        await rt.service.record_inbound(SLACK, "EvDead", body)
        for _ in range(MAX_ATTEMPTS):
            await rt.service.inbound_failed(SLACK, "EvDead", "KeyError: 'x'\nmore")
        await rt.service.record_inbound(SLACK, "EvWaiting", {"event_id": "EvWaiting"})


@pytest.fixture
def dead(db: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert threadline(capsys, "db", "upgrade")[0] == 0
    asyncio.run(_dead_letter())
    return db


def test_list_and_show(dead: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = threadline(capsys, "events", "list")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:4] == ["ID", "PLATFORM", "EVENT", "RECEIVED"]
    assert row.split()[:3] == ["1", "slack", "EvDead"]
    assert row.endswith(f"{MAX_ATTEMPTS}  KeyError: 'x' more")

    code, out, _ = threadline(capsys, "events", "list", "--pending", "--json")
    assert [e["event_id"] for e in json.loads(out)] == ["EvWaiting"]

    code, out, _ = threadline(capsys, "events", "show", "1")
    assert code == 0
    assert "state:           dead" in out
    assert '"text": "hello"' in out
    code, out, _ = threadline(capsys, "events", "show", "1", "--json")
    shown = json.loads(out)
    assert (shown["attempts"], shown["payload"]["event_id"]) == (MAX_ATTEMPTS, "EvDead")


def test_retry_and_drop(dead: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = threadline(capsys, "events", "retry", "1")
    assert code == 0
    assert "back in line" in out
    assert "next retry pass" in out
    code, out, _ = threadline(capsys, "events", "list")
    assert out.strip() == "No dead letters."
    code, _, err = threadline(capsys, "events", "drop", "1")  # not a dead letter any more
    assert code == 2
    assert err.strip() == "threadline: error: Stored event 1 is not a dead letter"


def test_unknown_ids_are_one_line_errors(dead: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for verb in ("show", "retry", "drop"):
        code, out, err = threadline(capsys, "events", verb, "99")
        assert code == 2
        assert out == ""
        assert err.startswith("threadline: error: ")
        assert len(err.strip().splitlines()) == 1
