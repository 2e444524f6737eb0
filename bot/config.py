"""Settings from the environment and `.env`, and the policy file `threadline.toml`.

Every setting is named after its environment variable (`database_url` is `DATABASE_URL`).
`.env.example` lists them all; a test fails when the two disagree.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.ai_policy import AiPolicy
from bot.core.domain import MAX_TIER, MIN_TIER, Priority
from bot.core.errors import ConfigError
from bot.core.sla_policy import Duration, SlaPolicy
from bot.core.text_seen import visible

DEFAULT_POLICY_FILE = Path("threadline.toml")

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ROUTE_KEY = re.compile(r"^[\w][\w .&/-]{0,63}$")  # a priority, or a category's name
_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")
_DB_SCHEMES = ("sqlite", "postgresql", "postgres")

CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    database_url: str = "sqlite+aiosqlite:///threadline.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line, for collectors
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=3000, ge=0, le=65535)  # 0: any free port

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_support_channel: str | None = None
    # More support channels, by priority or category ("urgent=C0URGENT,billing=C0BILLING"): an
    # open ticket's card and thread are in the channel of the first route that matches it (its
    # priority, or its triage's category), others in SLACK_SUPPORT_CHANNEL. Each channel has
    # Slack's posting budget of its own, so a busy desk spreads its load.
    slack_channel_routes: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    slack_agents: CommaList = Field(default_factory=list)
    slack_leads: CommaList = Field(default_factory=list)
    slack_leads_channel: str | None = None
    slack_escalation_channel: str | None = None

    discord_bot_token: SecretStr | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    discord_guild_id: str | None = None
    # A text channel in that server: customers whose DMs are closed get a private thread there.
    discord_support_channel: str | None = None
    # Agents in Discord: a forum (or text) channel of that server where each ticket is a thread,
    # the role whose members are agents, and where leads hear of breaches and the digest.
    discord_staff_channel: str | None = None
    discord_staff_role: str | None = None
    discord_leads_role: str | None = None
    discord_leads_channel: str | None = None

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"

    threadline_config: Path | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].split("+", 1)[0] if "://" in value else ""
        if scheme not in _DB_SCHEMES:
            raise ValueError(
                "expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST:PORT/DB"
            )
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _prefixed(value, "xoxb-", "a Slack bot token")

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _prefixed(value, "xapp-", "a Slack app-level token")

    @field_validator("slack_api_url", "discord_api_url", "openai_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        if not re.match(r"^wss?://[^/\s]+", value):
            raise ValueError("expected a ws:// or wss:// URL")
        return value

    @field_validator("slack_support_channel", "slack_leads_channel", "slack_escalation_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_ID.match(value):
            raise ValueError("expected a Slack channel id like C0123ABCDEF (not a #name)")
        return value

    @field_validator("slack_channel_routes", mode="before")
    @classmethod
    def _channel_routes(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        routes: dict[str, str] = {}  # in the order given: the first that matches wins
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            key, equals, channel = (x.strip() for x in part.partition("="))
            key = key.casefold()
            if not equals or not _ROUTE_KEY.match(key):
                raise ValueError(f"{part!r}: expected PRIORITY_OR_CATEGORY=CHANNEL_ID")
            if not _CHANNEL_ID.match(channel):
                raise ValueError(f"{part!r}: expected a Slack channel id like C0123ABCDEF")
            if key in routes:
                raise ValueError(f"{key} is given two channels")
            routes[key] = channel
        return routes

    @property
    def slack_support_channels(self) -> tuple[str, ...]:
        """Every channel where tickets' threads live: SLACK_SUPPORT_CHANNEL first."""
        named = [self.slack_support_channel, *self.slack_channel_routes.values()]
        return tuple(dict.fromkeys(c for c in named if c is not None))

    @field_validator("slack_agents", "slack_leads", mode="before")
    @classmethod
    def _user_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        bad = [v for v in value if not _USER_ID.match(str(v))]
        if bad:
            raise ValueError(
                "expected comma-separated Slack user ids like U0123ABCDEF; "
                f"not ids: {', '.join(bad)}"
            )
        return value

    @field_validator("discord_guild_id")
    @classmethod
    def _guild(cls, value: str | None) -> str | None:
        if value is not None and not _SNOWFLAKE.match(value):
            raise ValueError("expected a Discord server id (a number of 15 to 21 digits)")
        return value

    @field_validator("discord_support_channel", "discord_staff_channel", "discord_leads_channel")
    @classmethod
    def _discord_channel(cls, value: str | None) -> str | None:
        if value is not None and not _SNOWFLAKE.match(value):
            raise ValueError("expected a Discord channel id (a number of 15 to 21 digits)")
        return value

    @field_validator("discord_staff_role", "discord_leads_role")
    @classmethod
    def _discord_role(cls, value: str | None) -> str | None:
        if value is not None and not _SNOWFLAKE.match(value):
            raise ValueError("expected a Discord role id (a number of 15 to 21 digits)")
        return value

    # --- what is missing, per platform ----------------------------------------------

    def missing_for_slack(self) -> list[str]:
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                ("SLACK_SUPPORT_CHANNEL", self.slack_support_channel),
            )
            if value is None
        ]
        if self.slack_app_token is None and self.slack_signing_secret is None:
            missing.append("SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")
        return missing

    def missing_for_discord(self) -> list[str]:
        return ["DISCORD_BOT_TOKEN"] if self.discord_bot_token is None else []

    @property
    def discord_staff(self) -> bool:
        """Whether agents work in Discord too (a staff channel is named)."""
        return self.discord_staff_channel is not None

    def missing_for_discord_staff(self) -> list[str]:
        """What agents in Discord need besides the staff channel: the bot, its server, and
        the role that says who is an agent."""
        if not self.discord_staff:
            return []
        return [
            name
            for name, value in (
                ("DISCORD_BOT_TOKEN", self.discord_bot_token),
                ("DISCORD_GUILD_ID", self.discord_guild_id),
                ("DISCORD_STAFF_ROLE", self.discord_staff_role),
            )
            if value is None
        ]

    @property
    def ai_enabled(self) -> bool:
        """An API key, or a base URL of a local model server that needs none."""
        return self.openai_api_key is not None or self.openai_base_url is not None

    def policy_path(self) -> Path | None:
        if self.threadline_config is not None:
            return self.threadline_config
        return DEFAULT_POLICY_FILE if DEFAULT_POLICY_FILE.exists() else None


