"""F2 organisation tree: company → division → site → line, within one tenant."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tanso_identity.adapters import queries
from tanso_identity.domain.commands import RegisterOrgUnit
from tanso_identity.service_layer import handlers
from tanso_runtime.errors import ProblemError


async def add(uow, principal, **fields) -> str:
    async with uow() as u:
        return await handlers.register_org_unit(RegisterOrgUnit(**fields), principal, u)


async def test_division_site_and_line_nest_under_the_company_with_site_attributes(uow, engine, sign_up, admin_of):
    tenant = await sign_up()
    admin = admin_of(tenant)
    division = await add(uow, admin, kind="division", parent_id=tenant.org_unit_id, name_ja="製造本部")
    site = await add(uow, admin, kind="site", parent_id=division, name_ja="川崎工場", name_en="Kawasaki Plant",
                     prefecture="神奈川県", floor_area_m2="12345.67", building_use="factory")
    line = await add(uow, admin, kind="line", parent_id=site, name_ja="第1ライン")

    async with engine.connect() as conn:
        units = {u["org_unit_id"]: u for u in await queries.list_org_units(conn, tenant.tenant_id)}
    assert [units[i]["parent_id"] for i in (division, site, line)] == [tenant.org_unit_id, division, site]
    assert units[site]["floor_area_m2"] == Decimal("12345.67")
    assert (units[site]["prefecture"], units[site]["building_use"]) == ("神奈川県", "factory")


async def test_a_site_may_hang_directly_under_the_company(uow, sign_up, admin_of):
    tenant = await sign_up()
    assert await add(uow, admin_of(tenant), kind="site", parent_id=tenant.org_unit_id, name_ja="本社")


@pytest.mark.parametrize("kind", ["line", "company"])
async def test_a_line_or_a_second_company_under_the_company_is_refused(uow, kind, sign_up, admin_of):
    tenant = await sign_up()
    with pytest.raises(ProblemError) as err:
        await add(uow, admin_of(tenant), kind=kind, parent_id=tenant.org_unit_id, name_ja="X")
    assert (err.value.status, err.value.code) == (422, "invalid_nesting")


async def test_a_division_under_a_site_is_refused(uow, sign_up, admin_of):
    tenant = await sign_up()
    site = await add(uow, admin_of(tenant), kind="site", parent_id=tenant.org_unit_id, name_ja="本社")
    with pytest.raises(ProblemError) as err:
        await add(uow, admin_of(tenant), kind="division", parent_id=site, name_ja="X")
    assert err.value.code == "invalid_nesting"


async def test_site_attributes_on_a_division_are_refused(uow, sign_up, admin_of):
    tenant = await sign_up()
    with pytest.raises(ProblemError) as err:
        await add(uow, admin_of(tenant), kind="division", parent_id=tenant.org_unit_id, name_ja="X",
                  floor_area_m2="10")
    assert (err.value.status, err.value.code) == (422, "site_attributes_only")


async def test_a_parent_from_another_tenant_answers_404_as_if_it_did_not_exist(uow, engine, sign_up, admin_of):
    mine = await sign_up(email="a@example.com")
    theirs = await sign_up(email="b@example.com", company="Other KK")
    for parent_id in (theirs.org_unit_id, "no-such-unit"):
        with pytest.raises(ProblemError) as err:
            await add(uow, admin_of(mine), kind="site", parent_id=parent_id, name_ja="X")
        assert err.value.status == 404
    async with engine.connect() as conn:
        assert len(await queries.list_org_units(conn, theirs.tenant_id)) == 1
