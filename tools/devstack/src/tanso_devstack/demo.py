"""The demo tenant, created once through the gateway and remembered in ``<data_dir>/demo.json``.

A company with a division and two sites (Tokyo, Osaka) and a fiscal year (FY2025 = 2025-04 …
2026-03) of monthly electricity, city gas and diesel at both sites. Values are deterministic.
Reruns continue where the last run stopped and never create anything twice.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

DEMO_EMAIL = "admin@demo.tanso.example"
COMPANY_NAME = "デモ製造株式会社 (Demo Manufacturing Co.)"
FISCAL_YEAR = 2025
MONTHS = [f"{FISCAL_YEAR + (m < 4)}-{m:02d}" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]

DIVISION = {"key": "division", "kind": "division", "name_ja": "製造事業部", "name_en": "Manufacturing Division"}
SITES = [
    {"key": "tokyo", "kind": "site", "name_ja": "東京工場", "name_en": "Tokyo Plant", "prefecture": "東京都",
     "floor_area_m2": "12000"},
    {"key": "osaka", "kind": "site", "name_ja": "大阪工場", "name_en": "Osaka Plant", "prefecture": "大阪府",
     "floor_area_m2": "9500"},
]

# item → (unit, decimals, base per site, monthly profile April … March)
ITEMS: dict[str, tuple[str, int, dict[str, str], list[str]]] = {
    "electricity": ("kWh", 0, {"tokyo": "12000", "osaka": "11000"},
                    ["1.00", "1.02", "1.08", "1.18", "1.22", "1.10", "1.00", "0.98", "1.06", "1.14", "1.12", "1.04"]),
    "city_gas": ("千m3", 3, {"tokyo": "1.8", "osaka": "1.5"},
                 ["0.85", "0.80", "0.80", "0.85", "0.85", "0.85", "0.95", "1.10", "1.25", "1.35", "1.30", "1.10"]),
    "diesel": ("kL", 2, {"tokyo": "1.0", "osaka": "0.8"},
               ["0.95", "1.00", "1.05", "0.90", "0.92", "1.10", "1.15", "1.20", "1.00", "0.95", "0.98", "1.12"]),
}


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    tenant_id: str | None
    state_path: Path


def demo_activities() -> Iterator[dict]:
    """Every demo activity (without ``org_unit_id``), month by month: 12 × 2 sites × 3 items."""
    for index, month in enumerate(MONTHS):
        for site in SITES:
            for item, (unit, decimals, base, profile) in ITEMS.items():
                amount = (Decimal(base[site["key"]]) * Decimal(profile[index])).quantize(Decimal(1).scaleb(-decimals))
                yield {"site": site["key"], "item_code": item, "period": month, "amount": str(amount),
                       "unit": unit, "note": f"Demo data / デモデータ ({site['name_en']})"}


# --- state file ------------------------------------------------------------------------------

def state_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "demo.json"


def load_state(data_dir: str | Path) -> dict:
    path = state_path(data_dir)
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def _save(path: Path, state: dict) -> None:
    """Write atomically, readable only by the owner (it holds the demo password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# --- HTTP ------------------------------------------------------------------------------------

def _request(client: httpx.Client, method: str, path: str, *, token: str | None = None,
             json_body: object = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    for _ in range(10):
        response = client.request(method, path, json=json_body, headers=headers)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("retry-after", "1")))
    return response


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:500] + (
            f" {body['errors']}" if body.get("errors") else "")
    return str(body)[:300]


def _fail(what: str, response: httpx.Response) -> DemoError:
    return DemoError(f"Could not {what}: HTTP {response.status_code} {response.request.method} "
                     f"{response.request.url.path}: {_detail(response)}")


def _items(body: object) -> list[dict]:
    if isinstance(body, dict):
        body = next((body[k] for k in ("items", "org_units", "data") if isinstance(body.get(k), list)), [])
    return [i for i in body if isinstance(i, dict)] if isinstance(body, list) else []


def _id(body: dict) -> str:
    return str(body.get("id") or body.get("org_unit_id") or body.get("tenant_id") or "")


# --- seeding ---------------------------------------------------------------------------------

