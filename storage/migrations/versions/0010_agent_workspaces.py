"""more than one agent workspace: each has its own lane in the delivery queue and its own cards

Deliveries on the agents' lane name their workspace (the one there was before is "main"), and
lane heads are taken per ticket, lane and workspace, so a slow workspace never holds up another.
The main workspace's card stays on the ticket's row; any other workspace's cards are kept in
`workspace_cards`, one per ticket and workspace. A message's copies say which workspace they are
in ("" on the customer's side), so each workspace edits only its own; Slack's were the main's.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAIN = "main"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("workspace", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.drop_index("ix_deliveries_status_ticket_id_lane_id")
        batch_op.create_index(
            "ix_deliveries_status_ticket_id_lane_workspace_id",
            ["status", "ticket_id", "lane", "workspace", "id"],
            unique=False,
        )
    op.execute(f"UPDATE deliveries SET workspace = '{MAIN}' WHERE lane = 'agents'")  # noqa: S608
    with op.batch_alter_table("message_refs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("workspace", sa.String(length=32), server_default="", nullable=False)
        )
    op.execute(f"UPDATE message_refs SET workspace = '{MAIN}' WHERE platform = 'slack'")  # noqa: S608
    op.create_table(
        "workspace_cards",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("workspace", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_workspace_cards_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "workspace", name=op.f("pk_workspace_cards")),
        sa.UniqueConstraint("workspace", "ref", name=op.f("uq_workspace_cards_workspace_ref")),
    )


def downgrade() -> None:
    op.drop_table("workspace_cards")
    with op.batch_alter_table("message_refs", schema=None) as batch_op:
        batch_op.drop_column("workspace")
    # What waited for another workspace cannot be sent by a build that knows one.
    op.execute(f"DELETE FROM deliveries WHERE lane = 'agents' AND workspace <> '{MAIN}'")  # noqa: S608
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_ticket_id_lane_workspace_id")
        batch_op.create_index(
            "ix_deliveries_status_ticket_id_lane_id",
            ["status", "ticket_id", "lane", "id"],
            unique=False,
        )
        batch_op.drop_column("workspace")
