"""Two Slack workspaces side by side: each edits, strikes out and marks its own copies of a
message, never the other's (a message's copies say which workspace they are in)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from bot.core.delivery import MAIN_WORKSPACE
from bot.core.dispatcher import Dispatcher
from bot.core.domain import MessageRef
from bot.core.events import CustomerMessage
from bot.core.routes import Routes
from bot.core.service import TicketService
from integrations.platforms import DISCORD
from integrations.slack.workspace import SlackWorkspace
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repository import SqlStorage
from tests.support import FakeClock


class StubSlack:
    """Records what an adapter asked of one Slack workspace's API."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._ts = itertools.count(1)

    async def chat_postMessage(self, **args: Any) -> dict[str, Any]:
        self.calls.append(("chat_postMessage", args))
        return {"channel": args["channel"], "ts": f"{next(self._ts)}.0"}

    async def chat_update(self, **args: Any) -> dict[str, Any]:
        self.calls.append(("chat_update", args))
        return {"channel": args["channel"], "ts": args["ts"]}

    async def reactions_add(self, **args: Any) -> dict[str, Any]:
        self.calls.append(("reactions_add", args))
        return {}

    async def chat_getPermalink(self, **args: Any) -> dict[str, Any]:
        return {"permalink": "https://example.invalid"}


async def drain(dispatcher: Dispatcher) -> None:
    while await dispatcher.run_once():
        pass


async def test_staff_edits_its_own_copy_of_a_customer_message(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    await upgrade(engine)
    storage, clock = SqlStorage(engine), FakeClock()
    names = (MAIN_WORKSPACE, "staff")
    service = TicketService(storage, clock, workspaces=names)
    main_api, staff_api = StubSlack("C0MAIN"), StubSlack("C0STAFF")
    main = SlackWorkspace(main_api, "C0MAIN")  # type: ignore[arg-type]
    staff = SlackWorkspace(staff_api, "C0STAFF", name="staff")  # type: ignore[arg-type]
    dispatcher = Dispatcher(storage, clock, Routes({"main": main, "staff": staff}, {}), names)

    await service.receive_customer_message(
        CustomerMessage(DISCORD, "m1", "1001", "Alice", "helo", clock.now())
    )
    await drain(dispatcher)
    await service.edit_message(MessageRef(DISCORD, "m1"), "hello", clock.now())
    await drain(dispatcher)
    await service.delete_customer_message(MessageRef(DISCORD, "m1"), clock.now())
    await drain(dispatcher)
    try:
        for api, channel in ((main_api, "C0MAIN"), (staff_api, "C0STAFF")):
            updates = [args for name, args in api.calls if name == "chat_update"]
            # The card's redraw aside, the edit and the strike-out are on this one's own copy.
            copies = [a for a in updates if "(edited)" in a["text"] or "deleted" in a["text"]]
            assert [a["channel"] for a in copies] == [channel, channel]
            assert len({a["ts"] for a in copies}) == 1
    finally:
        await engine.dispose()
