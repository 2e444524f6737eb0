"""assign action in ticket events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "action IN ('open', 'claim', 'unclaim', 'escalate', 'pend', 'customer_reply', "
    "'resolve', 'reopen', 'close', 'set_priority')"
)
AFTER = (
    "action IN ('open', 'claim', 'assign', 'unclaim', 'escalate', 'pend', 'customer_reply', "
    "'resolve', 'reopen', 'close', 'set_priority')"
)


def _replace_check(sql: str) -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_ticket_events_action"), type_="check")
        batch_op.create_check_constraint("action", sql)


def upgrade() -> None:
    _replace_check(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM ticket_events WHERE action = 'assign'")
    _replace_check(BEFORE)
