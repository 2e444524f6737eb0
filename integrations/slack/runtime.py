"""Slack, connected: Socket Mode when an app token is set, else HTTP mode on our listener."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Policy, Settings
from bot.domain import Platform
from bot.service import TicketService
from integrations.http import HttpServer
from integrations.slack.client import web_client
from integrations.slack.controls import CardControls
from integrations.slack.desk import SlackDesk
from integrations.slack.files import SlackFiles
from integrations.slack.handler import SlackDeliveryHandler
from integrations.slack.lookups import Lookups
from integrations.slack.team import Team
from integrations.slack.work import WorkInProgress

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Events younger than this may still be in a listener's hands; older unprocessed ones were lost.
RECOVERY_AGE = timedelta(seconds=30)


def install(
    app: AsyncApp,
    service: TicketService,
    settings: Settings,
    policy: Policy,
    client: AsyncWebClient,
) -> tuple[SlackDesk, WorkInProgress]:
    """Register the desk (thread messages) and the card controls on a Bolt app."""
    team = Team(settings, client)
    work = WorkInProgress()
    desk = SlackDesk(service, policy, team, work)
    desk.register(app)
    CardControls(service, team, client, work).register(app)
    Lookups(service, team, client, work).register(app)
    return desk, work


class SlackSide:
    def __init__(self, settings: Settings, policy: Policy, service: TicketService) -> None:
        assert settings.slack_support_channel is not None
        self._settings = settings
        self._service = service
        self._session = aiohttp.ClientSession()
        self.client = web_client(settings, session=self._session)
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else None,
        )
        self.desk, self._work = install(self.app, service, settings, policy, self.client)
        self.deliveries = SlackDeliveryHandler(
            self.client,
            settings.slack_support_channel,
            settings.slack_escalation_channel,
            policy.slack,
            leads=settings.slack_leads,
            leads_channel=settings.slack_leads_channel,
        )
        self._socket: AsyncSocketModeHandler | None = None
        assert settings.slack_bot_token is not None
        # Discord's default upload limit is 10 MiB: larger files are linked instead.
        self.files = SlackFiles(settings.slack_bot_token.get_secret_value(), 10 * 1024 * 1024)

    @property
    def socket_mode(self) -> bool:
        return self._settings.slack_app_token is not None

    def mount(self, server: HttpServer) -> None:
        """HTTP mode: Slack posts events and interactions to our listener."""
        if not self.socket_mode:
            server.add_post(EVENTS_PATH, self._http)

    async def _http(self, request: web.Request) -> web.Response:
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def start(self) -> None:
        await self.recover()
        token = self._settings.slack_app_token
        if token is not None:
            self._socket = AsyncSocketModeHandler(self.app, app_token=token.get_secret_value())
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: connected in Socket Mode")
        else:
            log.info("Slack: HTTP mode, expecting events at %s", EVENTS_PATH)

    async def recover(self) -> None:
        """Process events that were stored and acknowledged but never processed (a crash)."""
        for event_id, body in await self._service.unprocessed(Platform.SLACK, RECOVERY_AGE):
            log.info("Slack: processing event %s left over from before a restart", event_id)
            await self.desk.process_event(body)

    async def health(self) -> str:
        if self._socket is None:
            return "ok" if not self.socket_mode else "disconnected"
        client = self._socket.client
        return "connected" if await client.is_connected() else "disconnected"

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        await self._work.drain()
        await self._session.close()
