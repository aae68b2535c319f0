"""Wires the reporting service together."""

from tanso_runtime.app import ServiceSpec

from .adapters import tables
from .adapters.projections import PROJECTIONS
from .entrypoints.http import router
from .entrypoints.intensity import router as intensity_router
from .service_layer.handlers import BATCH_HANDLERS, EVENT_HANDLERS
from .settings import Settings


def build_spec(settings: Settings) -> ServiceSpec:
    return ServiceSpec(
        settings=settings,
        title="Tanso reporting",
        description="Analysis read models: totals and breakdowns of emissions, linked to the audit trail; "
                    "organisation intensity (F10); supplier analysis of granted disclosures (F19).",
        metadata=tables.metadata,
        tables=tables.messaging,
        projections=PROJECTIONS,
        routers=[router, intensity_router],
        event_handlers=EVENT_HANDLERS,
        batch_handlers=BATCH_HANDLERS,
    )
