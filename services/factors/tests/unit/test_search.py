"""F4: the factor search: Japanese and English words (AND), NFKC, ranking, filters, paging."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
async def _shipped(shipped):
    return shipped


async def factors(client, headers=None, **params) -> dict:
    response = await client.get("/factors", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def codes(page: dict) -> list[str]:
    return [f["code"] for f in page["items"]]


async def test_japanese_words_are_anded(client):
    both = await factors(client, q="航空 国内線")
    assert codes(both) == ["moe.idb.travel.air_domestic"]
    air = await factors(client, q="航空")
    assert set(codes(air)) == {"moe.idb.travel.air_domestic", "moe.idb.travel.air_international", "moe.idb.tkm.air"}
    assert air["total"] == 3


async def test_full_width_half_width_and_case_are_normalised(client):
    assert codes(await factors(client, q="ＭＯＥ．ＩＤＢ．ＨＯＴＥＬ")) == ["moe.idb.hotel.night"]
    assert codes(await factors(client, q="ﾀｸｼｰ")) == ["moe.idb.travel.taxi"]  # half-width katakana
    assert codes(await factors(client, q="hotel STAY")) == ["moe.idb.hotel.night"]
    assert codes(await factors(client, q="ＨＦＣ−１３４ａ ar5")) == ["gwp.ar5.hfc_134a"]  # full-width minus
    assert (await factors(client, q="no-such-word-anywhere"))["total"] == 0


async def test_source_titles_are_searched_too(client):
    page = await factors(client, q="排出原単位データベース 通勤", limit=500)
    assert page["total"] == 10 and all(c.startswith("moe.idb.commute.") for c in codes(page))
    english = await factors(client, q="Fifth Assessment NF3")
    assert codes(english) == ["gwp.ar5.nf3"]


async def test_an_exact_code_comes_first_then_names_starting_with_the_word(client):
    page = await factors(client, q="moe.idb.tkm.air")
    assert codes(page)[0] == "moe.idb.tkm.air"
    exact = await factors(client, q="shk.fuel.diesel")
    assert [(f["code"], f["edition"]) for f in exact["items"]] == [
        ("shk.fuel.diesel", "R6-2024"), ("shk.fuel.diesel", "H22-2010")]
    # "メタン" also occurs in パーフルオロメタン (PFC-14); methane itself comes first
    methane = await factors(client, q="メタン")
    assert codes(methane)[:3] == ["gwp.ar4.ch4", "gwp.ar5.ch4", "gwp.ar6.ch4"]
    assert "gwp.ar5.cf4" in codes(methane)


async def test_current_versions_come_before_superseded_ones(client):
    page = await factors(client, q="重油")
    current = [f["superseded_by"] is None for f in page["items"]]
    assert current == sorted(current, reverse=True) and not current[-1]
    assert page["items"][0]["code"] == "shk.fuel.a_heavy_oil" and page["items"][0]["edition"] == "R6-2024"


async def test_scope3_filters(client):
    commuting = await factors(client, scope=3, scope3_category=7, limit=500)
    assert commuting["total"] == 10 and all(f["scope3_category"] == 7 for f in commuting["items"])
    spend = await factors(client, category="scope3", unit="円")
    assert set(codes(spend)) == {"moe.idb.travel.air_domestic", "moe.idb.travel.air_international",
                                 "moe.idb.travel.rail", "moe.idb.travel.ship", "moe.idb.travel.bus",
                                 "moe.idb.travel.taxi"}
    assert all(f["value_unit"] == "kg-CO2/円" for f in spend["items"])
    per_yen = await factors(client, unit="kg-CO2/円", status="VERIFIED")
    assert per_yen["total"] == 6
    capital = await factors(client, source_id="moe-idb", edition="Ver-unstated", scope3_category=2, status="SECONDARY")
    assert capital["total"] == 8 and all(f["value_unit"] == "t-CO2e/百万円" for f in capital["items"])
    gwp = await factors(client, category="gwp", source_id="ipcc-gwp", edition="AR5", q="N2O")
    assert [(f["code"], f["value"], f["scope"]) for f in gwp["items"]] == [("gwp.ar5.n2o", "265", None)]
    assert (await client.get("/factors", params={"scope3_category": 16})).status_code == 422


async def test_fiscal_year_and_scope_filters_combine_with_words(client):
    page = await factors(client, q="都市ガス", scope=1, fiscal_year=2022)
    assert [(f["code"], f["edition"], f["activity_unit"]) for f in page["items"]] == [
        ("shk.fuel.city_gas", "H22-2010", "千Nm3")]
    scope3 = await factors(client, q="従業員", fiscal_year=2025, scope=3)
    assert "moe.idb.employees.person_year" in codes(scope3)


async def test_paging_is_stable_and_reports_the_total(client):
    first = await factors(client, category="gwp", limit=50)
    second = await factors(client, category="gwp", limit=50, offset=50)
    rest = await factors(client, category="gwp", limit=500, offset=100)
    all_codes = codes(first) + codes(second) + codes(rest)
    assert first["total"] == len(all_codes) == len(set(all_codes)) > 100
    assert all_codes == sorted(all_codes)


async def test_tenant_only_shows_the_callers_own_factors(client, auth):
    admin = auth("tenant-a", "admin")
    added = await client.post("/factors", headers=admin, json={
        "code": "tenant.supplier.bolts", "name_ja": "ボルト（仕入先一次データ）", "name_en": "Bolts (supplier data)",
        "scope": 3, "scope3_category": 1, "unit": "kg", "value": "0.0042", "value_unit": "t-CO2e/kg",
        "valid_from_fy": 2025})
    assert added.status_code == 201, added.text

    own = await factors(client, admin, tenant_only=True)
    assert codes(own) == ["tenant.supplier.bolts"]
    assert codes(await factors(client, admin, q="ボルト", scope3_category=1)) == ["tenant.supplier.bolts"]
    everything = await factors(client, admin, scope3_category=1)
    assert codes(everything) == ["tenant.supplier.bolts"]  # no official category-1 factor is shipped yet
    assert (await factors(client, auth("tenant-b"), q="ボルト"))["total"] == 0
