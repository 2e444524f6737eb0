"""The gateway checkpoint: the sequence number below which every dispatch is stored."""

from __future__ import annotations

import json
from typing import Any

from integrations.discord.checkpoint import GatewayCheckpoints


class _Service:
    """Only what the tracker needs of the ticket service: storing the checkpoint."""

    def __init__(self) -> None:
        self.saved: list[Any] = []

    async def save_gateway_checkpoint(self, name: str, checkpoint: Any) -> None:
        self.saved.append(checkpoint)


def _frame(seq: int, kind: str, **data: Any) -> str:
    return json.dumps({"op": 0, "s": seq, "t": kind, "d": data})


def _tracker() -> tuple[GatewayCheckpoints, _Service]:
    service = _Service()
    tracker = GatewayCheckpoints(service)  # type: ignore[arg-type]
    tracker.receive(_frame(1, "READY", session_id="s1", resume_gateway_url="ws://x/resume"))
    return tracker, service


def _seq(tracker: GatewayCheckpoints) -> int:
    checkpoint = tracker.current()
    assert checkpoint is not None
    return checkpoint.seq


def test_the_checkpoint_waits_for_each_message_to_be_stored() -> None:
    tracker, _ = _tracker()
    tracker.receive(_frame(2, "GUILD_CREATE", id="9"))
    assert _seq(tracker) == 2  # nothing to store: handled on arrival
    tracker.receive(_frame(3, "MESSAGE_CREATE", id="100"))
    tracker.receive(_frame(4, "TYPING_START", channel_id="5"))
    tracker.receive(_frame(5, "MESSAGE_CREATE", id="101"))
    assert _seq(tracker) == 2
    tracker.done("MESSAGE_CREATE", 101)  # the later one first: still held by the earlier one
    assert _seq(tracker) == 2
    tracker.done("MESSAGE_CREATE", 100)
    assert _seq(tracker) == 5


def test_a_message_that_could_not_be_stored_holds_the_checkpoint_for_the_next_start() -> None:
    tracker, _ = _tracker()
    tracker.receive(_frame(2, "MESSAGE_CREATE", id="100"))
    tracker.receive(_frame(3, "MESSAGE_UPDATE", id="100"))
    tracker.receive(_frame(4, "MESSAGE_UPDATE", id="100"))
    tracker.failed("MESSAGE_CREATE", 100)
    tracker.done("MESSAGE_UPDATE", 100)
    tracker.done("MESSAGE_UPDATE", 100)
    assert _seq(tracker) == 1  # replayed from here after a restart


def test_a_new_session_starts_a_new_count_and_is_announced() -> None:
    tracker, _ = _tracker()
    told: list[int] = []
    tracker.on_session = told.append
    tracker.receive(_frame(2, "MESSAGE_CREATE", id="100"))
    tracker.receive(_frame(1, "READY", session_id="s2", resume_gateway_url="ws://y/resume"))
    checkpoint = tracker.current()
    assert checkpoint is not None
    assert (checkpoint.session_id, checkpoint.resume_url, checkpoint.seq) == (
        "s2",
        "ws://y/resume",
        1,
    )
    assert told == [2]


def test_frames_that_are_not_dispatches_or_not_json_are_ignored() -> None:
    tracker, _ = _tracker()
    for raw in ("not json", "[]", json.dumps({"op": 11}), json.dumps({"op": 0, "s": "x"})):
        tracker.receive(raw)
    assert _seq(tracker) == 1


async def test_nothing_is_stored_until_enabled_and_only_what_moved() -> None:
    tracker, service = _tracker()
    await tracker.save()
    assert service.saved == []  # an older session may still have to be caught up with
    tracker._enabled = True
    await tracker.save()
    await tracker.save()
    tracker.receive(_frame(2, "PRESENCE_UPDATE"))
    await tracker.save()
    assert [c.seq for c in service.saved] == [1, 2]
