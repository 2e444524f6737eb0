"""The `threadline` command. Errors people can fix get one line and exit status 2."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bot import app, cli_support, cli_text, report
from bot.cli_events import events
from bot.config import Settings, load_policy
from bot.core.domain import Platform, Status, TicketNumber
from bot.core.errors import DomainError, ThreadlineError
from integrations.discord import staff_check
from integrations.platforms import DISCORD, PLATFORMS

EXIT_USAGE = 2
# check-config found something to fix in what is configured (a missing setting, a wrong id).
EXIT_PROBLEMS = 1
# Discord ids (snowflakes) are 17 to 20 digits today; 15 to 21 leaves room either side.
SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")


class TicketNumberType(click.ParamType[TicketNumber, str]):
    """A public ticket number, written 1042 or #1042."""

    name = "NUMBER"

    def convert(
        self, value: str | TicketNumber, param: click.Parameter | None, ctx: click.Context | None
    ) -> TicketNumber:
        text = str(value).strip().removeprefix("#")
        if not text.isdigit():
            self.fail(f"{value!r} is not a ticket number (like 1042 or #1042)", param, ctx)
        return TicketNumber(int(text))


TICKET_NUMBER = TicketNumberType()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="threadline")
def cli() -> None:
    """Threadline: Discord customers, Slack agent threads, claims, SLAs and CSAT."""


cli.add_command(events)


@cli.command()
def run() -> None:
    """Migrate the database and start the bot for every configured platform."""
    settings = cli_support.settings()
    migration = cli_support.run(lambda: app.migrate(settings))
    click.echo(report.migration(migration))
    click.echo(report.platforms(settings))
    if settings.missing_for_slack() and settings.missing_for_discord():
        click.echo(report.nothing_to_run(settings), err=True)
        sys.exit(EXIT_USAGE)
    cli_support.run(lambda: _serve(settings))


async def _serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM, then shut down cleanly (pending deliveries stay queued)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bot = app.Bot(settings)
    await bot.start()
    app.settle_heap()
    assert bot.server is not None
    click.echo(
        f"Threadline is running; health at http://{settings.http_host}:{bot.server.port}/healthz"
    )
    try:
        await stop.wait()
    finally:
        click.echo("Stopping…")
        await bot.stop()


