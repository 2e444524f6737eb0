"""Timeouts and delays of the platform, shortened in tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Timing:
    """How long Slack waits and when it retries. Defaults are Slack's; tests use tiny values."""

    ack_timeout: float = 3.0
    """Socket Mode: seconds an envelope may stay unacknowledged (then it is redelivered)."""
    http_timeout: float = 3.0
    """HTTP mode: seconds the app has to answer 2xx."""
    retry_delays: tuple[float, ...] = (0.0, 60.0, 300.0)
    """Delays before each event redelivery (Slack: at once, 1 min, 5 min); its length is the
    number of retries."""
    trigger_ttl: float = 3.0
    """Seconds a `trigger_id` can open a modal."""
    connect_wait: float = 10.0
    """Seconds an interaction waits for the app to have a Socket Mode connection."""
    response_url_ttl: float = 1800.0
    """Seconds a `response_url` stays usable (30 minutes)."""
    response_url_uses: int = 5
    """How many times a `response_url` may be used."""
    hang_seconds: float = 3600.0
    """How long a hanging fault holds a request (it ends earlier on clear or stop)."""

    @classmethod
    def fast(cls) -> Timing:
        """Timings for tests: retries come at once; a missing ack is noticed within a second.

        Tests of the timeouts themselves shorten `ack_timeout`/`http_timeout` further.
        """
        return cls(
            ack_timeout=1.0,
            http_timeout=1.0,
            retry_delays=(0.0, 0.05, 0.05),
            trigger_ttl=3.0,
            connect_wait=5.0,
        )
