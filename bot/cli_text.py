"""Text the `threadline` command prints beside bot/report.py: the settings with every credential
masked, and a ticket's SLA clocks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from bot.config import Settings
from bot.core.sla import ClockState, SlaClock

HIDDEN = "set (hidden)"
MASK = "***"
# A setting or URL query parameter with one of these in its name holds a credential.
_CREDENTIAL = re.compile(r"pass|secret|token|key|auth|credential|signature", re.IGNORECASE)


def settings_lines(settings: Settings) -> list[str]:
    """Each setting and its value, credentials masked (a URL keeps all but its password)."""
    lines = ["Settings (secrets are never shown):"]
    for name in Settings.model_fields:
        lines.append(f"  {name.upper():26} {shown(name, getattr(settings, name))}")
    return lines


def shown(name: str, value: Any) -> str:
    if value is None or value in ([], {}):
        return "(not set)"
    if isinstance(value, SecretStr) or _CREDENTIAL.search(name):
        return HIDDEN
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}={each}" for key, each in value.items())
    text = str(value)
    return masked_url(text) if "://" in text else text


def masked_url(url: str) -> str:
    """The URL with its password, and any credential in its query string, replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return MASK  # not a URL we can take apart: show none of it
    netloc = parts.netloc
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _CREDENTIAL.search(k) else v) for k, v in pairs], safe="*/:")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def sla_lines(clocks: list[SlaClock]) -> list[str]:
    """One line per SLA clock: a running one with its due time, the others with their state."""
    if not clocks:
        return ["  SLA: no clocks"]
    return [f"  SLA {clock.metric.label}: {_state(clock)}" for clock in clocks]


def _state(clock: SlaClock) -> str:
    breached = f" (breached {_when(clock.breached_at)})" if clock.breached_at else ""
    match clock.state:
        case ClockState.RUNNING:
            return f"due {_when(clock.due_at)}{breached}"
        case ClockState.MET:
            return f"met {_when(clock.met_at)}{breached}"
        case ClockState.PAUSED:
            return f"paused while waiting on the customer{breached}"
        case _:
            return f"stopped{breached}"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"
