"""Keep HTTP(S)_PROXY from diverting calls to hosts that NO_PROXY or loopback exclude.

slack_sdk copies HTTPS_PROXY/HTTP_PROXY into every client it builds and ignores NO_PROXY, and
Bolt builds a fresh client for every request, so no client argument can opt out. The only lever
is the environment of this process: when Slack's base URL is excluded from proxying, the proxy
variables are blanked (slack_sdk treats an empty value as unset). discord.py ignores proxy
variables altogether.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import urllib.request
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def bypasses_proxy(url: str) -> bool:
    """True when calls to `url` must go direct: a loopback host, or one NO_PROXY names."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    return bool(urllib.request.proxy_bypass(host))


def keep_direct(url: str) -> list[str]:
    """Blank the proxy variables if `url` must go direct; returns the names blanked."""
    if not bypasses_proxy(url):
        return []
    blanked = [name for name in PROXY_VARIABLES if os.environ.get(name, "").strip()]
    for name in blanked:
        os.environ[name] = ""
    if blanked:
        log.warning(
            "Calls to %s must not go through a proxy; cleared %s for this process "
            "(slack_sdk ignores NO_PROXY)",
            urlsplit(url).hostname,
            ", ".join(blanked),
        )
    return blanked
