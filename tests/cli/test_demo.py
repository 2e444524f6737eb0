"""`threadline demo`: the real bot against the in-process emulators, a clock that moves, the data
directory, and who may reach the playground."""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot import demo, demo_cli
from bot.core.errors import ConfigError
from integrations.sandbox.discord import DEMO as DISCORD
from integrations.sandbox.discord import STAFF
from integrations.sandbox.slack import DEMO as SLACK
from tests.cli.cli_support import threadline


def test_instants_and_jobs_are_said_as_people_say_them() -> None:
    assert demo.shown(datetime(2026, 12, 7, 10, 0, tzinfo=UTC)) == "Mon 7 Dec 10:00 UTC"
    done = {"sla": 2, "csat": 1, "autoclose": 0, "digest": -1}
    assert demo.jobs_line(done) == (
        "Jobs: SLA notices 2, surveys 1, tickets moved on 0, digests failed (see threadline.log)."
    )


def test_the_clock_only_moves_forward() -> None:
    clock = demo.DemoClock()
    before = clock.now()
    clock.move(timedelta(hours=2))
    assert clock.moved() == timedelta(hours=2)
    assert clock.now() - before >= timedelta(hours=2)
    with pytest.raises(ValueError, match="forward"):
        clock.move(timedelta(seconds=-1))


