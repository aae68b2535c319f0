"""Commands of the identity service (validated at the edge; the tenant always comes from the token)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from tanso_events.catalog import OrgUnitKind

Password = Annotated[str, Field(min_length=12, max_length=256, description="At least 12 characters")]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterTenant(_Command):
    company_name: str = Field(min_length=1, max_length=200)
    industry_code: str | None = Field(default=None, max_length=20, description="e.g. JSIC code")
    fiscal_year_start_month: int = Field(default=4, ge=1, le=12)
    admin_email: str = Field(min_length=3, max_length=254)
    admin_password: Password
    admin_display_name: str = Field(min_length=1, max_length=200)


class RegisterOrgUnit(_Command):
    kind: OrgUnitKind
    parent_id: str = Field(min_length=1, max_length=64)
    name_ja: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    prefecture: str | None = Field(default=None, max_length=20, description="Sites only, e.g. 東京都")
    floor_area_m2: Decimal | None = Field(default=None, ge=0, description="Sites only, decimal string")
    building_use: str | None = Field(default=None, max_length=100, description="Sites only, e.g. office")


class RegisterUser(_Command):
    email: str = Field(min_length=3, max_length=254)
    display_name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1, description="admin, editor, contributor, viewer, auditor")
    password: Password


class RecordRevenue(_Command):
    """F10: the revenue of a fiscal year; the same fiscal year and org unit again is a correction."""

    revenue_million_yen: str | int = Field(
        description="Revenue in million yen (百万円) as a decimal string, greater than 0, e.g. \"1250.5\"")
    org_unit_id: str | None = Field(
        default=None, max_length=64,
        description="A division or site; leave out (or give the company's own unit) for the whole company")


class SignIn(_Command):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
