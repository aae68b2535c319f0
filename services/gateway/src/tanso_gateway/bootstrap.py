"""Wire the gateway's parts; tests inject the upstream client, the verifier and the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from tanso_runtime.auth import TokenVerifier

from .adapters.upstream import Upstreams
from .domain.rate_limit import TokenBucketLimiter
from .settings import Settings


def parse_public_paths(entries: list[str]) -> frozenset[tuple[str, str]]:
    """``["POST /api/identity/token", ...]`` → ``{("POST", "/api/identity/token"), ...}``."""
    routes = set()
    for entry in entries:
        method, _, path = entry.strip().partition(" ")
        if not path.startswith("/"):
            raise ValueError(f"public_paths entry {entry!r} must look like 'POST /api/identity/token'")
        routes.add((method.upper(), path.strip()))
    return frozenset(routes)


@dataclass
class Gateway:
    settings: Settings
    upstreams: Upstreams
    verifier: TokenVerifier
    limiter: TokenBucketLimiter
    public_routes: frozenset[tuple[str, str]]
    clock: Callable[[], float] = time.monotonic
    owns_client: bool = field(default=True)

    def is_public(self, method: str, path: str) -> bool:
        return (method.upper(), path) in self.public_routes

    async def aclose(self) -> None:
        if self.owns_client:
            await self.upstreams.client.aclose()


def build_gateway(
    settings: Settings,
    *,
    client: httpx.AsyncClient | None = None,
    verifier: TokenVerifier | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Gateway:
    owns_client = client is None
    if client is None:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.upstream_timeout_seconds, connect=settings.connect_timeout_seconds),
            # Idle connections are dropped before uvicorn's 5 s keep-alive closes them upstream, so the
            # gateway never sends a request on a connection the service is closing (a spurious 502).
            limits=httpx.Limits(max_connections=500, max_keepalive_connections=100, keepalive_expiry=2.0),
            follow_redirects=False,
        )
    upstreams = Upstreams(settings.upstreams, client, health_timeout=settings.health_timeout_seconds,
                          openapi_ttl=settings.openapi_cache_seconds,
                          processing_timeout=settings.processing_timeout_seconds)
    verifier = verifier or TokenVerifier(settings.auth.jwks_url, settings.auth.issuer, settings.auth.audience)
    limiter = TokenBucketLimiter(settings.rate_limit.requests_per_second, settings.rate_limit.burst)
    return Gateway(settings, upstreams, verifier, limiter, parse_public_paths(settings.public_paths),
                   clock=clock, owns_client=owns_client)
