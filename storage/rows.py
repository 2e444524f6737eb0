"""Rows to domain objects, shared by the repository's modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from bot.core.domain import Customer, CustomerId, Platform


def customer_row(row: Row[Any]) -> Customer:
    return Customer(
        id=CustomerId(row.id),
        platform=Platform(row.platform),
        external_id=row.external_id,
        display_name=row.display_name,
        avatar_url=row.avatar_url,
        blocked=row.blocked_at is not None,
        contact_channel=row.contact_channel_id,
    )
