"""The error an emulated Web API method answers with."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """A Slack API error: answered as HTTP 200 `{"ok": false, "error": code, **extra}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def to_api(self) -> dict[str, Any]:
        """The response body."""
        return {"ok": False, "error": self.code, **self.extra}