def test_a_kept_clock_remembers_its_move(tmp_path: Path) -> None:
    kept = tmp_path / demo.CLOCK
    demo.DemoClock(kept).move(timedelta(days=1))
    assert demo.DemoClock(kept).moved() == timedelta(days=1)
    kept.write_text("soon")
    assert demo.DemoClock(kept).moved() == timedelta(0)  # unreadable: ignored, said in the log


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_need_no_permission(host: str) -> None:
    demo_cli.check_host(host, allow_remote=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.com"])
def test_any_other_host_is_refused_without_allow_remote(
    host: str, capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    code, out, err = threadline(capsys, "demo", "--host", host)
    assert code == 2
    assert f"refusing to serve the playground on {host}" in err
    assert "--allow-remote" in err
    assert out == ""
    demo_cli.check_host(host, allow_remote=True)  # asked for explicitly: allowed


def test_run_with_nothing_configured_points_at_the_demo(
    capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    code, _, err = threadline(capsys, "run")
    assert code == 2
    assert "threadline demo" in err


async def test_the_demo_runs_the_real_bot_and_its_clock_moves(tmp_path: Path) -> None:
    async with demo.running(tmp_path) as running:
        box, service = running.sandbox, running.bot.service
        assert service is not None
        assert await running.next_due() is None
        assert await running.advance(None) == "Nothing is due: no SLA clock is running."
        await box.discord.user(DISCORD.customer_id).send_dm("My order never arrived")
        cards = await box.slack.wait_for(lambda: box.slack.messages(SLACK.support), timeout=10)
        assert "#1001" in cards[0].text
        due = await running.next_due()
        assert due is not None  # the first response reminder, 45 min in (the demo's policy)
        assert timedelta(minutes=44) < due - running.now() <= timedelta(minutes=45)

        note = await running.advance(None)
        assert re.fullmatch(
            r"Clock moved 4[45] min( \d+ s)?, to \w{3} \d+ \w{3} \d\d:\d\d UTC\. "
            r"Jobs: SLA notices 1, .*",
            note,
        ), note
        assert running.moved() > timedelta(minutes=44)
        await running.advance(timedelta(hours=1))  # past the breach: the lead hears of it

        def breach_told() -> bool:
            return any("SLA breached" in m.text for m in box.slack.dm(SLACK.lead))

        assert await box.slack.wait_for(breach_told, timeout=10)
    # The data directory holds the database and the demo's policy; a second run goes on with it.
    assert (tmp_path / demo.DATABASE).exists()
    assert "24x7" in (tmp_path / demo.POLICY).read_text()
    async with demo.running(tmp_path) as again:
        assert again.bot.service is not None
        assert again.moved() > timedelta(hours=1, minutes=44)  # the clock does not go back
        kept = await again.bot.service.list_tickets()
        assert [(t.number, t.status.is_open) for t in kept] == [(1001, True)]
        # The platforms start empty; the customer writing again brings the ticket back to them.
        box = again.sandbox
        await box.discord.user(DISCORD.customer_id).send_dm("Still waiting")
        cards = await box.slack.wait_for(lambda: box.slack.messages(SLACK.support), timeout=10)
        assert "#1001" in cards[0].text

        def shown_in_thread() -> bool:
            return any(
                "Still waiting" in m.text for m in box.slack.thread(SLACK.support, cards[0].ts)
            )

        assert await box.slack.wait_for(shown_in_thread, timeout=10)


async def test_an_edited_policy_in_the_data_directory_is_kept(tmp_path: Path) -> None:
    demo.prepare(tmp_path)
    policy = tmp_path / demo.POLICY
    policy.write_text(policy.read_text().replace('first_response = "1h"', 'first_response = "2h"'))
    demo.prepare(tmp_path)
    assert 'first_response = "2h"' in policy.read_text()


async def test_the_playground_is_served_where_the_banner_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stop = asyncio.Event()
    serving = asyncio.create_task(
        demo_cli.serve("127.0.0.1", 0, tmp_path, allow_remote=False, stop=stop)
    )
    try:
        url = await _banner_url(capsys, serving)
        async with aiohttp.ClientSession() as http, http.get(url) as page:
            assert page.status == 200
            assert "Threadline" in await page.text()
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)
    out = capsys.readouterr().out
    assert "Stopping" in out
    assert (tmp_path / demo.LOG).exists()


async def _banner_url(capsys: pytest.CaptureFixture[str], serving: asyncio.Task[None]) -> str:
    seen = ""
    for _ in range(300):
        if serving.done():
            serving.result()  # raises what stopped it
        seen += capsys.readouterr().out
        found = re.search(r"Open (http://127\.0\.0\.1:\d+/?) in your browser", seen)
        if found:
            print(seen)  # for the assertions after
            return found.group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no address in the banner: {seen!r}")


async def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        where = rf"cannot serve the playground on 127\.0\.0\.1:{port}"
        with pytest.raises(ConfigError, match=where):
            await demo_cli.serve("127.0.0.1", port, tmp_path, allow_remote=False)


@pytest.mark.parametrize(
    ("raw", "chosen"),
    [
        ("slack", {"slack"}),
        ("discord", {"discord"}),
        ("slack,discord", {"slack", "discord"}),
        (" Discord , slack ", {"slack", "discord"}),
    ],
)
def test_workspaces_are_slack_discord_or_both(raw: str, chosen: set[str]) -> None:
    assert demo.parse_workspaces(raw) == chosen


@pytest.mark.parametrize("raw", ["", ",", "teams", "slack,teams"])
def test_other_workspaces_are_one_clear_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="--workspaces takes slack, discord or slack,discord"):
        demo.parse_workspaces(raw)


async def test_a_mixed_demo_gives_the_bot_discord_staff_settings_besides_slack(
    tmp_path: Path,
) -> None:
    async with demo.running(tmp_path, {"slack", "discord"}) as running:
        settings = running.bot.settings
        assert running.workspaces == {"slack", "discord"}
        assert running.sandbox.staff  # the staff world: roles, the forum, Sam and Lee
        assert settings.discord_staff_channel == str(STAFF.forum_channel_id)
        assert settings.discord_staff_role == str(STAFF.staff_role_id)
        assert settings.discord_leads_role == str(STAFF.lead_role_id)
        assert settings.discord_leads_channel == str(STAFF.staff_channel_id)
        assert settings.missing_for_slack() == []
        assert settings.missing_for_discord_staff() == []


async def test_a_discord_only_demo_has_no_slack_settings_at_all(tmp_path: Path) -> None:
    async with demo.running(tmp_path, {"discord"}) as running:
        settings = running.bot.settings
        assert running.bot.slack is None
        assert settings.slack_bot_token is None
        assert settings.slack_app_token is None
        assert settings.slack_support_channel is None
        assert settings.discord_staff_channel == str(STAFF.forum_channel_id)
    text = demo_cli.banner("http://x", tmp_path, kept=False, workspaces={"discord"})
    assert "with a Discord of its own" in text
    assert "an agent in Discord's staff channel (Sam Staff or Lee Lead)" in text
