"""customer notices in the delivery queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "'ticket_card', 'customer_message', 'agent_reply', 'notice', 'reply_delivered', "
    "'copy_edit', 'copy_delete'"
)


def _replace_check(kinds: str) -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_kind"), type_="check")
        batch_op.create_check_constraint("kind", f"kind IN ({kinds})")


def upgrade() -> None:
    _replace_check(KINDS + ", 'customer_notice'")


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE kind = 'customer_notice'")
    _replace_check(KINDS)
