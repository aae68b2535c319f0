"""The compatibility checker fails on each kind of incompatible change, with a message saying which.

Each test takes a committed schema, breaks it the way a careless edit of the catalogue would, and
expects exactly one message naming the event, the JSON pointer and the rule.
"""

from __future__ import annotations

import copy
import json

import pytest
from tanso_events.compat import check_compatible
from tanso_events.schemas import SCHEMA_DIR

ACTIVITY = "tanso.activities.ActivityRecorded.v1"
EMISSION = "tanso.calculation.EmissionCalculated.v1"
DISCLOSURE = "tanso.supplier-exchange.DisclosureGranted.v1"
FILES = {ACTIVITY: "activities.ActivityRecorded.v1.json", EMISSION: "calculation.EmissionCalculated.v1.json",
         DISCLOSURE: "supplier-exchange.DisclosureGranted.v1.json"}


def committed(event: str) -> dict:
    return json.loads((SCHEMA_DIR / FILES[event]).read_text(encoding="utf-8"))


def problems_after(event: str, edit) -> list[str]:
    old = committed(event)
    new = copy.deepcopy(old)
    edit(new)
    return check_compatible(old, new)


def test_removing_a_field_fails():
    assert problems_after(ACTIVITY, lambda s: s["properties"].pop("note")) == [
        f"{ACTIVITY}: /properties/note: property-removed: 'note' was removed"]


def test_retyping_amount_from_string_to_number_fails():
    def retype(s):
        s["properties"]["amount"]["type"] = "number"
    assert problems_after(ACTIVITY, retype) == [
        f"{ACTIVITY}: /properties/amount: type-changed: was string, now number"]


def test_making_an_optional_field_required_fails():
    assert problems_after(ACTIVITY, lambda s: s["required"].append("note")) == [
        f"{ACTIVITY}: /properties/note: optional-became-required: 'note' was optional and is now required"]


def test_adding_a_required_field_fails():
    def add(s):
        s["properties"]["site_code"] = {"type": "string"}
        s["required"].append("site_code")
    assert problems_after(ACTIVITY, add) == [
        (f"{ACTIVITY}: /properties/site_code: new-property-required: "
         "new property 'site_code' must be optional (not in required)")]


def test_opening_the_schema_fails():
    assert problems_after(ACTIVITY, lambda s: s.pop("additionalProperties")) == [
        f"{ACTIVITY}: /: closed: object schema must set additionalProperties: false"]


def test_opening_a_nested_definition_fails():
    def open_nested(s):
        s["$defs"]["DisclosedFigure"]["additionalProperties"] = True
    assert problems_after(DISCLOSURE, open_nested) == [
        f"{DISCLOSURE}: /$defs/DisclosedFigure: closed: object schema must set additionalProperties: false"]


def test_removing_a_field_behind_a_ref_fails():
    assert problems_after(DISCLOSURE, lambda s: s["$defs"]["DisclosedFigure"]["properties"].pop("unit")) == [
        f"{DISCLOSURE}: /properties/figures/items/properties/unit: property-removed: 'unit' was removed"]


def test_narrowing_nullability_fails():
    def not_null(s):
        s["properties"]["note"] = {"type": "string"}
    assert problems_after(ACTIVITY, not_null) == [
        f"{ACTIVITY}: /properties/note: nullability-narrowed: null was accepted and no longer is"]


def test_narrowing_a_literal_fails():
    assert problems_after(EMISSION, lambda s: s["properties"]["status"]["enum"].remove("voided")) == [
        f'{EMISSION}: /properties/status: enum-narrowed: no longer accepts "voided"']


@pytest.mark.parametrize("edit, detail", [
    (lambda s: s["properties"]["period"].update(pattern=r"^\d{4}-\d{2}-\d{2}$"),
     r"/properties/period: constraint-tightened: pattern '^\\d{4}-(0[1-9]|1[0-2])$' -> '^\\d{4}-\\d{2}-\\d{2}$'"),
    (lambda s: s["properties"]["amount"].update(format="decimal"),
     "/properties/amount: constraint-tightened: format None -> 'decimal'"),
    (lambda s: s["properties"]["fiscal_year"].update(minimum=2000),
     "/properties/fiscal_year: constraint-tightened: minimum None -> 2000"),
])
def test_tightening_a_format_pattern_or_bound_fails(edit, detail):
    assert problems_after(ACTIVITY, edit) == [f"{ACTIVITY}: {detail}"]


def test_comparing_two_versions_of_an_event_fails():
    def v2(s):
        s["x-cloudevents-type"] = ACTIVITY.replace(".v1", ".v2")
    assert [p.split(": ")[2] for p in problems_after(ACTIVITY, v2)] == ["same-event"]


def test_only_local_refs_are_resolved():
    with pytest.raises(ValueError, match="only local"):
        problems_after(DISCLOSURE, lambda s: s["properties"]["figures"]["items"].update(
            {"$ref": "https://example.org/figure.json"}))


@pytest.mark.parametrize("edit", [
    pytest.param(lambda s: s["properties"].update(site_code={"anyOf": [{"type": "string"}, {"type": "null"}],
                                                             "default": None}), id="new optional field"),
    pytest.param(lambda s: s["properties"].update(recorded_by={"anyOf": [{"type": "string"}, {"type": "null"}]}),
                 id="field becomes nullable"),
    pytest.param(lambda s: s["properties"]["fiscal_year"].update(type="number"), id="integer widened to number"),
    pytest.param(lambda s: s["properties"]["period"].update(description="Calendar month"), id="new description"),
    pytest.param(lambda s: s["required"].remove("unit"), id="required field becomes optional"),
])
def test_compatible_changes_pass(edit):
    assert problems_after(ACTIVITY, edit) == []


def test_adding_a_literal_value_and_loosening_a_bound_pass():
    def widen(s):
        s["properties"]["status"]["enum"].append("pending_factor")
        s["properties"]["scope"]["maximum"] = 4
    assert problems_after(EMISSION, widen) == []
