"""Wires the supplier-exchange service: tables, projections, signing key, routers → ServiceSpec."""

from tanso_runtime.app import ServiceSpec

from .adapters import immutability, tables
from .adapters.projections import PROJECTIONS
from .adapters.signing import load_or_create_signing_key
from .entrypoints import pact
from .entrypoints.http import make_router
from .settings import Settings


def build_spec(settings: Settings) -> ServiceSpec:
    signer = load_or_create_signing_key(settings.signing_key_path)
    pact_context = pact.PactContext(settings)
    return ServiceSpec(
        settings=settings,
        title="Tanso supplier exchange",
        description="Disclosure requests and grants between tenants, public disclosure events, PACT API.",
        metadata=tables.metadata,
        tables=tables.messaging,
        projections=PROJECTIONS,
        routers=[make_router(signer), pact.make_router(pact_context)],
        on_startup=[immutability.on_startup, pact_context.start],
    )
