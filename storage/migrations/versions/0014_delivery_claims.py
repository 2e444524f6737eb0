"""how many times each delivery was claimed

A delivery's `attempts` counts the attempts that ended (sent, retried or failed). `claims` counts
the times a dispatcher took it up: more claims than ended attempts means an earlier holder stopped
(a kill, a lost machine) in the middle of an attempt, and may have sent it already. Platforms that
cannot refuse a repeat themselves (Slack) look for the earlier post before sending again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claims", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claims")
