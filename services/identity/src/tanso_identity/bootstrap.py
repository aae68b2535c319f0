"""Wires the identity service: tables, projections, signing key, routers → ServiceSpec."""

from __future__ import annotations

from tanso_runtime.app import ServiceRuntime, ServiceSpec

from .adapters import tables
from .adapters.machine_clients import machine_client_list
from .adapters.projections import PROJECTIONS
from .adapters.signing import TokenIssuer, load_or_create_signing_key, load_previous_signing_key
from .entrypoints import http, machine_clients
from .service_layer.handlers import EVENT_HANDLERS
from .settings import Settings


def build_spec(settings: Settings) -> ServiceSpec:
    previous = load_previous_signing_key(settings.previous_signing_key_path)
    issuer = TokenIssuer(load_or_create_signing_key(settings.signing_key_path), settings.auth.issuer,
                         settings.auth.audience, settings.token_lifetime_seconds,
                         previous=(previous,) if previous else ())

    async def trust_own_keys(runtime: ServiceRuntime) -> None:
        """Verify our own tokens without an HTTP round trip to our own JWKS endpoint."""
        runtime.verifier.add_jwks(issuer.jwks())

    return ServiceSpec(
        settings=settings,
        title="Tanso identity",
        description="Tenants, organisation units, users, sign-in and the JWKS other services trust.",
        metadata=tables.metadata,
        tables=tables.messaging,
        projections=[*PROJECTIONS, machine_client_list],
        routers=[http.build_router(settings, issuer), machine_clients.build_router(settings, issuer)],
        event_handlers=EVENT_HANDLERS,
        on_startup=[trust_own_keys],
    )
