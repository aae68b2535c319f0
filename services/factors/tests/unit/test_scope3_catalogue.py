"""F3: the MOE supply-chain DB (排出原単位DB) editions: golden values, statuses, Scope 3 categories."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tanso_factors.domain.catalogue_files import DATA_ROOT, iter_editions, load_edition
from tanso_ghg.units import conversion_factor, emission_to_tonnes

V36 = load_edition(DATA_ROOT / "moe-idb" / "Ver3.6")
UNSTATED = load_edition(DATA_ROOT / "moe-idb" / "Ver-unstated")


def tonnes(amount: str, amount_unit: str, row) -> Decimal:
    """amount × factor in t-CO2e, converting the amount to the factor's activity unit."""
    activity = Decimal(amount) * conversion_factor(amount_unit, row.activity_unit)
    return activity * row.value * emission_to_tonnes(row.emission_unit)


def test_one_million_yen_of_domestic_air_travel_is_5_25_tonnes():
    air = V36.row("moe.idb.travel.air_domestic")

    assert (air.value, air.value_unit, air.status) == (Decimal("0.005250"), "kg-CO2/円", "VERIFIED")
    assert tonnes("1000000", "円", air) == Decimal("5.25")
    assert tonnes("1", "百万円", air) == Decimal("5.25")  # the same spend entered in 百万円


def test_hotel_nights_and_employees_golden_values():
    hotel, employees = V36.row("moe.idb.hotel.night"), V36.row("moe.idb.employees.person_year")

    assert (str(hotel.value), hotel.value_unit, hotel.scope3_category) == ("31.532238", "kg-CO2/泊", 6)
    assert tonnes("100", "泊", hotel) == Decimal("3.1532238")
    assert (str(employees.value), employees.value_unit, employees.scope3_category) == ("0.130373", "t-CO2/人・年", 6)
    assert tonnes("1000", "人・年", employees) == Decimal("130.373")


@pytest.mark.parametrize(("code", "value", "unit", "status", "category"), [
    ("moe.idb.travel.air_international", "0.007096", "kg-CO2/円", "VERIFIED", 6),
    ("moe.idb.travel.rail", "0.001854", "kg-CO2/円", "VERIFIED", 6),
    ("moe.idb.travel.ship", "0.050190", "kg-CO2/円", "VERIFIED", 6),
    ("moe.idb.travel.bus", "0.004711", "kg-CO2/円", "VERIFIED", 6),
    ("moe.idb.travel.taxi", "0.003313", "kg-CO2/円", "VERIFIED", 6),
    ("moe.idb.business_trip.day.overseas", "0.045192", "t-CO2/人・日", "SECONDARY", 6),
    ("moe.idb.commute.office.large_city", "0.984721", "kg-CO2/人・日", "SECONDARY", 7),
    ("moe.idb.commute.factory.town_village", "1.837927", "kg-CO2/人・日", "SECONDARY", 7),
    ("moe.idb.waste.incineration.average", "0.533928", "t-CO2/t", "SECONDARY", 5),
    ("moe.idb.waste.incineration.paper", "0.144", "t-CO2/t", "SECONDARY", 5),
    ("moe.idb.waste.landfill.average", "2.408", "t-CO2/t", "SECONDARY", 5),
    ("moe.idb.tkm.rail", "0.000022", "t-CO2/tkm", "SECONDARY", 4),
    ("moe.idb.tkm.air", "0.001490", "t-CO2/tkm", "SECONDARY", 4),
])
def test_ver_3_6_values_and_statuses_are_as_the_reference_list_gives_them(code, value, unit, status, category):
    row = V36.row(code)
    assert (str(row.value), row.value_unit, row.status, row.scope3_category) == (value, unit, status, category)


def test_older_sheets_are_a_separate_edition_that_says_its_version_is_unknown():
    assert (UNSTATED.source_id, UNSTATED.edition, V36.edition) == ("moe-idb", "Ver-unstated", "Ver3.6")
    assert "version not stated" in UNSTATED.title_en and "Ver.3.6" in V36.title_ja
    all_sectors = UNSTATED.row("moe.idb.capital_goods.all_sectors")
    assert (str(all_sectors.value), all_sectors.value_unit, all_sectors.status, all_sectors.scope3_category) == (
        "3.4968", "t-CO2e/百万円", "SECONDARY", 2)
    assert tonnes("100", "百万円", all_sectors) == Decimal("349.68")
    electricity = UNSTATED.row("moe.idb.upstream.electricity")
    assert (str(electricity.value), electricity.value_unit, electricity.status, electricity.scope3_category) == (
        "0.0682", "kg-CO2e/kWh", "UNVERIFIED", 3)
    assert UNSTATED.row("moe.idb.building.office").status == "UNVERIFIED"
    assert not set(V36.rows) & set(UNSTATED.rows)
    assert not {r.code for r in V36.rows} & {r.code for r in UNSTATED.rows}


def test_every_scope3_row_has_scope_3_and_a_category():
    rows = [r for e in iter_editions() if e.source_id == "moe-idb" for r in e.rows]
    assert len(rows) >= 60
    assert all(r.category == "scope3" and r.scope == 3 and 1 <= r.scope3_category <= 15 for r in rows)
    assert {r.scope3_category for r in rows} == {2, 3, 4, 5, 6, 7, 14}


def test_no_idea_data_is_shipped():
    """IDEA (AIST/SuMPO) is commercial: only MOE's published 事務局原単位 are shipped, no IDEA source."""
    known = {"S20", "S21", "S22", "HB"}
    for edition in iter_editions():
        assert "idea" not in edition.source_id.lower()
        if edition.source_id == "moe-idb":
            assert {s for r in edition.rows for s in r.sources} <= known
    assert "IDEA itself" in V36.licence and "not shipped" in V36.licence


def test_statuses_are_never_better_than_the_reference_list():
    """Rows read in one transcription only stay SECONDARY; UNVERIFIED ones stay UNVERIFIED."""
    verified = {r.code for r in V36.rows if r.status == "VERIFIED"}
    assert verified == {"moe.idb.travel.air_domestic", "moe.idb.travel.air_international", "moe.idb.travel.rail",
                        "moe.idb.travel.ship", "moe.idb.travel.bus", "moe.idb.travel.taxi", "moe.idb.hotel.night",
                        "moe.idb.employees.person_year"}
    assert all(r.status in ("SECONDARY", "UNVERIFIED") for r in UNSTATED.rows)
    assert all(r.status == "UNVERIFIED" for r in UNSTATED.rows if r.sources == ("HB",))
