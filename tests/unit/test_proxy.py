"""Loopback and NO_PROXY hosts are never reached through HTTP(S)_PROXY."""

from __future__ import annotations

import os

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import load_settings
from integrations.proxy import bypasses_proxy, keep_direct
from integrations.slack.client import web_client


@pytest.mark.parametrize(
    ("url", "direct"),
    [
        ("http://127.0.0.1:8080/api/", True),
        ("http://127.8.9.1/api/", True),
        ("http://[::1]:9/api/", True),
        ("http://localhost:9/api/", True),
        ("https://slack.com/api/", False),
        ("https://api.internal.example/api/", True),  # named in NO_PROXY below
    ],
)
def test_which_hosts_go_direct(monkeypatch: pytest.MonkeyPatch, url: str, direct: bool) -> None:
    monkeypatch.setenv("NO_PROXY", ".internal.example")
    assert bypasses_proxy(url) is direct


async def test_a_loopback_slack_api_is_not_proxied(
    workdir: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    client = web_client(load_settings(), token="xoxb-1")
    assert client.proxy is None
    # Bolt builds a fresh client per request; it must not pick the proxy up either.
    assert AsyncWebClient(base_url=client.base_url).proxy is None
    assert os.environ["HTTPS_PROXY"] == ""


def test_a_remote_slack_api_keeps_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert keep_direct("https://slack.com/api/") == []
    assert os.environ["HTTPS_PROXY"] == "http://proxy.example:3128"
