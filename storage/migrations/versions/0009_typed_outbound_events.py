"""the delivery queue holds typed events: a type name, a schema version and their fields

Before, a delivery was a kind ("notice", "customer_notice", ...) and a payload whose keys ("to",
"sla", "csat", "event", "warning") chose what an adapter did. Each queued row of the old shape
is converted to the typed event it meant; a delivery's progress (the parts of a split message
already sent) moves from its payload to a column of its own. The check on `kind` goes: the code
reads the type and fails loudly on one it does not know, so a new event type needs no migration
of the constraint.

The conversion is written out here rather than imported: a migration must keep meaning what it
meant when it was written, whatever the code becomes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "'ticket_card', 'customer_message', 'agent_reply', 'notice', 'reply_delivered', "
    "'copy_edit', 'copy_delete', 'customer_notice'"
)
Row = tuple[str, dict[str, Any]]  # (kind, payload)

# Kinds that became an event of their own, with no fields.
RENAMED = {
    "ticket_card": "card_changed",
    "customer_message": "customer_wrote",
    "agent_reply": "agent_replied",
    "reply_delivered": "reply_delivered",
    "copy_edit": "copy_edited",
    "copy_delete": "copy_deleted",
}
# Customer notices, by the payload's "event".
NEWS = {
    "claimed": "ticket_claimed",
    "resolved": "ticket_resolved",
    "reopened": "ticket_reopened",
    "closed": "ticket_closed",
    "nudge": "awaiting_customer",
    "survey": "survey_requested",
}


def typed(kind: str, payload: Mapping[str, Any]) -> Row:
    """The typed event an old row meant; an unknown shape is kept as it was (and will be
    reported as unreadable, never dropped)."""
    if kind in RENAMED:
        return RENAMED[kind], {}
    if kind == "customer_notice":
        return _news(kind, payload)
    if kind == "notice":
        return _notice(kind, payload)
    return kind, dict(payload)


def _news(kind: str, payload: Mapping[str, Any]) -> Row:
    event = payload.get("event")
    if event == "opened":
        return "ticket_opened", {"due_at": payload.get("due")}
    if event == "claimed":
        return "ticket_claimed", {"agent": payload.get("agent")}
    if event in ("resolved", "reopened"):
        return NEWS[str(event)], {"by": str(payload.get("agent") or ""), "reason": None}
    if event in NEWS:
        return NEWS[str(event)], {}
    return kind, dict(payload)


def _notice(kind: str, payload: Mapping[str, Any]) -> Row:
    to = payload.get("to")
    if "failed_delivery" in payload:
        return "delivery_failed", {
            "delivery_id": int(payload["failed_delivery"]),
            "reason": str(payload.get("reason", "")),
        }
    if isinstance(payload.get("sla"), Mapping):
        info = payload["sla"]
        timing = {"metric": str(info.get("metric")), "due_at": info.get("due")}
        if to in ("agent", "channel"):
            holder = str(payload["user"]) if to == "agent" else None
            return "sla_reminder", {**timing, "holder": holder}
        late = int(info.get("late_seconds") or 0)
        audience = "leads" if to == "leads" else "thread"
        return "sla_breached", {**timing, "late_seconds": late, "audience": audience}
    if isinstance(payload.get("csat"), Mapping):
        answer = payload["csat"]
        return "survey_answered", {
            "customer": str(answer.get("customer", "The customer")),
            "rating": answer.get("rating"),
            "comment": answer.get("comment"),
            "audience": "leads" if to == "leads" else "thread",
        }
    if "text" in payload:
        audience = "escalations" if to == "escalations" else "thread"
        return "legacy_line", {"text": str(payload["text"]), "audience": audience}
    return kind, dict(payload)


def untyped(kind: str, lane: str, data: Mapping[str, Any]) -> Row:
    """The old shape of a typed row, for a downgrade (lines keep their facts, not their
    exact words)."""
    back = {new: old for old, new in RENAMED.items()}
    if kind in back:
        return back[kind], {}
    moved = _untyped_move(kind, lane, data)
    if moved is not None:
        return moved
    if kind in ("sla_reminder", "sla_breached", "survey_answered"):
        return _untyped_alert(kind, data)
    shapes: dict[str, Callable[[Mapping[str, Any]], Row]] = {
        "ticket_opened": lambda d: ("customer_notice", {"event": "opened", "due": d["due_at"]}),
        "ticket_claimed": lambda d: ("customer_notice", {"event": "claimed", "agent": d["agent"]}),
        "ticket_closed": lambda d: ("customer_notice", {"event": "closed"}),
        "awaiting_customer": lambda d: ("customer_notice", {"event": "nudge"}),
        "survey_requested": lambda d: ("customer_notice", {"event": "survey"}),
        "delivery_failed": lambda d: (
            "notice",
            {"failed_delivery": d["delivery_id"], "reason": d["reason"], "warning": True},
        ),
        "legacy_line": lambda d: ("notice", _line(d["text"], d.get("audience"))),
        "follows_up": lambda d: (
            "notice",
            {"text": f"This follows up on ticket #{d['number']} ({d['subject']})."},
        ),
    }
    if kind in shapes:
        return shapes[kind](data)
    return kind, dict(data)


def _untyped_move(kind: str, lane: str, data: Mapping[str, Any]) -> Row | None:
    if kind in ("ticket_resolved", "ticket_reopened") and lane == "customer":
        return "customer_notice", {"event": kind.removeprefix("ticket_"), "agent": data["by"]}
    if kind.startswith("ticket_") and "by" in data:  # a move, as a line in the thread
        line = f"{kind.removeprefix('ticket_').capitalize()} by {data['by']}"
        line += f" ({data['detail']})" if data.get("detail") else ""
        line += f": {data['reason']}" if data.get("reason") else ""
        return "notice", _line(line, data.get("audience"))
    return None


def _untyped_alert(kind: str, data: Mapping[str, Any]) -> Row:
    leads = {"to": "leads"} if data.get("audience") == "leads" else {}
    if kind == "survey_answered":
        answer = {k: data[k] for k in ("customer", "rating", "comment") if data.get(k)}
        return "notice", {**leads, "csat": answer}
    info = {
        "metric": data["metric"],
        "kind": "reminder" if kind == "sla_reminder" else "breach",
        "due": data["due_at"],
        "late_seconds": data.get("late_seconds", 0),
    }
    if kind == "sla_reminder":
        holder = data.get("holder")
        to = {"to": "agent", "user": holder} if holder else {"to": "channel"}
        return "notice", {**to, "sla": info}
    return "notice", {**leads, "sla": info}


def _line(text: str, audience: Any) -> dict[str, Any]:
    return {"text": text, "to": "escalations"} if audience == "escalations" else {"text": text}


def _convert(to_new: bool) -> None:
    bind = op.get_bind()
    table = sa.table(
        "deliveries",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("payload", sa.JSON),
        sa.column("lane", sa.String),
        sa.column("steps", sa.JSON),
    )
    for row_id, kind, lane, stored, steps in bind.execute(
        sa.select(table.c.id, table.c.kind, table.c.lane, table.c.payload, table.c.steps)
    ).all():
        payload = dict(stored or {})
        if to_new:
            done = payload.pop("steps", None)
            new_kind, data = typed(kind, payload)
            values: dict[str, Any] = {"kind": new_kind, "payload": data, "steps": done}
        else:
            new_kind, data = untyped(kind, lane, payload)
            if steps:
                data["steps"] = steps
            values = {"kind": new_kind, "payload": data}
        bind.execute(sa.update(table).where(table.c.id == row_id).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_kind"), type_="check")
        batch_op.add_column(
            sa.Column("schema_version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.add_column(sa.Column("steps", sa.JSON(), nullable=True))
    _convert(to_new=True)


def downgrade() -> None:
    _convert(to_new=False)
    # What the old build had no kind for is dropped: it could not have sent it.
    op.execute(f"DELETE FROM deliveries WHERE kind NOT IN ({OLD_KINDS})")  # noqa: S608 (constant)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("steps")
        batch_op.drop_column("schema_version")
        batch_op.create_check_constraint("kind", f"kind IN ({OLD_KINDS})")
