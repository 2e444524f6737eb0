"""One error tree for everything Threadline raises on purpose.

Adapters and the CLI catch `ThreadlineError` and show its message; anything else is a bug.
"""

from __future__ import annotations


class ThreadlineError(Exception):
    """Base of every error Threadline raises on purpose; its message is meant for people."""


class ConfigError(ThreadlineError):
    """A setting or the policy file is missing or malformed."""


class StorageError(ThreadlineError):
    """The database cannot be reached or refused the operation."""


class DomainError(ThreadlineError):
    """A request that the ticket rules refuse; nothing was changed."""


class TicketNotFound(DomainError):
    def __init__(self, number: int) -> None:
        super().__init__(f"Ticket #{number} does not exist.")
        self.number = number


class NoTicketAt(DomainError):
    """A message written where no ticket's card is (`bot.core.events.CardAt`)."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"No ticket's thread is at {ref}.")
        self.ref = ref


class EventSeenBefore(ThreadlineError):
    """An event offered to be stored with what it recorded was stored before: nothing was
    written; the adapter handles it as it handles any redelivered event."""


class EventNotFound(ThreadlineError):
    """No stored inbound event by that id, or not one in the state asked for."""


class IllegalTransition(DomainError):
    def __init__(self, number: int, status: str, action: str, detail: str = "") -> None:
        message = f"Ticket #{number} is {status}; it cannot be {_past(action)}."
        super().__init__(f"{message} {detail}".strip())
        self.number = number
        self.status = status
        self.action = action


class AlreadyClaimed(IllegalTransition):
    """Raised to the loser of a claim race, naming who holds the ticket."""

    def __init__(self, number: int, status: str, holder_name: str, holder_id: str) -> None:
        super().__init__(number, status, "claim", f"{holder_name} already holds it.")
        self.holder_name = holder_name
        self.holder_id = holder_id


class CustomerRefused(DomainError):
    """A customer's message was not taken: blocked, or over a limit. `reply` is what to tell
    them (None: say nothing, as for a blocked customer)."""

    def __init__(self, message: str, reply: str | None) -> None:
        super().__init__(message)
        self.reply = reply


class ConcurrentUpdate(ThreadlineError):
    """Someone else changed the ticket between our read and our write; reload and retry."""

    def __init__(self, number: int) -> None:
        super().__init__(f"Ticket #{number} was changed by someone else at the same moment.")
        self.number = number


class OpenTicketExists(ThreadlineError):
    """A second open ticket for one customer was refused by the database."""


class PlatformError(ThreadlineError):
    """A platform (a chat service, the AI provider) refused or failed a call."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        unsure: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the platform asked us to wait, when it did
        # No answer came (a dropped connection, a timeout, a server error): the call may have
        # taken effect all the same, so a retry must look before sending again.
        self.unsure = unsure


_PAST = {
    "open": "opened",
    "claim": "claimed",
    "assign": "assigned",
    "unclaim": "unclaimed",
    "escalate": "escalated",
    "pend": "set to wait on the customer",
    "customer_reply": "woken by a customer reply",
    "resolve": "resolved",
    "reopen": "reopened",
    "close": "closed",
    "set_priority": "given a new priority",
    "reply": "replied to",
}


def _past(action: str) -> str:
    return _PAST.get(action, action)


class DraftDecided(DomainError):
    """Someone sent or discarded the draft first."""

    def __init__(self, status: str, by: str | None) -> None:
        who = f" by {by}" if by else ""
        super().__init__(f"This draft was already {status}{who}.")
        self.status = status
        self.by = by


class AssistantOff(DomainError):
    """An AI feature was asked for while it is turned off."""
