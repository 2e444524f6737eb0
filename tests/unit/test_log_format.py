"""`LOG_FORMAT=json`: one JSON object a line, with the time, level, logger, message and any
exception; `text` (the default) stays the readable line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.logs import JsonFormatter, formatter


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("the cause")
        except ValueError:
            info = sys.exc_info()
    made = logging.LogRecord("bot.app", logging.WARNING, __file__, 1, message, args, info)
    made.created = 1_780_000_000.25  # 2026-05-28T20:26:40.250Z
    return made


def test_a_record_is_one_json_object_on_one_line() -> None:
    line = JsonFormatter().format(record("Delivery %s failed:\nline two", 42))
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-05-28T20:26:40.250+00:00",
        "level": "WARNING",
        "logger": "bot.app",
        "message": "Delivery 42 failed:\nline two",
    }


def test_an_exception_comes_as_its_traceback_text() -> None:
    found = json.loads(JsonFormatter().format(record("Crashed", exc=True)))
    assert found["message"] == "Crashed"
    assert found["exception"].startswith("Traceback (most recent call last):")
    assert found["exception"].endswith("ValueError: the cause")


def test_text_is_the_default_and_json_is_chosen_by_setting(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().log_format == "text"
    assert not isinstance(formatter("text"), JsonFormatter)
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert Settings().log_format == "json"
    assert isinstance(formatter("json"), JsonFormatter)
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()


def test_the_command_logs_json_lines(workdir: Path) -> None:
    """`threadline db upgrade` with LOG_FORMAT=json: every line on stderr is a JSON object
    (its report, on stdout, is unchanged)."""
    env = {
        **os.environ,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/log.db",
        "PYTHONPATH": str(Path(__file__).parents[2]),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines, "the command logged nothing"
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
    assert "Database migrated from empty" in lines[0]["message"]
    assert "schema created" in done.stdout
