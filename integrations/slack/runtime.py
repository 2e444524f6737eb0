"""Slack, connected: Socket Mode when an app token is set, else HTTP mode on our listener."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Policy, Settings
from bot.core.inbound import RETRY_EVERY
from bot.core.service import TicketService
from integrations.http import HttpServer
from integrations.platforms import SLACK
from integrations.repeating import Repeating
from integrations.slack.assist_controls import AssistControls
from integrations.slack.blocks import CardAi
from integrations.slack.client import web_client
from integrations.slack.controls import CardControls
from integrations.slack.desk import SlackDesk
from integrations.slack.files import SlackFiles
from integrations.slack.intake import Intake, shape_problem
from integrations.slack.lookups import Lookups
from integrations.slack.payloads import Malformed, request_body
from integrations.slack.routing import routes_of
from integrations.slack.team import Team
from integrations.slack.work import WorkInProgress
from integrations.slack.workspace import SlackWorkspace

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
    intake = Intake(service)
    intake.register(app)  # first: what the desk and the listeners read is checked
    desk.register(app)
    CardControls(service, team, client, work, desk.as_customer_reads).register(app)
    AssistControls(
        service, team, client, work, max_reply_chars=policy.replies.max_reply_chars
    ).register(app)
    Lookups(service, team, client, work).register(app)
    intake.register_last(app)  # last: what none of the above takes is acknowledged
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
        self.workspace = SlackWorkspace(
            self.client,
            settings.slack_support_channel,
            settings.slack_escalation_channel,
            policy.slack,
            leads=settings.slack_leads,
            leads_channel=settings.slack_leads_channel,
            routes=routes_of(settings, policy.ai),
            threads=service,
            ai=CardAi(service.ai.team_language, buttons=True) if service.ai else None,
        )
        self._socket: AsyncSocketModeHandler | None = None
        self._verifier = SignatureVerifier(secret.get_secret_value()) if secret else None
        self.retries = Repeating("slack-retries", RETRY_EVERY, self.retry_pass)
        self.recovered = 0  # stored events processed at start, left over from before it
        assert settings.slack_bot_token is not None
        # Discord's default upload limit is 10 MiB: larger files are linked instead.
        self.files = SlackFiles(
            settings.slack_bot_token.get_secret_value(), 10 * 1024 * 1024, settings.slack_api_url
        )

    @property
    def socket_mode(self) -> bool:
        return self._settings.slack_app_token is not None

    def mount(self, server: HttpServer) -> None:
        """HTTP mode: Slack posts events and interactions to our listener."""
        if not self.socket_mode:
            server.add_post(EVENTS_PATH, self._http)

    async def _http(self, request: web.Request) -> web.Response:
        """One request from Slack: 401 unless signed and recent, 400 unless readable, and the
        app's answer otherwise (never a 500 for anything a request carries)."""
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refused(413, f"body larger than {request.client_max_size} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # Slack's signature is over text: this one cannot be Slack's
            return _refused(401, "body is not UTF-8")
        if not self._signed(text, request):
            return _refused(401, "bad or missing signature")
        try:
            wrong = shape_problem(request_body(text, request.content_type))
            if wrong is not None:  # checked before Bolt, whose own steps read it too
                raise Malformed(wrong)
            bolt_request = AsyncBoltRequest(
                body=text,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except (Malformed, ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            return _refused(400, f"malformed request: {exc}")
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    def _signed(self, text: str, request: web.Request) -> bool:
        """Slack's signature over the body, and a timestamp within five minutes."""
        if self._verifier is None:
            return False
        try:
            return self._verifier.is_valid(
                body=text,
                timestamp=request.headers.get("X-Slack-Request-Timestamp"),
                signature=request.headers.get("X-Slack-Signature"),
            )
        except (ValueError, TypeError, OverflowError):  # a timestamp that is no number
            return False

    async def start(self) -> None:
        # Leftovers first, so that a thread's older events go before its live ones. recover()
        # never raises, so start-up never depends on any one event.
        await self.recover()
        # Events the last process saw but never stored come again, after newer ones.
        self.desk.doubt.begin()
        token = self._settings.slack_app_token
        if token is not None:
            self._socket = AsyncSocketModeHandler(self.app, app_token=token.get_secret_value())
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: connected in Socket Mode")
        else:
            log.info("Slack: HTTP mode, expecting events at %s", EVENTS_PATH)
        self.retries.start()  # in the background: start-up never waits on any one event

    async def recover(self) -> None:
        """Process events that were stored and acknowledged but never processed (a crash),
        and failed ones long due. Never raises: a failure is counted against its event, and a
        database that does not answer leaves the leftovers to the retry passes."""
        try:
            leftovers = await self._service.unprocessed(SLACK, RECOVERY_AGE)
            for event_id, body in leftovers:
                log.info("Slack: processing event %s left over from before a restart", event_id)
                await self.desk.process_stored(event_id, body)
                self.recovered += 1
        except Exception as exc:
            log.warning("Slack: could not process leftover events: %r", exc)

    async def retry_pass(self) -> int:
        """Process the failed events whose retry is due; returns how many were tried."""
        due = await self._service.retry_due(SLACK)
        for event_id, body in due:
            log.info("Slack: retrying event %s", event_id)
            await self.desk.process_stored(event_id, body)
        return len(due)

    async def health(self) -> str:
        if self._socket is None:
            return "ok" if not self.socket_mode else "disconnected"
        client = self._socket.client
        return "connected" if await client.is_connected() else "disconnected"

    async def stop(self) -> None:
        await self.retries.stop()
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        await self._work.drain()
        await self._session.close()


def _refused(status: int, why: str) -> web.Response:
    log.warning("Slack: refused a request with %s: %s", status, why[:200])
    return web.Response(status=status, text=why[:200])