@cli.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (creates the schema on an empty database)."""
    settings = cli_support.settings()
    click.echo(report.migration(cli_support.run(lambda: app.migrate(settings))))


@cli.group()
def jobs() -> None:
    """The scheduled jobs (SLA reminders and breaches, surveys, auto-close, digest)."""


@jobs.command("run-once")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def jobs_run_once(as_json: bool) -> None:
    """Run every job once, now. What they queue is sent by the running bot."""
    settings = cli_support.settings()

    async def sweep() -> dict[str, int]:
        async with app.runtime(settings) as rt:
            return await app.run_jobs(rt)

    done = cli_support.run(sweep)
    if as_json:
        click.echo(json.dumps(done))
    else:
        click.echo("\n".join(f"{name:<10} {count}" for name, count in done.items()))
    if any(count < 0 for count in done.values()):
        sys.exit(1)


@cli.group()
def tickets() -> None:
    """Look at tickets."""


@tickets.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in Status]),
    help="Only tickets in this status.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def tickets_list(status: str | None, limit: int, as_json: bool) -> None:
    """List tickets, newest first."""
    settings = cli_support.settings()

    async def fetch() -> list[Any]:
        async with app.runtime(settings) as rt:
            return await rt.service.list_tickets(Status(status) if status else None, limit)

    found = cli_support.run(fetch)
    if as_json:
        click.echo(json.dumps([report.ticket_json(t) for t in found], indent=2))
    else:
        click.echo(report.ticket_table(found))


@tickets.command("show")
@click.argument("number", type=TICKET_NUMBER)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def tickets_show(number: TicketNumber, as_json: bool) -> None:
    """Show one ticket (NUMBER as 1042 or #1042): its messages and its history."""
    settings = cli_support.settings()

    async def fetch() -> Any:
        async with app.runtime(settings) as rt:
            return await rt.service.ticket_detail(number)

    detail = cli_support.run(fetch)
    if as_json:
        click.echo(json.dumps(report.detail_json(detail), indent=2))
    else:
        # The SLA clocks go under the ticket's header lines, before its messages.
        header, _, rest = report.detail_text(detail).partition("\n\n")
        click.echo("\n".join([header, *cli_text.sla_lines(detail.clocks), "", rest]))


@cli.group()
def customers() -> None:
    """Manage customers."""


@customers.command("block")
@click.argument("customer_id")
@click.option("--platform", type=click.Choice(PLATFORMS), default="discord")
def customers_block(customer_id: str, platform: str) -> None:
    """Drop CUSTOMER_ID's messages from now on, unanswered."""
    _set_blocked(customer_id, Platform(platform), blocked=True)


@customers.command("unblock")
@click.argument("customer_id")
@click.option("--platform", type=click.Choice(PLATFORMS), default="discord")
def customers_unblock(customer_id: str, platform: str) -> None:
    """Take CUSTOMER_ID's messages again."""
    _set_blocked(customer_id, Platform(platform), blocked=False)


def _set_blocked(customer_id: str, platform: Platform, *, blocked: bool) -> None:
    """Only a customer Threadline knows, or (to block) a Discord user id that can be one: a
    mistyped id must not quietly become a customer."""
    settings = cli_support.settings()

    async def change() -> tuple[Any, bool]:
        async with app.runtime(settings) as rt:
            known = await rt.service.find_customer(platform, customer_id) is not None
            if not known and not _may_block_unknown(customer_id, platform, blocked):
                raise DomainError(
                    f"no {platform} customer {customer_id!r} is known"
                    + (_unknown_hint(customer_id, platform) if blocked else "")
                )
            return await rt.service.set_blocked(platform, customer_id, blocked), known

    customer, known = cli_support.run(change)
    state = "blocked" if blocked else "no longer blocked"
    unseen = "" if known else " They have not written yet."
    click.echo(f"{customer.display_name} ({platform} {customer_id}) is {state}.{unseen}")


def _may_block_unknown(customer_id: str, platform: Platform, blocked: bool) -> bool:
    # Blocking someone before they ever write is allowed, for an id that can be a Discord user.
    return blocked and platform == DISCORD and bool(SNOWFLAKE.match(customer_id))


def _unknown_hint(customer_id: str, platform: Platform) -> str:
    if platform == DISCORD:
        return (
            f", and {customer_id!r} is not a Discord user id (a number of 17 to 20 digits, "
            "from Copy User ID in Discord)"
        )
    return ""


@cli.command()
@click.option("--slack-port", type=click.IntRange(0, 65535), default=8801, show_default=True)
@click.option("--discord-port", type=click.IntRange(0, 65535), default=8802, show_default=True)
@click.option("--openai-port", type=click.IntRange(0, 65535), default=8803, show_default=True)
@click.option("--no-limits", is_flag=True, help="Turn the platforms' rate limits off.")
def sandbox(slack_port: int, discord_port: int, openai_port: int, no_limits: bool) -> None:
    """Run local Slack and Discord emulators and an OpenAI-compatible model server to try
    Threadline (or any bot) against.

    Prints the settings that point a bot at them; on a terminal, a console acts as the demo's
    customers and agents (type help).
    """
    from bot import sandbox_cli  # noqa: PLC0415  (loads the emulators only when asked)

    cli_support.run(
        lambda: sandbox_cli.serve(slack_port, discord_port, openai_port, rate_limits=not no_limits)
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Serve the playground here.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the database (and the demo's threadline.toml) in DIR between runs.",
)
@click.option(
    "--allow-remote", is_flag=True, help="Allow a --host other than this machine's loopback."
)
@click.option(
    "--script",
    is_flag=True,
    help="Play one ticket's whole life headless, print what each side saw, exit 1 on a miss.",
)
@click.option(
    "--workspaces",
    default="slack",
    show_default=True,
    metavar="LIST",
    help="Where the agents work: slack, discord, or slack,discord (both, mirrored).",
)
def demo(
    *, host: str, port: int, data: Path | None, allow_remote: bool, script: bool, workspaces: str
) -> None:
    """Try Threadline with no accounts: the real bot against a Slack and a Discord of its own,
    in a playground in your browser (http://127.0.0.1:8080)."""
    from bot import demo_cli  # noqa: PLC0415  (loads the emulators and the playground only here)

    if script:
        from bot import demo_script  # noqa: PLC0415

        ok = cli_support.run(lambda: demo_script.play(data))
        sys.exit(0 if ok else 1)
    demo_cli.check_host(host, allow_remote=allow_remote)
    chosen = demo_cli.parse_workspaces(workspaces)
    cli_support.run(
        lambda: demo_cli.serve(host, port, data, allow_remote=allow_remote, workspaces=chosen)
    )


@cli.command("check-config")
def check_config() -> None:
    """Say what is set and what is missing for Slack, Discord and AI (never prints secrets),
    check the policy file (threadline.toml), and, with agents in Discord, ask Discord whether
    the staff channel, roles, permissions and intents are right (exit status 1 if not)."""
    settings = cli_support.settings()
    click.echo(
        "\n".join(
            [
                *cli_text.settings_lines(settings),
                "",
                report.platforms(settings),
                report.discord_staff(settings),
            ]
        )
    )
    problems = bool(settings.missing_for_discord_staff())
    if settings.discord_staff and not problems:
        found = cli_support.run(lambda: staff_check.check_staff(settings))
        click.echo("\n" + report.staff_check(settings, found))
        problems = bool(found.problems)
    path = settings.policy_path()
    load_policy(path)  # a ConfigError names the file and what is wrong in it
    click.echo(f"Policy: {path}: valid" if path else "Policy: no policy file; the defaults apply")
    if problems:
        sys.exit(EXIT_PROBLEMS)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="threadline", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        # A group named without a command: its help is what was asked for, not a mistake.
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        sys.exit(0)
    except click.exceptions.Abort:
        click.echo("threadline: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"threadline: error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USAGE)
    except ThreadlineError as exc:
        click.echo(f"threadline: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if isinstance(code, int) and code:
        sys.exit(code)
