"""The committed JSON Schemas and AsyncAPI documents are exactly what the code generates."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from tanso_events import asyncapi, schemas
from tanso_events.catalog import ALL_EVENTS, ActivityRecorded, EmissionCalculated, topic_for
from tanso_events.envelope import Envelope, new_envelope

DOCUMENTS = asyncapi.documents()


def _committed(directory, pattern="*.json") -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob(pattern))}


def test_committed_event_schemas_match_the_catalogue():
    generated, committed = schemas.rendered(), _committed(schemas.SCHEMA_DIR)
    stale = sorted(n for n in generated.keys() | committed.keys() if generated.get(n) != committed.get(n))
    assert not stale, f"event schemas out of date: {stale}; run `make schemas`"


def test_committed_asyncapi_documents_match_the_code():
    generated, committed = asyncapi.rendered(), _committed(asyncapi.ASYNCAPI_DIR)
    stale = sorted(n for n in generated.keys() | committed.keys() if generated.get(n) != committed.get(n))
    assert not stale, (f"AsyncAPI documents out of date: {stale}; run `make schemas` "
                       "(or `uv run python -m tanso_events.asyncapi`)")


def test_every_producer_has_a_document_and_every_event_a_key():
    assert {e.producer for e in ALL_EVENTS} <= set(asyncapi.SERVICES)
    for event in ALL_EVENTS:
        schema = schemas.schema_of(event)
        key = asyncapi.KEY_FIELDS[event]
        assert schema["properties"][key]["type"] == "string" and key in schema["required"], event


def test_the_catalogue_in_docs_lists_every_event_as_the_code_defines_it():
    text = (Path(__file__).parents[2] / "docs" / "events.md").read_text(encoding="utf-8")
    consumers = {s: asyncapi.consumed_events(s) for s in asyncapi.SERVICES}
    for e in ALL_EVENTS:
        row = (f"| `{e.event_type()}` | `{topic_for(e.producer, e.version)}` | `{asyncapi.KEY_FIELDS[e]}` "
               f"| {e.producer} | {', '.join(s for s in asyncapi.SERVICES if e in consumers[s]) or '—'} "
               f"| [`{e.schema_file()}`](../libs/events/schemas/{e.schema_file()}) |")
        assert row in text, f"docs/events.md catalogue is out of date; expected the row\n{row}"


def test_the_documented_envelope_has_the_fields_of_the_envelope_model():
    payload = asyncapi.envelope_schema(ActivityRecorded)
    assert set(payload["properties"]) == set(Envelope.model_fields)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_reference_in_an_asyncapi_document_resolves(name):
    document = DOCUMENTS[name]

    def refs(node):
        if isinstance(node, dict):
            yield from ([node["$ref"]] if "$ref" in node else [])
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]


@pytest.mark.parametrize("event, document, data", [
    (ActivityRecorded(activity_id="a-1", org_unit_id="ou-1", item_code="electricity", period="2025-04",
                      fiscal_year=2025, amount=Decimal("12000.5"), unit="kWh", recorded_by="u-1"),
     "activities.json", "activity_id"),
    (EmissionCalculated(line_id="a-1", line_revision=1, activity_id="a-1", org_unit_id="ou-1",
                        fiscal_year=2025, period="2025-04", item_code="electricity", scope=2,
                        co2e_t=Decimal("5.2082"), status="calculated", reason="activity recorded",
                        audit_record_id="ar-1"),
     "reporting.json", "line_id"),
])
def test_a_real_envelope_matches_its_documented_payload_and_headers(event, document, data):
    """Given an event as the unit of work wraps it, the consumer's document describes it exactly."""
    envelope = new_envelope(event, subject=getattr(event, data), tenant_id="t-1")
    components = DOCUMENTS[document]["components"]
    jsonschema.validate(json.loads(envelope.model_dump_json()), components["schemas"][event.event_type()])
    headers = {"content-type": "application/cloudevents+json",
               "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    jsonschema.validate(headers, components["schemas"]["KafkaHeaders"])
