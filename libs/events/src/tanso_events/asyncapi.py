"""Generate the committed AsyncAPI 3.0 documents: one per service, and one for the public topic.

``python -m tanso_events.asyncapi`` rewrites ``libs/events/asyncapi/``; ``--check`` fails on drift.

Everything comes from the code: a service *sends* the events whose ``producer`` it is, to
``topic_for(producer, version)``; it *receives* the events of its ``EVENT_HANDLERS`` (in
``tanso_<service>.service_layer.handlers``, the dict its :class:`~tanso_events.kafka.EventConsumer`
dispatches on), with its service name as consumer group. Message payloads are the CloudEvents
envelopes (structured mode) with the event's JSON Schema, ``$ref``s inlined, as ``data``.

The documents are built as plain dicts rather than with FastStream's generator: our consumer is one
``bytes`` subscriber dispatching on the CloudEvents type, so FastStream would describe one untyped
message per topic, and it renders pydantic models in validation mode (a ``DecimalStr`` becomes
``number | string``), while the wire format is the serialization mode in ``libs/events/schemas``.
"""

from __future__ import annotations

import importlib
import json
import sys
from importlib.metadata import version as package_version
from pathlib import Path

from . import catalog
from .catalog import ALL_EVENTS, PUBLIC_DISCLOSURES_TOPIC, topic_for
from .compat import resolve
from .envelope import SCHEMA_BASE, IntegrationEvent
from .schemas import schema_of

ASYNCAPI_DIR = Path(__file__).resolve().parents[2] / "asyncapi"
SERVICES = ("identity", "factors", "activities", "calculation", "reporting", "supplier-exchange")
KAFKA_BINDING = {"bindingVersion": "0.5.0"}
CONTENT_TYPE = "application/cloudevents+json"

#: The payload field whose value is the envelope's ``subject``, which is the Kafka key (the aggregate
#: id). Taken from the ``subject=`` of each producer's ``uow.publish(...)`` call.
KEY_FIELDS: dict[type[IntegrationEvent], str] = {
    catalog.TenantRegistered: "tenant_id",
    catalog.OrgUnitRegistered: "org_unit_id",
    catalog.UserRegistered: "user_id",
    catalog.RevenueRecorded: "revenue_id",
    catalog.FactorPublished: "factor_code",
    catalog.ActivityRecorded: "activity_id",
    catalog.ActivityCorrected: "activity_id",
    catalog.ActivityVoided: "activity_id",
    catalog.EmissionCalculated: "line_id",
    catalog.CalculationLogicChanged: "logic_id",
    catalog.DisclosureGranted: "disclosure_id",
    catalog.DisclosureRequested: "request_id",
    catalog.DisclosureDeclined: "request_id",
}

#: Events offered to other companies' systems on the public topic (from supplier-exchange).
PUBLIC_EVENTS: tuple[type[IntegrationEvent], ...] = (catalog.DisclosureGranted,)

TRACEPARENT = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
KAFKA_HEADERS = {
    "type": "object",
    "description": "Kafka record headers. The record key is the aggregate id (CloudEvents subject).",
    "properties": {
        "content-type": {"type": "string", "const": CONTENT_TYPE},
        "traceparent": {"type": "string", "pattern": TRACEPARENT,
                        "description": "W3C Trace Context of the request that caused the event; "
                                       "also kept in the outbox row. Absent when there was none."},
    },
    "required": ["content-type"],
}


def consumed_events(service: str) -> list[type[IntegrationEvent]]:
    """The events a service handles: the keys of its ``EVENT_HANDLERS`` (none without handlers)."""
    name = f"tanso_{service.replace('-', '_')}.service_layer.handlers"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return []
    return sorted(getattr(module, "EVENT_HANDLERS", {}), key=lambda e: e.event_type())


def published_events(service: str) -> list[type[IntegrationEvent]]:
    return sorted((e for e in ALL_EVENTS if e.producer == service), key=lambda e: e.event_type())


def _by_topic(events: list[type[IntegrationEvent]], topic: str | None = None) -> dict[str, list]:
    out: dict[str, list] = {}
    for event in events:
        out.setdefault(topic or topic_for(event.producer, event.version), []).append(event)
    return out


