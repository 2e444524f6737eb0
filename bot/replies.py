"""Is an agent's message for the customer or an internal note? Pure, and decided in one place.

Notes never leave the agents' side; when in doubt a message is a note, since a note sent by
mistake can be re-sent, but a reply cannot be unsent.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import ReplyPolicy


@dataclass(frozen=True, slots=True)
class Outgoing:
    internal: bool
    body: str  # with the prefix that decided it removed


def classify(
    text: str,
    policy: ReplyPolicy,
    *,
    mentions_colleague: bool = False,
    via_shortcut: bool = False,
    with_files: bool = False,
) -> Outgoing:
    """Decide whether `text`, written in a ticket's thread, goes to the customer.

    `mentions_colleague`: it mentions a workspace user or group, so it is addressed to
    colleagues (a mention means nothing to the customer). `via_shortcut`: it was sent with the
    explicit "Reply to customer" action. `with_files`: files were shared with it, so even
    without words it has something for the customer (a note prefix still keeps it inside).
    """
    stripped = text.strip()
    lowered = stripped.casefold()
    for prefix in policy.note_prefixes:
        if lowered.startswith(prefix.casefold()):
            return Outgoing(True, stripped[len(prefix) :].strip())
    if mentions_colleague:
        return Outgoing(True, stripped)
    if stripped.startswith(policy.reply_prefix):
        body = stripped[len(policy.reply_prefix) :].strip()
        return Outgoing(not (body or with_files), body)
    if via_shortcut or policy.reply_mode == "public":
        return Outgoing(not (stripped or with_files), stripped)
    return Outgoing(True, stripped)
