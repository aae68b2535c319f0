"""Commands of the activities service (imperative, validated at the edge)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class RecordActivity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_unit_id: str = Field(description="Site or line the amount belongs to")
    item_code: str = Field(description="Activity item, e.g. electricity (see GET /items)")
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Month, YYYY-MM")
    amount: Decimal = Field(ge=0, description="Amount as a decimal string, e.g. \"12000\"")
    unit: str = Field(description="Unit of the amount, e.g. kWh, 千m3, kL")
    note: str | None = Field(default=None, max_length=2000, description="Evidence note (invoice no. …)")


class CorrectActivity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    org_unit_id: str | None = None
    item_code: str | None = None
    period: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    amount: Decimal | None = Field(default=None, ge=0)
    unit: str | None = None
    note: str | None = Field(default=None, max_length=2000)


class VoidActivity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
