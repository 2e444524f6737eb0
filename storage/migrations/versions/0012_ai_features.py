"""the AI features: a ticket's triage and switches, drafted replies, the assistant's lane

Tickets keep their triage (JSON) and two switches: agents' replies go out translated, and the
automated answers stopped because a person took over. Drafted replies are kept in `drafts` so
that Send works once. The delivery queue gains a third lane, `assistant`, for what the AI
features are asked.

The tickets' columns are added (and dropped) in place, never by rebuilding the table: on SQLite
a rebuild drops the old table, and with foreign keys on that deletes every row that refers to a
ticket (messages, events, deliveries). Dropping a column in place needs SQLite 3.35 or later.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANES_BEFORE = "lane IN ('agents', 'customer')"
LANES_AFTER = "lane IN ('agents', 'customer', 'assistant')"
TICKET_SWITCHES = ("translate_replies", "auto_answer_stopped")


def _replace_lane_check(sql: str) -> None:
    # SQLite cannot alter a check: the batch rebuilds `deliveries` (nothing refers to its rows).
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_lane"), type_="check")
        batch_op.create_check_constraint("lane", sql)


def upgrade() -> None:
    op.add_column("tickets", sa.Column("triage", sa.JSON(), nullable=True))
    for name in TICKET_SWITCHES:
        # A plain '0' is false on both databases, and SQLite adds a column with a literal
        # default in place.
        op.add_column("tickets", sa.Column(name, sa.Boolean(), server_default="0", nullable=False))
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("by_model", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('offered', 'sent', 'discarded')", name=op.f("ck_drafts_status")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_drafts_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_drafts_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    op.create_index("ix_drafts_ticket_id", "drafts", ["ticket_id"], unique=False)
    _replace_lane_check(LANES_AFTER)


def downgrade() -> None:
    # What was asked of the assistant cannot be sent by a build without one.
    op.execute("DELETE FROM deliveries WHERE lane = 'assistant'")
    _replace_lane_check(LANES_BEFORE)
    op.drop_index("ix_drafts_ticket_id", table_name="drafts")
    op.drop_table("drafts")
    for name in (*reversed(TICKET_SWITCHES), "triage"):
        op.drop_column("tickets", name)
