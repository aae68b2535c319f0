"""CloudEvents 1.0 envelope (structured JSON mode) plus the Tanso ``tenantid`` extension."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

#: Decimals travel as strings in JSON: exact, and safe for every consumer language.
DecimalStr = Annotated[
    Decimal,
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$",
                    "description": "Exact decimal number as a string, e.g. \"12000\" or \"0.000416\""}),
]

SCHEMA_BASE = "https://tanso.dev/schemas/events"


class IntegrationEvent(BaseModel):
    """Base of every integration event: closed, immutable, versioned by its type name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Set by each subclass, e.g. ``"ActivityRecorded"``.
    event_name: ClassVar[str] = ""
    #: Schema version; a breaking change is a new class with a new version, never an edit.
    version: ClassVar[int] = 1
    #: The producing service, which also names the topic.
    producer: ClassVar[str] = ""

    @classmethod
    def event_type(cls) -> str:
        return f"tanso.{cls.producer}.{cls.event_name}.v{cls.version}"

    @classmethod
    def schema_file(cls) -> str:
        return f"{cls.producer}.{cls.event_name}.v{cls.version}.json"


class Envelope(BaseModel):
    """One event on the wire. Kafka key = ``subject`` (the aggregate id); ``traceparent`` is a header."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    dataschema: str
    tenantid: str
    data: dict[str, Any]


def new_envelope(
    event: IntegrationEvent,
    *,
    subject: str,
    tenant_id: str,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    """Wrap ``event`` in an envelope; ids and times are supplied by the caller for determinism."""
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=f"/tanso/{event.producer}",
        type=event.event_type(),
        subject=subject,
        time=time or datetime.now(UTC),
        dataschema=f"{SCHEMA_BASE}/{event.schema_file()}",
        tenantid=tenant_id,
        data=event.model_dump(mode="json"),
    )


class EnvelopeMeta(BaseModel):
    """What a consumer knows about the event it handles, besides its typed data."""

    id: str
    type: str
    subject: str
    tenant_id: str
    time: datetime
    traceparent: str | None = Field(default=None)
