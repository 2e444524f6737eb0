"""The Slack bot token goes with file downloads to Slack's own hosts, and nowhere else (an
agent's file from another workspace is fetched without it)."""

from __future__ import annotations

import pytest

from integrations.slack.files import SlackFiles

FILES = SlackFiles("xoxb-secret", 1024, "http://127.0.0.1:4321/api/")


@pytest.mark.parametrize(
    ("url", "owned"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/a.pdf", True),
        ("http://127.0.0.1:4321/files/F1/a.pdf", True),  # the API's host (a proxy, the sandbox)
        ("https://cdn.discordapp.com/attachments/1/2/a.pdf", False),
        ("https://files.slack.com.evil.example/a.pdf", False),
        ("https://evil.example/?files.slack.com", False),
        ("http://127.0.0.1:9999/files/F1/a.pdf", False),  # another port: another server
        ("file:///etc/passwd", False),
    ],
)
def test_only_slack_urls_are_slack_files(url: str, owned: bool) -> None:
    assert FILES.owns(url) is owned


async def test_the_token_is_never_sent_elsewhere() -> None:
    with pytest.raises(ValueError, match="not a Slack file"):
        await FILES.fetch("https://cdn.discordapp.com/attachments/1/2/a.pdf")
