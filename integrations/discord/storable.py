"""Text from Discord as it can be stored and sent on."""

from __future__ import annotations


def storable(text: str) -> str:
    """Text without NUL characters, which PostgreSQL's text refuses and a Slack request may not
    carry (Discord's gateway passes them through)."""
    return text.replace("\x00", "")