def _prefixed(value: SecretStr | None, prefix: str, what: str) -> SecretStr | None:
    if value is not None and not value.get_secret_value().startswith(prefix):
        raise ValueError(f"expected {what} starting with {prefix}")
    return value


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one ConfigError naming each setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, Settings)) from None


def _describe(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        msg = error["msg"].removeprefix("Value error, ")
        name = field.upper() if model is Settings else field
        secret = any(word in field for word in ("token", "secret", "key"))
        if not field:  # a check across keys: its message names them, the input is the file
            lines.append(msg)
            continue
        got = "" if secret or error["type"] == "missing" else f" (got {error['input']!r})"
        lines.append(f"{name}: {msg}{got}")
    return "\n".join(lines)


# --- the policy file ---------------------------------------------------------------------


class TicketPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_priority: Priority = Priority.NORMAL
    default_tier: int = Field(default=MIN_TIER, ge=MIN_TIER, le=MAX_TIER)
    # A customer writing within this many days of resolution reopens the ticket; later, a new
    # ticket is opened that links the old one.
    reopen_window_days: float = Field(default=7, ge=0)
    # A resolved ticket the customer does not answer closes after this long.
    close_after: Duration = timedelta(days=4)
    # A ticket waiting on the customer: a reminder to them after this long, resolved after that.
    nudge_pending_after: Duration = timedelta(days=2)
    resolve_pending_after: Duration = timedelta(days=5)


class CustomerPolicy(BaseModel):
    """Limits that keep one customer from flooding the team."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    new_tickets_per_hour: int = Field(default=3, ge=1)
    messages_per_minute: int = Field(default=20, ge=1)
    max_attachments: int = Field(default=5, ge=0)
    max_attachment_mb: int = Field(default=25, ge=1)


class ReplyPolicy(BaseModel):
    """How an agent's message in a ticket thread is told apart from an internal note."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # "public": thread messages go to the customer unless they are notes;
    # "internal": thread messages stay internal unless they start with reply_prefix.
    reply_mode: Literal["public", "internal"] = "public"
    note_prefixes: tuple[str, ...] = (";;", "note:")
    reply_prefix: str = ">>"
    # Customers see replies under the team's name instead of the agent's.
    anonymous_replies: bool = False
    team_name: str = "Support"
    # The longest reply sent to a customer, in characters as the customer would see them: four
    # chat messages of 2,000 characters. A longer one (a pasted log, say) is refused and the
    # agent told, rather than split into a flood of messages.
    max_reply_chars: int = Field(default=8000, ge=1, le=100_000)

    @field_validator("note_prefixes")
    @classmethod
    def _prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not p.strip() for p in value):
            raise ValueError("note prefixes must not be empty")
        if any(not visible(p) for p in value):
            # Notes are recognised by what a person sees; an invisible prefix matches nothing.
            raise ValueError("note prefixes need a visible character")
        return value

    @field_validator("reply_prefix")
    @classmethod
    def _reply_prefix(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the reply prefix must not be empty")
        return value


class SlackPolicy(BaseModel):
    """How fast Threadline posts into one Slack channel: Slack allows about one message a
    second per channel with short bursts; pacing below that avoids storms of 429s."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A little under Slack's one a second: paced at the limit itself, jitter on the wire earns
    # 429s whose Retry-After (a whole second at least) costs far more than the margin.
    # 0: no pacing (tests, benchmarks).
    posts_per_second: float = Field(default=0.95, ge=0)
    burst: int = Field(default=3, ge=1)
    # Customers' files up to this size are re-uploaded into the thread; larger ones are linked.
    upload_limit_mb: int = Field(default=10, ge=0)


class DeliveryPolicy(BaseModel):
    """The delivery queue: a send in flight is leased for `lease` (renewed while it runs), so
    the sends of a process that died are taken up by the next one after at most that long."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lease: Duration = timedelta(seconds=20)

    @field_validator("lease")
    @classmethod
    def _lease(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=10):
            raise ValueError("a lease is 1s to 10m")
        return value


class DiscordPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Offered as a menu in the /support form when given (at most 25, Discord's limit).
    support_categories: tuple[str, ...] = Field(default=(), max_length=25)


class Policy(SlaPolicy):
    """Everything in `threadline.toml`; unknown keys are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tickets: TicketPolicy = TicketPolicy()
    replies: ReplyPolicy = ReplyPolicy()
    slack: SlackPolicy = SlackPolicy()
    customers: CustomerPolicy = CustomerPolicy()
    discord: DiscordPolicy = DiscordPolicy()
    delivery: DeliveryPolicy = DeliveryPolicy()
    # The AI features; absent: on with their defaults when a model is configured, else off.
    ai: AiPolicy | None = None

    def ai_policy(self, settings: Settings) -> AiPolicy | None:
        """The AI features' policy, or None when the deployment has none: no `[ai]` table and
        no model configured leaves tickets exactly as they are without AI."""
        if self.ai is not None:
            return self.ai
        return AiPolicy() if settings.ai_enabled else None

    @property
    def default_priority(self) -> Priority:
        """`[sla] default_priority` where given, else `[tickets] default_priority`."""
        return self.sla.default_priority or self.tickets.default_priority


def load_policy(path: Path | None) -> Policy:
    if path is None:
        return Policy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"THREADLINE_CONFIG: no policy file at {path}") from None
    except OSError as exc:
        raise ConfigError(f"THREADLINE_CONFIG: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        details = _describe(exc).replace("\n", f"\n{path}: ")
        raise ConfigError(f"{path}: {details}") from None
