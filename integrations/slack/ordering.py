"""Slack events of one ticket thread in arrival order (the shared per-key FIFO locks)."""

from __future__ import annotations

from integrations.ordering import KeyedLocks

__all__ = ["KeyedLocks"]
