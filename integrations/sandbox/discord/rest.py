"""The aiohttp application: one middleware applies outages, faults, auth and rate limits."""

from __future__ import annotations

import asyncio
import math
import time
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Middleware

from .context import Context, Handler
from .errors import ApiError, json_body, unauthorized
from .faults import Fault
from .limits import Verdict
from .model import CallRecord

API_PREFIX = "/api/v10"
MAX_BODY = 26 * 1024 * 1024

# Interaction callbacks and interaction webhooks authenticate by the token in the URL,
# and are exempt from the global rate limit.
_TOKEN_ROUTES = ("/interactions/", "/webhooks/{webhook_id}/{webhook_token}")


def route_key(request: web.Request) -> str:
    """ "METHOD /template" of the matched route, e.g. "POST /channels/{channel_id}/messages"."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    return f"{request.method} {template.removeprefix(API_PREFIX)}"


def major_parameter(request: web.Request) -> str:
    """The part of a route that splits its rate-limit bucket (channel, guild, or webhook)."""
    info = request.match_info
    for name in ("channel_id", "guild_id", "interaction_id"):
        if name in info:
            return f"{name}={info[name]}"
    if "webhook_id" in info:
        return f"webhook={info['webhook_id']}:{info.get('webhook_token', '')}"
    return ""


def build_middleware(ctx: Context) -> Middleware:
    """The middleware that makes every /api/v10 reply behave like Discord's edge."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        route = route_key(request)
        try:
            response = await _answer(ctx, request, handler, route)
        except ApiError as error:
            response = error.response()
        path = request.path.removeprefix(API_PREFIX)
        template = route.split(" ", 1)[1]
        ctx.calls.append(CallRecord(request.method, template, path, response.status, time.time()))
        ctx.changed()
        return response

    return middleware


async def _answer(
    ctx: Context, request: web.Request, handler: Handler, route: str
) -> web.StreamResponse:
    if ctx.faults.is_down:
        return _html(502)
    fault = ctx.faults.take(route)
    if fault is not None:
        refused = await _apply_fault(ctx, fault)
        if refused is not None:
            return refused
    if request.match_info.http_exception is not None:
        status = request.match_info.http_exception.status
        raise ApiError(status, 0, f"{status}: {HTTPStatus(status).phrase}")
    token_route = route.split(" ", 1)[1].startswith(_TOKEN_ROUTES)
    if not token_route and request.headers.get("Authorization") != f"Bot {ctx.token}":
        raise unauthorized()
    verdict = ctx.limits.check(route, major_parameter(request), global_exempt=token_route)
    if verdict.refused is not None:
        return web.Response(status=429, body=verdict.refused, headers=verdict.headers)
    try:
        response = await handler(request)
    except ApiError as error:
        response = error.response()
    _add_headers(response, verdict)
    return response


def _add_headers(response: web.StreamResponse, verdict: Verdict) -> None:
    for name, value in verdict.headers.items():
        response.headers[name] = value


async def _apply_fault(ctx: Context, fault: Fault) -> web.StreamResponse | None:
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        return None
    if fault.kind == "hang":
        await ctx.faults.wait_released()
        return _html(504)
    if fault.kind == "cloudflare":
        return _html(429)
    if fault.kind == "rate_limit":
        return _rate_limited(fault)
    status = fault.status
    error = ApiError(status, 0, f"{status}: {HTTPStatus(status).phrase}")
    return error.response()


def _rate_limited(fault: Fault) -> web.Response:
    body = {
        "message": "You are being rate limited.",
        "retry_after": fault.retry_after,
        "global": fault.is_global,
    }
    headers = {
        "Content-Type": "application/json",
        "Retry-After": str(math.ceil(max(fault.retry_after, 0.001))),
        "Via": "1.1 google",
        "X-RateLimit-Scope": "global" if fault.is_global else "user",
    }
    if fault.is_global:
        headers["X-RateLimit-Global"] = "true"
    return web.Response(status=429, body=json_body(body), headers=headers)


def _html(status: int) -> web.Response:
    phrase = HTTPStatus(status).phrase
    text = f"<html><head><title>{status} {phrase}</title></head><body>{phrase}</body></html>"
    return web.Response(status=status, text=text, content_type="text/html")
