"""Every released revision of an event's schema can still be read: the schema history.

``baseline/<release>/`` holds the schemas as they were released (copied from
``libs/events/schemas`` at each release). The schema the code generates today must be compatible
with each of them, and a released event type must still be generated: a v2 lives beside its v1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tanso_events.catalog import ALL_EVENTS
from tanso_events.compat import check_compatible
from tanso_events.schemas import schema_of

BASELINES = sorted((Path(__file__).parent / "baseline").glob("*/*.json"))
CURRENT = {event.schema_file(): schema_of(event) for event in ALL_EVENTS}


def test_there_is_a_released_baseline():
    assert BASELINES


@pytest.mark.parametrize("baseline", BASELINES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_current_schema_can_read_every_released_revision(baseline):
    assert baseline.name in CURRENT, (
        f"{baseline.name} was released in {baseline.parent.name} and is no longer generated: "
        "a breaking change is a new vN class beside the old one, which stays until retired")
    assert check_compatible(json.loads(baseline.read_text(encoding="utf-8")), CURRENT[baseline.name]) == []


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_every_current_schema_is_closed_and_names_its_version(name):
    schema = CURRENT[name]
    assert check_compatible(schema, schema) == []  # reports any object open to undeclared fields
    assert name.endswith(f".{schema['x-cloudevents-type'].rsplit('.', 1)[1]}.json")