def _inline(schema, root: dict):
    """The schema with local ``$ref``s replaced by their targets and ``$defs``/``$id`` dropped."""
    if isinstance(schema, list):
        return [_inline(s, root) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = resolve(schema, root)
    dropped = ("$defs", "$id", "$schema", "x-cloudevents-type")
    return {k: v if k in ("const", "default", "enum") else _inline(v, root)
            for k, v in schema.items() if k not in dropped}


def envelope_schema(event: type[IntegrationEvent]) -> dict:
    """The Kafka record value: a CloudEvents 1.0 envelope in structured mode with this event as data."""
    def const(value: str) -> dict:
        return {"type": "string", "const": value}

    data = schema_of(event)
    properties = {
        "specversion": const("1.0"),
        "id": {"type": "string", "description": "Event id (UUID); consumers deduplicate on it."},
        "source": const(f"/tanso/{event.producer}"),
        "type": const(event.event_type()),
        "subject": {"type": "string",
                    "description": f"Aggregate id, equal to data.{KEY_FIELDS[event]}; the Kafka key."},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": const("application/json"),
        "dataschema": const(f"{SCHEMA_BASE}/{event.schema_file()}"),
        "tenantid": {"type": "string", "description": "Tanso extension: the tenant the event belongs "
                     f"to; {catalog.PLATFORM_TENANT!r} for platform-wide data such as official factors."},
        "data": _inline(data, data),
    }
    return {"type": "object", "title": f"{event.event_name} v{event.version} (CloudEvents envelope)",
            "properties": properties, "required": list(properties)}


def message(event: type[IntegrationEvent]) -> dict:
    summary = schema_of(event).get("description")
    return {
        "name": event.event_type(),
        "title": f"{event.event_name} v{event.version}",
        **({"summary": summary} if summary else {}),
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
        "payload": {"$ref": f"#/components/schemas/{event.event_type()}"},
        "bindings": {"kafka": {"key": {"type": "string", "description": f"Aggregate id: data.{KEY_FIELDS[event]}"},
                               **KAFKA_BINDING}},
    }


def document(title: str, description: str, sends: dict[str, list], receives: dict[str, list],
             group_id: str | None = None) -> dict:
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    messages: dict[str, dict] = {}
    for action, by_topic in (("send", sends), ("receive", receives)):
        for topic, events in sorted(by_topic.items()):
            channel = channels.setdefault(topic, {"address": topic, "messages": {},
                                                  "bindings": {"kafka": {"topic": topic, **KAFKA_BINDING}}})
            for event in events:
                messages[event.event_type()] = message(event)
                channel["messages"][event.event_type()] = {"$ref": f"#/components/messages/{event.event_type()}"}
            operation = {"action": action, "channel": {"$ref": f"#/channels/{topic}"},
                         "messages": [{"$ref": f"#/channels/{topic}/messages/{e.event_type()}"} for e in events]}
            if action == "receive":
                operation["bindings"] = {"kafka": {"groupId": {"type": "string", "const": group_id},
                                                   **KAFKA_BINDING}}
            operations[f"{action}:{topic}"] = operation
    schemas = {"KafkaHeaders": KAFKA_HEADERS}
    schemas.update({name: envelope_schema(catalog.EVENTS_BY_TYPE[name]) for name in messages})
    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": package_version("tanso-events"), "description": description},
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def documents() -> dict[str, dict]:
    """File name → AsyncAPI document, for every service and the public topic."""
    docs = {
        f"{service}.json": document(
            f"Tanso {service}",
            f"Integration events the {service} service publishes and consumes (docs/events.md).",
            sends=_by_topic(published_events(service)),
            receives=_by_topic(consumed_events(service)),
            group_id=service,
        )
        for service in SERVICES
    }
    docs["public.json"] = document(
        "Tanso public disclosures",
        "Signed disclosures from supplier tenants to their buyers, for the buyers' own systems.",
        sends=_by_topic(list(PUBLIC_EVENTS), PUBLIC_DISCLOSURES_TOPIC), receives={})
    return docs


def rendered() -> dict[str, str]:
    return {name: json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            for name, doc in documents().items()}


def main(argv: list[str]) -> int:
    files = rendered()
    if "--check" in argv:
        committed = {p.name for p in ASYNCAPI_DIR.glob("*.json")}
        stale = sorted(n for n, text in files.items() if n not in committed
                       or (ASYNCAPI_DIR / n).read_text(encoding="utf-8") != text)
        stale += sorted(committed - files.keys())
        if stale:
            print(f"AsyncAPI documents out of date: {stale}; run `python -m tanso_events.asyncapi`")
            return 1
        return 0
    ASYNCAPI_DIR.mkdir(exist_ok=True)
    for name, text in files.items():
        (ASYNCAPI_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} AsyncAPI documents to {ASYNCAPI_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
