"""GWP sets AR4/AR5/AR6 from the globalwarmingpotentials package, published as factor versions."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select
from tanso_factors.adapters import tables
from tanso_factors.domain.gwp import SOURCE_ID, gwp_edition, gwp_editions, package_version
from tanso_factors.service_layer.handlers import editions_to_import

#: factors.md §5 (100-year): gas → (AR4, AR5, AR6)
REFERENCE = {
    "ch4": ("25", "28", "27.9"),
    "n2o": ("298", "265", "273"),
    "sf6": ("22800", "23500", "25200"),
    "nf3": ("17200", "16100", "17400"),
    "hfc_134a": ("1430", "1300", "1530"),
    "hfc_32": ("675", "677", "771"),
    "hfc_125": ("3500", "3170", "3740"),
    "hfc_143a": ("4470", "4800", "5810"),
    "hfc_23": ("14800", "12400", "14600"),
    "cf4": ("7390", "6630", "7380"),
    "c2f6": ("12200", "11100", "12400"),
}


def test_the_package_values_match_the_reference_list():
    editions = {e.edition: e for e in gwp_editions()}
    assert editions["AR5"].row("gwp.ar5.ch4").value == Decimal(28)
    assert editions["AR5"].row("gwp.ar5.n2o").value == Decimal(265)
    assert editions["AR6"].row("gwp.ar6.sf6").value == Decimal(25200)
    for gas, values in REFERENCE.items():
        for edition, value in zip(("AR4", "AR5", "AR6"), values, strict=True):
            row = editions[edition].row(f"gwp.{edition.lower()}.{gas}")
            assert (row.value, row.status) == (Decimal(value), "VERIFIED"), row.code


def test_rows_are_t_co2e_per_tonne_of_gas_without_scope():
    ar5 = gwp_edition("AR5")
    assert ar5.source_id == SOURCE_ID and "CC0" in ar5.licence and package_version() in ar5.licence
    for row in ar5.rows:
        assert (row.category, row.scope, row.activity_unit, row.value_unit) == ("gwp", None, "t", "t-CO2e/t")
    assert ar5.row("gwp.ar5.co2").value == 1
    hfc = ar5.row("gwp.ar5.hfc_134a")
    assert (hfc.gas, hfc.name_en) == ("HFC", "HFC-134a (1,1,1,2-tetrafluoroethane) global warming potential (AR5, 100-year)")
    assert "一酸化二窒素" in ar5.row("gwp.ar5.n2o").name_ja
    # gases the reference table does not list were read in the package only
    assert ar5.row("gwp.ar5.hfc_152a").status == "SECONDARY"
    assert ar5.row("gwp.ar5.hcfc_22").gas == "HCFC" and "Montreal" in ar5.row("gwp.ar5.hcfc_22").note


def test_ar6_has_the_methane_split_and_ar4_skips_gases_it_has_no_value_for():
    ar6, ar4 = gwp_edition("AR6"), gwp_edition("AR4")
    assert (ar6.row("gwp.ar6.ch4_fossil").value, ar6.row("gwp.ar6.ch4_non_fossil").value) == (
        Decimal("29.8"), Decimal("27.0"))
    assert "24,300" in ar6.row("gwp.ar6.sf6").note  # the IDEA discrepancy is stated
    with pytest.raises(KeyError):
        ar4.row("gwp.ar4.hfc_41")  # AR4 has no 100-year GWP for HFC-41 in the package
    assert len({r.code for r in ar4.rows}) == len(ar4.rows)


def test_the_sets_are_imported_with_the_shipped_lists():
    keys = [(e.source_id, e.edition) for e in editions_to_import()]
    assert [k for k in keys if k[0] == SOURCE_ID] == [(SOURCE_ID, "AR4"), (SOURCE_ID, "AR5"), (SOURCE_ID, "AR6")]


async def test_gwp_values_are_published_as_factor_published_events(engine, import_shipped, client):
    reports = {(r.source_id, r.edition): r for r in await import_shipped()}
    assert "gwp.ar5.ch4" in reports[SOURCE_ID, "AR5"].new

    o = tables.messaging.outbox
    async with engine.connect() as conn:
        rows = (await conn.execute(select(o.c.payload).where(o.c.aggregateid == "gwp.ar5.ch4"))).all()
    envelope = json.loads(rows[0].payload)
    assert envelope["tenantid"] == "platform" and envelope["subject"] == "gwp.ar5.ch4"
    data = envelope["data"]
    assert (data["value"], data["value_unit"], data["activity_unit"], data["gas"], data["category"], data["scope"]) == (
        "28", "t-CO2e/t", "t", "CH4", "gwp", None)
    assert data["source_title_en"].startswith("IPCC Fifth Assessment Report")

    page = (await client.get("/factors", params={"q": "メタン AR5"})).json()
    # methane first (its name starts with the word), then e.g. PFC-14 パーフルオロメタン
    assert page["items"][0]["code"] == "gwp.ar5.ch4" and "gwp.ar5.cf4" in [f["code"] for f in page["items"]]
    assert all(f["edition"] == "AR5" for f in page["items"])
    again = await import_shipped()
    assert all(r.already_imported for r in again if r.source_id == SOURCE_ID)
