"""The schema, as SQLAlchemy Core tables. Alembic migrations must match it exactly
(a test runs autogenerate against a migrated database and expects no difference)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator

from bot.core.assist import DraftStatus
from bot.core.delivery import DeliveryStatus, Lane
from bot.core.domain import Action, Direction, Priority, Status
from bot.core.sla import ClockState, Metric
from bot.core.survey import SurveyOutcome

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on every database (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: instants must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: Iterable[str]) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({listed})"


# The platforms customers may write from, as integrations/platforms.py names them (the core knows
# a platform only by its name): a new one takes a migration of this check as well as an adapter.
CUSTOMER_PLATFORMS = ("discord", "slack")

OPEN_STATUS = text(f"status <> '{Status.CLOSED}'")

counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("avatar_url", String(1000)),
    Column("blocked_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    # Where the customer is reached instead of the platform's usual place (a Discord thread for
    # a customer whose DMs are closed); kept here, never in the platform, so it survives restarts.
    Column("contact_channel_id", String(64)),
    UniqueConstraint("platform", "external_id"),
    CheckConstraint(_one_of("platform", CUSTOMER_PLATFORMS), name="platform"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", BigInteger, nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("tier", SmallInteger, nullable=False),
    Column("assignee_id", String(32)),
    Column("assignee_name", String(200)),
    # Optimistic concurrency: every write checks and bumps it.
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    # The earliest SLA deadline still running; the SLA sweep reads tickets by status and this.
    Column("due_at", UTCDateTime),
    # Where the ticket's card lives on the agents' side (an opaque platform id).
    Column("workspace_ref", String(128)),
    # The customer's satisfaction rating (1 to 5), shown on the card.
    Column("csat_rating", SmallInteger),
    # What the AI features keep on the ticket (bot/core/assist.py), written by their own setters,
    # never by a move: the triage (domain.Triage.as_dict), whether agents' replies go out
    # translated, and whether a person took over from the automated answers.
    Column("triage", JSON),
    Column("translate_replies", Boolean, nullable=False, server_default=false()),
    Column("auto_answer_stopped", Boolean, nullable=False, server_default=false()),
    CheckConstraint(_one_of("status", Status), name="status"),
    CheckConstraint(_one_of("priority", Priority), name="priority"),
    CheckConstraint("tier BETWEEN 1 AND 3", name="tier"),
    Index(
        "uq_tickets_open_customer",
        "customer_id",
        unique=True,
        sqlite_where=OPEN_STATUS,
        postgresql_where=OPEN_STATUS,
    ),
    Index("ix_tickets_status_due_at", "status", "due_at"),
    Index("ix_tickets_status_resolved_at", "status", "resolved_at"),
    Index("ix_tickets_status_updated_at", "status", "updated_at"),
    Index("ix_tickets_workspace_ref", "workspace_ref"),
    Index("ix_tickets_customer_id_created_at", "customer_id", "created_at"),
)

# "The ticket is open" as queries should say it: spelled out, as the partial index above spells it.
# With the status a bound parameter, SQLite can use that index only by looking at the bound
# value, and so prepares the statement again each time a value is bound (every execution: the
# intake's first read took 63 µs that way, 12 µs this way); PostgreSQL's generic plan of a
# prepared statement cannot use the index at all.
TICKET_OPEN = tickets.c.status != text(f"'{Status.CLOSED}'")

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("reason", Text),
    Column("detail", Text),
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint(_one_of("action", Action), name="action"),
    Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("author_kind", String(16), nullable=False),
    Column("author_id", String(128), nullable=False),
    Column("author_name", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("edited_at", UTCDateTime),
    Column("deleted_at", UTCDateTime),
    CheckConstraint(_one_of("direction", Direction), name="direction"),
    Index("ix_messages_ticket_id_id", "ticket_id", "id"),
)

# Every platform copy of a message: the inbound original and each relayed copy. The unique key is
# what recognises a redelivered message.
message_refs = Table(
    "message_refs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("external_id", String(128), nullable=False),
    # The agent workspace the copy is in; "" on the customer's side.
    Column("workspace", String(32), nullable=False, server_default=""),
    UniqueConstraint("platform", "external_id"),
    Index("ix_message_refs_message_id", "message_id"),
)

# Raw platform events, stored before they are acknowledged; the unique key drops redeliveries.
inbound_events = Table(
    "inbound_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    # A failed attempt is counted and retried after `next_attempt_at`; past the limit the event
    # is a dead letter (`dead_at` set): set aside for a person to inspect, retry or drop.
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("next_attempt_at", UTCDateTime),
    Column("dead_at", UTCDateTime),
    UniqueConstraint("platform", "event_id"),
    Index("ix_inbound_events_processed_at", "processed_at"),
)

# Where a platform's event stream stood when last stored: Discord's gateway session (id, resume
# URL and the last sequence number whose dispatch is stored), so a new process can RESUME it and
# have Discord replay what was sent while the bot was away.
gateway_sessions = Table(
    "gateway_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("session_id", String(128), nullable=False),
    Column("resume_url", String(512), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The outbox: every outbound send is a row before it is sent (bot/core/delivery.py).
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("lane", String(16), nullable=False),
    # The queued event (bot/core/outbound.py): its type name, schema version and fields. No check
    # on the type: a build that meets one it does not know reports it (never drops it).
    Column("kind", String(32), nullable=False),
    Column("schema_version", Integer, nullable=False, server_default=text("1")),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="CASCADE")),
    Column("payload", JSON, nullable=False),
    Column("steps", JSON),  # platform ids of the parts sent so far, for a retry to skip
    # Which agent workspace a delivery on the agents' lane is for; "" on the customer's lane.
    Column("workspace", String(32), nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),  # attempts that ended
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("leased_until", UTCDateTime),
    # Times a dispatcher took it up (and one more for each attempt that ended with no answer):
    # more than `attempts` + 1 while leased means an earlier attempt may have sent it.
    Column("claims", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime),
    Column("external_id", String(128)),
    CheckConstraint(_one_of("lane", Lane), name="lane"),
    CheckConstraint(_one_of("status", DeliveryStatus), name="status"),
    # Lane heads: the oldest pending delivery of each ticket lane (in each workspace).
    Index(
        "ix_deliveries_status_ticket_id_lane_workspace_id",
        "status",
        "ticket_id",
        "lane",
        "workspace",
        "id",
    ),
    Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

# Tickets' cards in agent workspaces other than the main one (whose card is the ticket's
# `workspace_ref`): one per ticket and workspace; a card's place finds its ticket.
workspace_cards = Table(
    "workspace_cards",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace", String(32), primary_key=True),
    Column("ref", String(128), nullable=False),
    UniqueConstraint("workspace", "ref"),
)

# SLA clocks (bot/core/sla.py): one row per ticket and metric. The sweep reads them by
# next_action_at, so a sweep with nothing due touches no row at all.
sla_clocks = Table(
    "sla_clocks",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("metric", String(32), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("target_seconds", Float, nullable=False),
    Column("banked_seconds", Float, nullable=False),
    Column("running_since", UTCDateTime),
    Column("due_at", UTCDateTime),
    Column("due_version", Integer, nullable=False),
    Column("met_at", UTCDateTime),
    Column("breached_at", UTCDateTime),
    Column("breaches", Integer, nullable=False),
    Column("reminded_version", Integer, nullable=False),
    Column("escalations", Integer, nullable=False),
    Column("next_action_at", UTCDateTime),
    CheckConstraint(_one_of("metric", Metric), name="metric"),
    CheckConstraint(_one_of("state", ClockState), name="state"),
    Index("ix_sla_clocks_next_action_at", "next_action_at"),
)

# Every notification a job sends, claimed by inserting its key before the send is queued: the
# unique key is what makes a restarted sweep or a second replica skip it.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("metric", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("level", Integer, nullable=False),
    Column("due_version", Integer, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    UniqueConstraint("ticket_id", "metric", "kind", "level", "due_version"),
)

# Satisfaction surveys: at most one per ticket (an 'answered' or 'skipped' row ends it).
surveys = Table(
    "surveys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "ticket_id",
        Integer,
        ForeignKey("tickets.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("rating", SmallInteger),
    Column("comment", Text),
    Column("answered_at", UTCDateTime),
    CheckConstraint(_one_of("outcome", SurveyOutcome), name="outcome"),
    CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
    Index("ix_surveys_customer_id_sent_at", "customer_id", "sent_at"),
    Index("ix_surveys_answered_at", "answered_at"),
)

# The leads' daily digest, one row per local day it was sent for.
digests = Table(
    "digests",
    metadata,
    Column("day", Date, primary_key=True),
    Column("sent_at", UTCDateTime, nullable=False),
)

# What the AI features asked of a model: one row per call, for the cost per ticket and per day
# and the daily budget. A ticket's rows outlive nothing: they go with the ticket.
model_uses = Table(
    "model_uses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE")),
    Column("feature", String(32), nullable=False),
    Column("model", String(128), nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("used_at", UTCDateTime, nullable=False),
    CheckConstraint("prompt_tokens >= 0 AND completion_tokens >= 0", name="tokens"),
    Index("ix_model_uses_used_at", "used_at"),
    Index("ix_model_uses_ticket_id", "ticket_id"),
)

# Drafted replies offered to agents (bot/core/assist.py `Draft`). Kept so that Send works once,
# after a restart too: deciding is a conditional update of an 'offered' row, so of two agents
# pressing Send at once exactly one wins. A sent draft points at the reply it became.
drafts = Table(
    "drafts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("citations", JSON, nullable=False),  # [[slug, title, relevance], ...]
    Column("by_model", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", UTCDateTime),
    Column("message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL")),
    CheckConstraint(_one_of("status", DraftStatus), name="status"),
    Index("ix_drafts_ticket_id", "ticket_id"),
)

# Where each agent workspace shows a draft (its post), so that a draft decided in one is shown
# decided in every other.
draft_posts = Table(
    "draft_posts",
    metadata,
    Column("draft_id", Integer, ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace", String(32), primary_key=True),
    Column("ref", String(128), nullable=False),
)

# Leases: which process holds something only one may do at a time (the Discord gateway, when
# several replicas share one database). A holder renews before `expires_at`; after it anyone may
# take it (storage/leases_repository.py).
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
