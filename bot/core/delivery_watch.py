"""What the Dispatcher tells whoever watches the delivery queue: each outcome as it is recorded.

The Dispatcher calls these after the transaction that recorded the outcome, so what is watched
(metrics, say) counts only what the database holds. The core imports no metrics library: an
adapter implements `DeliveryWatcher`; `Unwatched` is the default and does nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from bot.core.delivery import Lane


class DeliveryWatcher(Protocol):
    """Called synchronously on the event loop: keep each call quick and never raise."""

    def done(self, lane: Lane, workspace: str, waited: timedelta) -> None:
        """A delivery was sent; `waited` is from its queueing to its being recorded sent."""

    def retried(self, lane: Lane, workspace: str) -> None:
        """A send failed and the delivery is queued again for later."""

    def failed(self, lane: Lane, workspace: str) -> None:
        """A delivery failed for good (the agents are told, unless it was theirs)."""


class Unwatched:
    """No one watches: every outcome is ignored."""

    def done(self, lane: Lane, workspace: str, waited: timedelta) -> None:
        pass

    def retried(self, lane: Lane, workspace: str) -> None:
        pass

    def failed(self, lane: Lane, workspace: str) -> None:
        pass
