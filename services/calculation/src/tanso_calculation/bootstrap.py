"""Wires the calculation service together."""

from tanso_ghg.units import registry
from tanso_runtime.app import ServiceSpec

from .adapters import tables
from .adapters.projections import PROJECTIONS
from .entrypoints.http import router
from .service_layer.handlers import BATCH_HANDLERS, EVENT_HANDLERS
from .settings import Settings


def build_spec(settings: Settings) -> ServiceSpec:
    return ServiceSpec(
        settings=settings,
        title="Tanso calculation",
        description="Emission lines computed from activities and factor versions, each with an audit record.",
        metadata=tables.metadata,
        tables=tables.messaging,
        projections=PROJECTIONS,
        routers=[router],
        event_handlers=EVENT_HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        on_startup=[warm_up_units],
    )


async def warm_up_units(_runtime) -> None:
    """Build the unit registry before the first request instead of during it (about a second)."""
    registry()
