"""F4: search and view factor versions through the HTTP API."""

from __future__ import annotations

import pytest
from tanso_factors.domain.model import version_id

A_HEAVY_OIL = "shk.fuel.a_heavy_oil"


@pytest.fixture(autouse=True)
async def shipped(import_shipped):
    await import_shipped()


async def factors(client, **params) -> dict:
    response = await client.get("/factors", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_search_in_japanese_finds_both_diesel_versions_newest_validity_first(client):
    page = await factors(client, q="軽油")

    assert page["total"] == 2
    assert [(f["code"], f["edition"], f["value"]) for f in page["items"]] == [
        ("shk.fuel.diesel", "R6-2024", "2.62"), ("shk.fuel.diesel", "H22-2010", "2.58")]


async def test_fiscal_year_2022_returns_the_previous_lists_a_heavy_oil(client):
    page = await factors(client, q="A重油", fiscal_year=2022)

    assert [(f["edition"], f["value"], f["valid_to_fy"]) for f in page["items"]] == [("H22-2010", "2.71", 2022)]
    current = await factors(client, q="A重油", fiscal_year=2023)
    assert [f["value"] for f in current["items"]] == ["2.75"]


async def test_filters_combine_and_values_keep_their_printed_digits(client):
    page = await factors(client, source_id="jp-shk-fuels", category="fuel", unit="kl", current_only=True,
                         q="KEROSENE")
    assert [(f["code"], f["value"], f["superseded_by"]) for f in page["items"]] == [
        ("shk.fuel.kerosene", "2.50", None)]
    electricity = await factors(client, scope=2, category="electricity", status="VERIFIED", fiscal_year=2025)
    assert {f["code"] for f in electricity["items"]} >= {"shk.electricity.substitute"}
    assert all(f["scope"] == 2 and f["status"] == "VERIFIED" for f in electricity["items"])


async def test_paging_reports_the_total_and_caps_the_page_size(client):
    first, second = await factors(client, limit=10), await factors(client, limit=10, offset=10)

    assert first["total"] == second["total"] > 20 and len(first["items"]) == len(second["items"]) == 10
    codes = [f["code"] for f in first["items"] + second["items"]]
    assert codes == sorted(codes)
    assert (await client.get("/factors", params={"limit": 501})).status_code == 422


async def test_one_version_and_the_history_of_a_code(client):
    old, current = (version_id(A_HEAVY_OIL, "jp-shk-fuels", e) for e in ("H22-2010", "R6-2024"))

    version = (await client.get(f"/factors/{current}")).json()
    assert (version["value"], version["supersedes"], version["tenant_scope"]) == ("2.75", old, "platform")
    history = (await client.get(f"/factors/by-code/{A_HEAVY_OIL}/versions")).json()
    assert [(v["factor_version_id"], v["superseded_by"]) for v in history] == [(old, current), (current, None)]
    assert (await client.get("/factors/no-such-id")).status_code == 404
    assert (await client.get("/factors/by-code/no.such.code/versions")).status_code == 404


async def test_sources_list_their_editions(client):
    sources = {s["source_id"]: s for s in (await client.get("/sources")).json()}

    fuels = sources["jp-shk-fuels"]
    assert fuels["latest_edition"] == "R6-2024" and fuels["publisher_ja"] == "環境省・経済産業省"
    assert [(e["edition"], e["rows"], e["valid_to_fy"]) for e in fuels["editions"]] == [
        ("R6-2024", 36, None), ("H22-2010", 11, 2022)]


async def test_every_route_needs_a_signed_in_principal(client):
    for path in ("/sources", "/factors", f"/factors/by-code/{A_HEAVY_OIL}/versions"):
        response = await client.get(path, headers={"authorization": ""})
        assert response.status_code == 401, path
