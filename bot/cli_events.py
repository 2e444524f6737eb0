"""`threadline events`: stored platform events that could not be processed (dead letters)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from bot import app, cli_support
from bot.core.inbound import InboundEvent, InboundId
from bot.core.service import TicketService

T = TypeVar("T")


@click.group()
def events() -> None:
    """Stored platform events that failed every attempt (dead letters), and what to do."""


@events.command("list")
@click.option("--pending", is_flag=True, help="Events still waiting (or retrying) instead.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def events_list(pending: bool, limit: int, as_json: bool) -> None:
    """List dead letters (or, with --pending, events not processed yet), oldest first."""
    found = _with_service(lambda service: service.inbound_events(dead=not pending, limit=limit))
    if as_json:
        click.echo(json.dumps([_summary(e) for e in found], indent=2))
        return
    if not found:
        click.echo("No events waiting." if pending else "No dead letters.")
        return
    click.echo(f"{'ID':>6}  {'PLATFORM':<8}  {'EVENT':<24}  {'RECEIVED':<20}  TRIES  LAST ERROR")
    for e in found:
        received = e.received_at.strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{e.id:>6}  {e.platform:<8}  {e.event_id[:24]:<24}  {received:<20}  "
            f"{e.attempts:>5}  {_one_line(e.last_error)[:80]}"
        )


@events.command("show")
@click.argument("event", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def events_show(event: int, as_json: bool) -> None:
    """Show one stored event by its ID, payload included."""
    found = _with_service(lambda service: service.inbound_event(InboundId(event)))
    if as_json:
        click.echo(json.dumps({**_summary(found), "payload": found.payload}, indent=2))
        return
    summary = _summary(found)
    for name, value in summary.items():
        click.echo(f"{name + ':':<16} {value if value is not None else '-'}")
    click.echo("payload:")
    click.echo(json.dumps(found.payload, indent=2, ensure_ascii=False, sort_keys=True))


@events.command("retry")
@click.argument("event", type=click.IntRange(min=1))
def events_retry(event: int) -> None:
    """Put a dead letter back in line: the running bot processes it at its next retry pass."""
    found = _with_service(lambda service: service.retry_dead_letter(InboundId(event)))
    click.echo(
        f"Event {found.id} ({found.platform} {found.event_id}) is back in line; "
        "the running bot processes it at its next retry pass (within seconds)."
    )


@events.command("drop")
@click.argument("event", type=click.IntRange(min=1))
def events_drop(event: int) -> None:
    """Set a dead letter aside for good (it stays on record; a redelivery is dropped too)."""
    found = _with_service(lambda service: service.drop_dead_letter(InboundId(event)))
    click.echo(f"Event {found.id} ({found.platform} {found.event_id}) is dropped.")


def _with_service(call: Callable[[TicketService], Awaitable[T]]) -> T:
    """Run `call` against the ticket service on the configured database."""
    settings = cli_support.settings()

    async def work() -> T:
        async with app.runtime(settings) as rt:
            return await call(rt.service)

    return cli_support.run(work)


def _summary(e: InboundEvent) -> dict[str, Any]:
    def at(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": e.id,
        "state": e.state.value,
        "platform": e.platform,
        "event_id": e.event_id,
        "received_at": at(e.received_at),
        "attempts": e.attempts,
        "last_error": e.last_error,
        "next_attempt_at": at(e.next_attempt_at),
        "dead_at": at(e.dead_at),
        "processed_at": at(e.processed_at),
    }


def _one_line(text: str | None) -> str:
    return " ".join((text or "-").split())
