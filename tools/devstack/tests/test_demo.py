"""Demo data is deterministic and plausible; the state file is private."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from tanso_devstack.demo import (
    MONTHS,
    DemoError,
    _save,
    demo_activities,
    load_state,
    seed_demo,
    state_path,
)


def test_demo_activities_are_deterministic_and_in_range() -> None:
    activities = list(demo_activities())
    assert activities == list(demo_activities())
    assert len(activities) == 12 * 2 * 3
    assert MONTHS[0] == "2025-04" and MONTHS[-1] == "2026-03"
    ranges = {"electricity": (10_000, 15_000), "city_gas": (Decimal("1.2"), Decimal("2.5")),
              "diesel": (Decimal("0.5"), Decimal("1.5"))}
    for activity in activities:
        low, high = ranges[activity["item_code"]]
        assert low <= Decimal(activity["amount"]) <= high, activity
    assert {a["unit"] for a in activities} == {"kWh", "千m3", "kL"}


def test_state_file_is_private(tmp_path) -> None:
    _save(state_path(tmp_path), {"password": "secret"})
    assert state_path(tmp_path).stat().st_mode & 0o777 == 0o600


class FakeApi:
    """Identity and activities as the demo sees them through the gateway."""

    def __init__(self, activities_exist: bool = True, fail_after: int | None = None) -> None:
        self.tenants: dict[str, str] = {}
        self.units: list[dict] = []
        self.activities: list[dict] = []
        self.activities_exist, self.fail_after = activities_exist, fail_after

    def __call__(self, request: httpx.Request) -> httpx.Response:
        route = (request.method, request.url.path)
        body = json.loads(request.content) if request.content else None
        if route == ("POST", "/api/identity/tenants"):
            if body["admin_email"] in self.tenants:
                return httpx.Response(409, json={"title": "conflict"})
            self.tenants[body["admin_email"]] = body["admin_password"]
            self.units.append({"id": "u-company", "kind": "company", "name_ja": "デモ", "name_en": None})
            return httpx.Response(201, json={"tenant_id": "t-demo"})
        if route == ("POST", "/api/identity/token"):
            ok = self.tenants.get(body["email"]) == body["password"]
            return httpx.Response(200 if ok else 401, json={"access_token": "tok"} if ok else {})
        assert request.headers["authorization"] == "Bearer tok"
        if route == ("GET", "/api/identity/org-units"):
            return httpx.Response(200, json=self.units)
        if route == ("POST", "/api/identity/org-units"):
            self.units.append({**body, "id": f"u-{len(self.units)}"})
            return httpx.Response(201, json=self.units[-1])
        if route == ("POST", "/api/activities/activities") and self.activities_exist:
            if self.fail_after is not None and len(self.activities) >= self.fail_after:
                return httpx.Response(500, json={"detail": "boom"})
            self.activities.append(body)
            return httpx.Response(201, json={"id": f"a-{len(self.activities)}"})
        return httpx.Response(404, json={"detail": "Not Found"})


def _seed(api: FakeApi, data_dir):
    return seed_demo("http://gateway.test", data_dir, progress=lambda _: None, transport=httpx.MockTransport(api))


def test_seed_demo_once(tmp_path) -> None:
    api = FakeApi()
    account = _seed(api, tmp_path)
    assert account.email == "admin@demo.tanso.example" and len(account.password) >= 12
    assert [u["name_en"] for u in api.units[1:]] == ["Manufacturing Division", "Tokyo Plant", "Osaka Plant"]
    tokyo = next(u for u in api.units if u["name_en"] == "Tokyo Plant")
    assert tokyo["prefecture"] == "東京都" and tokyo["parent_id"] == api.units[1]["id"]
    assert len(api.activities) == 72
    assert {a["org_unit_id"] for a in api.activities} == {tokyo["id"], api.units[3]["id"]}

    again = _seed(api, tmp_path)
    assert again.password == account.password
    assert len(api.units) == 4 and len(api.activities) == 72


def test_seed_demo_resumes_without_duplicates(tmp_path) -> None:
    api = FakeApi(fail_after=10)
    with pytest.raises(DemoError, match="HTTP 500"):
        _seed(api, tmp_path)
    api.fail_after = None
    _seed(api, tmp_path)
    keys = [(a["org_unit_id"], a["period"], a["item_code"]) for a in api.activities]
    assert len(keys) == len(set(keys)) == 72


def test_seed_demo_explains_missing_activities_endpoint(tmp_path) -> None:
    with pytest.raises(DemoError, match="no POST /activities endpoint yet"):
        _seed(FakeApi(activities_exist=False), tmp_path)
    assert load_state(tmp_path)["tenant_created"] is True
