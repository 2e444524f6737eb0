"""what the AI features asked of a model: tokens per call, for costs and the daily budget

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("feature", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "prompt_tokens >= 0 AND completion_tokens >= 0", name=op.f("ck_model_uses_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_model_uses_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_uses")),
    )
    with op.batch_alter_table("model_uses", schema=None) as batch_op:
        batch_op.create_index("ix_model_uses_used_at", ["used_at"], unique=False)
        batch_op.create_index("ix_model_uses_ticket_id", ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_model_uses_ticket_id")
        batch_op.drop_index("ix_model_uses_used_at")
    op.drop_table("model_uses")