def seed_demo(gateway_url: str, data_dir: str | Path, *, progress: Callable[[str], None] = print,
              timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> DemoAccount:
    """Create the demo tenant, org units and activities unless ``demo.json`` says they exist.

    Raises :class:`DemoError` with what went wrong; a rerun continues where this one stopped.
    """
    path = state_path(data_dir)
    state = load_state(data_dir)
    if "password" not in state:
        state.update(email=DEMO_EMAIL, password=secrets.token_urlsafe(18), company_name=COMPANY_NAME)
        _save(path, state)  # before sign-up: the password must never be lost

    with httpx.Client(base_url=gateway_url.rstrip("/") + "/api", timeout=timeout, transport=transport) as client:
        try:
            if not state.get("tenant_created"):
                _sign_up(client, state, progress)
                _save(path, state)
            token = _sign_in(client, state)
            if len(state.get("org_units", {})) < 2 + len(SITES):
                state["org_units"] = _org_units(client, token, progress)
                _save(path, state)
            if not state.get("activities_complete"):
                _activities(client, token, state, path, progress)
            else:
                progress(f"Demo tenant already set up ({path}).")
        finally:
            _save(path, state)
    return DemoAccount(state["email"], state["password"], state.get("tenant_id"), path)


def _sign_up(client: httpx.Client, state: dict, progress: Callable[[str], None]) -> None:
    progress(f"Creating the demo tenant {COMPANY_NAME} …")
    response = _request(client, "POST", "/identity/tenants", json_body={
        "company_name": COMPANY_NAME, "admin_email": state["email"], "admin_password": state["password"],
        "admin_display_name": "デモ管理者 (Demo Admin)", "fiscal_year_start_month": 4})
    if response.status_code == 409 and _request(client, "POST", "/identity/token", json_body={
            "email": state["email"], "password": state["password"]}).status_code == 200:
        state["tenant_created"] = True  # created by an earlier run that stopped before saving
        return
    if response.status_code == 409:
        raise DemoError(f"A demo tenant for {state['email']} exists but the password in demo.json does not "
                        "match it; delete the data directory to start from scratch.")
    if response.is_error:
        raise _fail("create the demo tenant", response)
    state["tenant_created"] = True
    state["tenant_id"] = _id(response.json()) or None


def _sign_in(client: httpx.Client, state: dict) -> str:
    response = _request(client, "POST", "/identity/token", json_body={"email": state["email"],
                                                                      "password": state["password"]})
    if response.is_error:
        raise _fail("sign in as the demo admin", response)
    return response.json()["access_token"]


def _org_units(client: httpx.Client, token: str, progress: Callable[[str], None]) -> dict[str, str]:
    """Find or create company → division → sites; returns key → org unit id."""
    response = _request(client, "GET", "/identity/org-units", token=token)
    if response.is_error:
        raise _fail("list org units", response)
    existing = _items(response.json())

    def find_or_create(spec: dict, parent_id: str | None) -> str:
        for unit in existing:
            if unit.get("kind") == spec["kind"] and (spec["kind"] == "company" or unit.get("name_en") == spec["name_en"]):
                return _id(unit)
        body = {k: v for k, v in spec.items() if k != "key"} | {"parent_id": parent_id}
        created = _request(client, "POST", "/identity/org-units", token=token, json_body=body)
        if created.is_error:
            raise _fail(f"create the org unit {spec['name_en']}", created)
        progress(f"  org unit {spec['name_ja']} ({spec['name_en']})")
        return _id(created.json())

    company = {"key": "company", "kind": "company", "name_ja": "デモ製造株式会社", "name_en": "Demo Manufacturing Co."}
    ids = {"company": find_or_create(company, None)}
    ids["division"] = find_or_create(DIVISION, ids["company"])
    for site in SITES:
        ids[site["key"]] = find_or_create(site, ids["division"])
    return ids


def _activities(client: httpx.Client, token: str, state: dict, path: Path,
                progress: Callable[[str], None]) -> None:
    posted = set(state.setdefault("activities_posted", []))
    by_month: dict[str, list[dict]] = {}
    for activity in demo_activities():
        by_month.setdefault(activity["period"], []).append(activity)
    progress(f"Loading FY{FISCAL_YEAR} activities (electricity, city gas, diesel at {len(SITES)} sites) …")
    for month, activities in by_month.items():
        for activity in activities:
            key = f"{month}|{activity['site']}|{activity['item_code']}"
            if key in posted:
                continue
            body = {k: v for k, v in activity.items() if k != "site"} | {"org_unit_id": state["org_units"][activity["site"]]}
            response = _request(client, "POST", "/activities/activities", token=token, json_body=body)
            if response.status_code in (404, 405, 501):
                raise DemoError(f"The activities service has no POST /activities endpoint yet (HTTP "
                                f"{response.status_code}); the demo tenant and org units exist, activities were "
                                "not loaded. Run again once the activities service provides it.")
            if response.status_code in (502, 503, 504):
                raise DemoError(f"The activities service is not available (HTTP {response.status_code}: "
                                f"{_detail(response)}); check {path.parent / 'logs' / 'activities.log'} and run again.")
            if response.is_error:
                raise _fail(f"record {activity['item_code']} for {month}", response)
            posted.add(key)
            state["activities_posted"] = sorted(posted)
        _save(path, state)
        progress(f"  {month}: {len(activities)} activities")
    state["activities_complete"] = True
