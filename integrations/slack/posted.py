"""Slack posts tagged with the delivery that made them, and the look for one after a crash.

Slack has no idempotency key: a post that Slack accepted just before the process was killed,
and that was never recorded as sent, would be posted again by the next process. So every post
a delivery makes carries its delivery id and which of its posts it is, in message metadata
(invisible to people). When a delivery is taken up after its holder stopped mid-attempt
(`Delivery.maybe_sent`), each post is first looked for in its channel or thread, and a post
found there is used instead of a new one. Only such deliveries pay for the look: after a clean
failure (an error answer, a 429) nothing was posted and the retry posts at once. A post of
several customer's messages (grouped.py) lists every delivery it holds, with its message, so
each is found there whether it is taken up again with the others or alone.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.delivery import DeliveryJob

log = logging.getLogger(__name__)

EVENT_TYPE = "threadline_delivery"
# Slack's clock and ours differ a little: look a while before the delivery was queued.
LOOK_BACK_SECONDS = 300
PAGE = 200
MOST_PAGES = 10  # 2,000 messages since the delivery was queued: far more than any thread gets


def tag(job: DeliveryJob, step: str, parts: Sequence[DeliveryJob] = ()) -> dict[str, Any]:
    """The metadata of post `step` (which of its posts this is) of `job`'s delivery; `parts`:
    the deliveries whose messages a post of several holds, each with its message."""
    payload: dict[str, Any] = {
        "delivery": int(job.delivery.id),
        "step": step,
        # The ticket too: a card left behind by a move still says whose it was.
        "ticket": int(job.ticket.number),
    }
    if parts:
        payload["parts"] = [int(part.delivery.id) for part in parts]
        payload["messages"] = [int(part.message.id) if part.message else 0 for part in parts]
    return {"event_type": EVENT_TYPE, "event_payload": payload}


async def find_post(
    client: AsyncWebClient, job: DeliveryJob, step: str, args: Mapping[str, Any]
) -> dict[str, str] | None:
    """The post `step` of `job` that an interrupted attempt made where `args` would post now
    (`channel`, and `thread_ts` in a thread), as chat.postMessage would have answered it; None
    when there is none, or when Slack will not let the bot look (it then posts: a repeat is
    better than a loss). A customer's message (`piece0`) may also be found as one part of a
    post of several (see grouped.py): the answer then has the message's `part` ref too."""
    channel = str(args["channel"])
    async for message in _posts_since(client, job, args):
        made = _made_by(message, job, step)
        if made is not None:
            log.info(
                "Delivery %s: post %s was made before a restart; not posting it again",
                job.delivery.id,
                step,
            )
            found = {"channel": channel, "ts": str(message["ts"])}
            return {**found, "part": f"{channel}:{message['ts']}#{made}"} if made else found
    return None


async def find_parts(
    client: AsyncWebClient, jobs: Sequence[DeliveryJob], args: Mapping[str, Any]
) -> dict[int, str]:
    """The refs of the copies that interrupted attempts already made of these deliveries'
    messages (each alone, or a part of a post of several), by delivery id, in one look."""
    found: dict[int, str] = {}
    if not jobs:
        return found
    channel = str(args["channel"])
    async for message in _posts_since(client, jobs[0], args):
        for job in jobs:
            made = _made_by(message, job, "piece0")
            if made is not None and int(job.delivery.id) not in found:
                ref = f"{channel}:{message['ts']}"
                found[int(job.delivery.id)] = f"{ref}#{made}" if made else ref
    if found:
        log.info("Deliveries %s were posted before a restart; not posting them again", found)
    return found


async def _posts_since(
    client: AsyncWebClient, job: DeliveryJob, args: Mapping[str, Any]
) -> AsyncIterator[Mapping[str, Any]]:
    """The messages where `args` would post (`channel`, and `thread_ts` in a thread) since a
    while before `job`'s delivery was queued; nothing more when Slack will not let the bot look."""
    channel = str(args["channel"])
    thread = args.get("thread_ts")
    query: dict[str, Any] = {
        "channel": channel,
        "oldest": f"{job.delivery.created_at.timestamp() - LOOK_BACK_SECONDS:.6f}",
        "include_all_metadata": True,
        "limit": PAGE,
    }
    cursor = None
    try:
        for _ in range(MOST_PAGES):
            if thread:
                page = await client.conversations_replies(ts=thread, cursor=cursor, **query)
            else:
                page = await client.conversations_history(cursor=cursor, **query)
            for message in page.get("messages") or []:
                yield message
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return
    except SlackApiError as exc:
        if exc.response.status_code == 429 or exc.response.status_code >= 500:
            raise  # not now: the delivery is retried, and looks again
        log.warning(
            "Delivery %s: could not look for an earlier post in %s (%s); posting",
            job.delivery.id,
            channel,
            exc.response.get("error"),
        )


async def ticket_of_card(client: AsyncWebClient, channel: str, ts: str) -> int | None:
    """The number of the ticket whose card starts the thread at `ts` (from the card's
    metadata), or None: not a card of Threadline's, or Slack would not say."""
    try:
        found = await client.conversations_replies(
            channel=channel, ts=ts, limit=1, include_all_metadata=True
        )
    except SlackApiError as exc:
        log.info("Could not read the root of thread %s: %s", ts, exc.response.get("error"))
        return None
    root = next(iter(found.get("messages") or []), None)
    number = _tag_of(root).get("ticket")
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def _made_by(message: Mapping[str, Any], job: DeliveryJob, step: str) -> int | None:
    """Whether `message` is post `step` of `job`: None if not, 0 if it is, and the id of
    `job`'s message when it is a post of several holding that message (as its first piece)."""
    payload = _tag_of(message)
    if payload.get("delivery") == int(job.delivery.id) and payload.get("step") == step:
        return 0
    parts, messages = payload.get("parts"), payload.get("messages")
    if step != "piece0" or not isinstance(parts, list) or not isinstance(messages, list):
        return None
    mine = int(job.delivery.id)
    if mine not in parts or len(parts) != len(messages):
        return None
    held = messages[parts.index(mine)]
    return held if isinstance(held, int) and held > 0 else None


def _tag_of(message: object) -> Mapping[str, Any]:
    """What Threadline's tag on a Slack message says (empty: no tag of Threadline's)."""
    metadata = message.get("metadata") if isinstance(message, Mapping) else None
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != EVENT_TYPE:
        return {}
    payload = metadata.get("event_payload")
    return payload if isinstance(payload, Mapping) else {}
