"""Each consumer's expectations (consumer_expectations.py) hold against the producer's committed schema.

Like a message pact, kept in plain Python: the consumer states the fields it reads and the values it
copes with; the producer's committed JSON Schema must promise them (reader/writer compatibility,
checked with the same rules as schema evolution), and the consumer's sample payload must pass it.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from consumer_expectations import EXPECTATIONS, Expectation, Reads
from tanso_events.asyncapi import SERVICES, consumed_events
from tanso_events.compat import check_compatible
from tanso_events.schemas import SCHEMA_DIR

PRODUCER_SCHEMAS = {
    s["x-cloudevents-type"]: s
    for s in (json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.json")))
}


def reader_problems(expectation: Expectation, writer: dict) -> list[str]:
    """What the producer may send and the consumer cannot read."""
    sent = writer["properties"]
    problems = [f"{expectation.consumer} reads {expectation.event}.{name}, which the producer does not send"
                for name in expectation.fields if name not in sent]
    read = {name: reads for name, reads in expectation.fields.items() if name in sent}
    written = {**writer, "properties": {name: sent[name] for name in read},
               "required": [name for name in writer.get("required", []) if name in read]}
    reader = {"x-cloudevents-type": expectation.event, "type": "object", "additionalProperties": False,
              "properties": {name: reads.schema for name, reads in read.items()},
              "required": [name for name, reads in read.items()
                           if not jsonschema.Draft202012Validator(reads.schema).is_valid(None)]}
    return problems + [f"{expectation.consumer}: {p}" for p in check_compatible(written, reader)]


@pytest.mark.parametrize("service", SERVICES)
def test_there_is_an_expectation_for_every_event_a_service_handles(service):
    handled = {event.event_type() for event in consumed_events(service)}
    expected = {e.event for e in EXPECTATIONS if e.consumer == service}
    assert expected == handled, f"{service}: EVENT_HANDLERS and consumer_expectations.py disagree"


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=lambda e: f"{e.consumer}<-{e.event}")
def test_the_producer_schema_promises_what_the_consumer_reads(expectation):
    assert reader_problems(expectation, PRODUCER_SCHEMAS[expectation.event]) == []


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=lambda e: f"{e.consumer}<-{e.event}")
def test_the_consumers_sample_payload_passes_the_producer_schema(expectation):
    schema = PRODUCER_SCHEMAS[expectation.event]
    sample = expectation.sample()
    # Fields the consumer does not read may be absent from its sample; everything else must hold.
    only_read = {**schema, "required": [name for name in schema["required"] if name in sample]}
    jsonschema.Draft202012Validator(only_read).validate(sample)


def test_a_consumer_reading_more_than_the_producer_promises_is_caught():
    """The checks above can fail: a stricter reader, a missing field and a nullable one are reported."""
    event = "tanso.calculation.EmissionCalculated.v1"
    greedy = Expectation("reporting", event, {
        "status": Reads({"type": "string", "enum": ["calculated"]}, "calculated"),
        "energy_type": Reads({"type": "string"}, "electricity"),
        "site_code": Reads({"type": "string"}, "s-1"),
    })
    assert reader_problems(greedy, PRODUCER_SCHEMAS[event]) == [
        f"reporting reads {event}.site_code, which the producer does not send",
        f'reporting: {event}: /properties/status: enum-narrowed: no longer accepts "voided"',
        (f"reporting: {event}: /properties/energy_type: optional-became-required: "
         "'energy_type' was optional and is now required"),
        f"reporting: {event}: /properties/energy_type: nullability-narrowed: null was accepted and no longer is",
    ]
