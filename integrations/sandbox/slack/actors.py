"""Acting as people: what an agent or lead does in Slack, for tests and the demo."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import events, payloads, typed
from .blocks import parse_view
from .delivery import Ack
from .dispatch import Dispatcher
from .errors import SlackError
from .model import Ephemeral, JsonDict, Message, UploadedFile, View, iter_elements
from .response_url import ResponseUrls
from .workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class Stage:
    """What actors act through: the workspace, the way to the app, and the clock."""

    workspace: Workspace
    dispatcher: Dispatcher
    responses: ResponseUrls
    now: Callable[[], float]


class SlackUser:
    """One person in the workspace. Every action produces what Slack would send the app."""

    def __init__(self, stage: Stage, user_id: str) -> None:
        self._stage = stage
        self._ws = stage.workspace
        self.user = self._ws.user(user_id)
        self.id = user_id

    # messages

    async def post(
        self,
        channel: str,
        text: str,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        files: Sequence[tuple[str, bytes]] = (),
    ) -> str:
        """Post top level or in a thread (`channel` by id or name), with `files` as
        (name, bytes) shared along (a `file_share` message); returns the new `ts`.

        `text` is what the person types: Slack escapes it (see `typed`; mentions and links are
        made with `typed.mention` and its siblings)."""
        target = self._ws.find_channel(channel)
        shared = []
        for name, content in files:
            file_id = self._ws.new_id("F")
            upload = UploadedFile(
                file_id, name, len(content), self.id, content, channels=[target.id]
            )
            self._ws.files[file_id] = upload
            shared.append(upload.to_api(self._ws.file_host))
        message = self._ws.post(
            target.id,
            self.id,
            typed.as_sent(text),
            blocks=events.rich_text(typed.as_shown(text)),
            thread_ts=thread_ts,
            broadcast=broadcast,
            files=shared or None,
            subtype="file_share" if shared else None,
        )
        return message.ts

    async def dm(self, text: str, *, thread_ts: str | None = None) -> str:
        """Write to the bot in the DM with it; returns the `ts`."""
        channel, _ = self._ws.im_with(self.id)
        sent, shown = typed.as_sent(text), events.rich_text(typed.as_shown(text))
        return self._ws.post(channel.id, self.id, sent, blocks=shown, thread_ts=thread_ts).ts

    async def edit(self, channel: str, ts: str, text: str) -> None:
        """Edit one's own message (`message_changed`); `text` as typed, like `post`."""
        target = self._ws.find_channel(channel).id
        shown = events.rich_text(typed.as_shown(text))
        self._ws.edit(target, ts, self.id, typed.as_sent(text), shown)

    async def delete(self, channel: str, ts: str) -> None:
        """Delete one's own message (`message_deleted`)."""
        self._ws.delete(self._ws.find_channel(channel).id, ts, self.id)

    async def react(self, channel: str, ts: str, name: str) -> None:
        """Add an emoji reaction (`reaction_added`)."""
        self._ws.react(self._ws.find_channel(channel).id, ts, self.id, name.strip(":"))

    async def unreact(self, channel: str, ts: str, name: str) -> None:
        """Remove an emoji reaction (`reaction_removed`)."""
        self._ws.unreact(self._ws.find_channel(channel).id, ts, self.id, name.strip(":"))

    # buttons and selects on messages

    def _source(self, channel: str, ts: str) -> tuple[JsonDict, list[JsonDict], bool, str | None]:
        target = self._ws.find_channel(channel)
        message: Message | Ephemeral
        try:
            message = self._ws.message(target.id, ts)
        except SlackError:
            message = self._ws.ephemeral(target.id, self.id, ts)
        if isinstance(message, Message):
            return message.to_api(), message.blocks or [], False, message.thread_ts
        bot = self._ws.bot
        return message.to_api(bot.bot_id, bot.app_id), message.blocks or [], True, message.thread_ts

    async def click(self, channel: str, ts: str, label: str) -> Ack:
        """Click the button labelled `label` on a message (or an ephemeral shown to me)."""
        data, blocks, ephemeral, thread_ts = self._source(channel, ts)
        block_id, element = _find_button(blocks, label)
        action = payloads.action_payload(element, block_id)
        return await self._message_action(
            channel=channel,
            ts=ts,
            message=data,
            ephemeral=ephemeral,
            thread_ts=thread_ts,
            action=action,
        )

    async def select(
        self, channel: str, ts: str, option: str, *, action_id: str | None = None
    ) -> Ack:
        """Pick `option` (its label or value) in a select/overflow menu of a message."""
        data, blocks, ephemeral, thread_ts = self._source(channel, ts)
        block_id, element = _find_menu(blocks, option, action_id)
        action = payloads.action_payload(element, block_id, option)
        return await self._message_action(
            channel=channel,
            ts=ts,
            message=data,
            ephemeral=ephemeral,
            thread_ts=thread_ts,
            action=action,
        )

    async def _message_action(
        self,
        *,
        channel: str,
        ts: str,
        message: JsonDict,
        ephemeral: bool,
        thread_ts: str | None,
        action: JsonDict,
    ) -> Ack:
        target = self._ws.find_channel(channel)
        payload = payloads.base(self._ws.seed, "block_actions", self.user, self._trigger())
        payload.update(
            container=payloads.message_container(target, ts, ephemeral, thread_ts),
            channel={"id": target.id, "name": target.name},
            message=message,
            state={"values": {}},
            response_url=self._stage.responses.new(self.id, target.id, ts, ephemeral),
            actions=[action],
        )
        return await self._stage.dispatcher.interactive(payload, accepts_response_payload=False)

    # modals and App Home

    @property
    def modal(self) -> View | None:
        """The modal I am looking at, if any."""
        return self._ws.views.top(self.id)

    @property
    def home(self) -> View | None:
        """My App Home view, if the app published one."""
        return self._ws.views.homes.get(self.id)

    async def click_in_view(self, label: str, *, home: bool = False) -> Ack:
        """Click a button in my open modal (or, with `home=True`, in my Home tab)."""
        view = self.home if home else self.modal
        if view is None:
            raise LookupError("no home view" if home else "no modal open")
        block_id, element = _find_button(view.blocks, label)
        payload = payloads.base(self._ws.seed, "block_actions", self.user, self._trigger())
        payload.update(
            container=payloads.view_container(view),
            view=view.to_api(),
            actions=[payloads.action_payload(element, block_id)],
        )
        return await self._stage.dispatcher.interactive(payload, accepts_response_payload=False)

    async def submit(self, values: Mapping[str, Any] | None = None) -> Ack:
        """Submit my open modal; `values` maps block_id (or action_id) to what I entered.

        Applies the app's `response_action` (errors/update/push/clear) and returns its ack.
        """
        view = self.modal
        if view is None:
            raise LookupError("no modal open")
        view.state = payloads.form_state(view.blocks, values or {})
        missing = payloads.missing_inputs(view.blocks, view.state)
        if missing:
            raise ValueError(f"Slack would not submit: required inputs empty: {missing}")
        payload = payloads.base(self._ws.seed, "view_submission", self.user, self._trigger())
        payload.update(view=view.to_api(), response_urls=[])
        ack = await self._stage.dispatcher.interactive(payload, accepts_response_payload=True)
        self._apply_view_ack(view, ack)
        return ack

    def _apply_view_ack(self, view: View, ack: Ack) -> None:
        if not ack.acked:
            return  # the person sees an error; the modal stays open
        views = self._ws.views
        action = ack.response_action
        try:
            if action == "errors":
                view.errors = {str(k): str(v) for k, v in ack.errors.items()}
            elif action == "update":
                views.update(view, parse_view((ack.payload or {}).get("view")), None)
            elif action == "push":
                views.push(self.id, parse_view((ack.payload or {}).get("view")))
            elif action == "clear":
                views.close(self.id, everything=True)
            else:
                views.close(self.id)
        except SlackError as exc:
            log.warning("slack emulator: bad response_action %s: %s", action, exc.code)
        self._ws.changed()

    async def close_modal(self) -> Ack | None:
        """Close my top modal; sends `view_closed` when the view asked for it."""
        view = self.modal
        if view is None:
            raise LookupError("no modal open")
        self._ws.views.close(self.id)
        self._ws.changed()
        if not view.spec.get("notify_on_close"):
            return None
        payload = payloads.base(self._ws.seed, "view_closed", self.user, self._trigger())
        payload.update(view=view.to_api(), is_cleared=False)
        return await self._stage.dispatcher.interactive(payload, accepts_response_payload=False)

    async def open_home(self) -> None:
        """Open the app's Home tab (`app_home_opened`)."""
        channel, _ = self._ws.im_with(self.id)
        event = events.app_home_opened_event(self.id, channel.id, self._ws.next_ts(), self.home)
        self._ws.deliver(channel, event)

    # commands and shortcuts

    async def command(self, line: str, channel: str | None = None) -> Ack:
        """Run a slash command such as `/ticket new printer` (in my DM with the bot by default).

        What the app acks with is shown to me (ephemeral) or, for `in_channel`, posted.
        """
        command, _, text = line.strip().partition(" ")
        if not command.startswith("/"):
            raise ValueError(f"not a slash command: {line!r}")
        target = self._ws.find_channel(channel) if channel else self._ws.im_with(self.id)[0]
        url = self._stage.responses.new(self.id, target.id, None, False)
        fields = payloads.slash_command(
            seed=self._ws.seed,
            user=self.user,
            channel=target,
            command=command,
            text=text.strip(),
            response_url=url,
            trigger_id=self._trigger(),
        )
        ack = await self._stage.dispatcher.command(fields)
        self._show_command_ack(target.id, ack)
        return ack

    def _show_command_ack(self, channel: str, ack: Ack) -> None:
        body = ack.payload or {}
        text, blocks = str(body.get("text") or ""), body.get("blocks")
        if not text and not blocks:
            return
        bot = self._ws.bot.user_id
        blocks = blocks if isinstance(blocks, list) else None
        if body.get("response_type") == "in_channel":
            self._ws.post(channel, bot, text, blocks=blocks, check_member=False)
        else:
            self._ws.post_ephemeral(channel, self.id, text, blocks)

    async def shortcut(self, channel: str, ts: str, callback_id: str) -> Ack:
        """Use the message shortcut `callback_id` on a message."""
        target = self._ws.find_channel(channel)
        message = self._ws.message(target.id, ts)
        payload = payloads.base(self._ws.seed, "message_action", self.user, self._trigger())
        payload.update(
            callback_id=callback_id,
            action_ts=payloads.action_ts(),
            message_ts=ts,
            channel={"id": target.id, "name": target.name},
            message=message.to_api(),
            response_url=self._stage.responses.new(self.id, target.id, ts, False),
        )
        return await self._stage.dispatcher.interactive(payload, accepts_response_payload=False)

    async def global_shortcut(self, callback_id: str) -> Ack:
        """Use the global shortcut `callback_id`."""
        payload = payloads.base(self._ws.seed, "shortcut", self.user, self._trigger())
        payload.update(callback_id=callback_id, action_ts=payloads.action_ts())
        return await self._stage.dispatcher.interactive(payload, accepts_response_payload=False)

    # what I see

    def ephemerals(self, channel: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages shown to me (in `channel`, or anywhere)."""
        channel_id = self._ws.find_channel(channel).id if channel else None
        return [
            e
            for e in self._ws.ephemerals
            if e.user == self.id and (channel_id is None or e.channel == channel_id)
        ]

    def _trigger(self) -> str:
        return self._ws.new_trigger(self.id, self._stage.now())


def _find_button(blocks: list[JsonDict], label: str) -> tuple[str, JsonDict]:
    labels = []
    for block_id, element in iter_elements(blocks):
        if element.get("type") != "button":
            continue
        text = str(element.get("text", {}).get("text", ""))
        if label in (text, element.get("action_id")):
            return block_id, element
        labels.append(text)
    raise LookupError(f"no button {label!r}; buttons: {labels}")


def _find_menu(blocks: list[JsonDict], option: str, action_id: str | None) -> tuple[str, JsonDict]:
    for block_id, element in iter_elements(blocks):
        if element.get("type") == "button":
            continue
        if action_id is not None and element.get("action_id") != action_id:
            continue
        if action_id is not None or option in _choices(element):
            return block_id, element
    raise LookupError(f"no menu offering {option!r}")


def _choices(element: JsonDict) -> set[str]:
    found: set[str] = set()
    for option in payloads.options_of(element):
        found.add(str(option.get("value")))
        found.add(str(option.get("text", {}).get("text")))
    return found
