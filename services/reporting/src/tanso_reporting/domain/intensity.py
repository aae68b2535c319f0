"""F10 organisation-based intensity and F19 supplier figures: pure rules, Decimal only.

Intensity = emissions of a boundary (scopes, Scope 3 categories, Scope 2 basis, org units) ÷ a denominator
of the same fiscal year: revenue (百万円, recorded in identity and carried by ``RevenueRecorded``),
employees (人), floor area (m²) or production volume (the tenant's own unit, these three entered in
reporting). Division runs in a Decimal context of 28 significant digits; nothing is a float.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from tanso_events.envelope import DecimalStr
from tanso_events.unit_of_work import DomainEvent
from tanso_ghg.units import UnitError, emission_to_tonnes

_DECIMAL = re.compile(r"\d{1,15}(\.\d{1,12})?")
_UNIT = re.compile(r"[^\s/=+@\-][^/\t\r\n]{0,39}")


@dataclass(frozen=True)
class Denominator:
    key: str
    name_ja: str
    name_en: str
    unit: str | None  # None: the tenant's own unit (production_unit)


DENOMINATORS = (
    Denominator("revenue_million_yen", "売上高", "Revenue", "百万円"),
    Denominator("employees", "従業員数", "Employees", "人"),
    Denominator("floor_area_m2", "延床面積", "Floor area", "m²"),
    Denominator("production_volume", "生産量", "Production volume", None),
)


#: The denominators entered through reporting's own API; revenue comes from identity.
ENTERED = tuple(d for d in DENOMINATORS if d.key != "revenue_million_yen")


class RevenueKnown(DomainEvent):
    """identity recorded (or corrected) the revenue of a fiscal year, for the company (``org_unit_id``
    None) or a division or site; ``revision`` orders the values of one ``revenue_id``."""

    revenue_id: str
    revision: int
    source_event_id: str
    fiscal_year: int
    org_unit_id: str | None = None
    revenue_million_yen: DecimalStr
    recorded_by: str


@dataclass(frozen=True)
class FieldProblem:
    field: str
    code: str
    reason_en: str
    reason_ja: str

    def as_dict(self) -> dict:
        return {"field": self.field, "code": self.code, "reason_en": self.reason_en, "reason_ja": self.reason_ja}


def check_denominators(values: dict[str, str | None]) -> tuple[dict[str, Decimal | str | None], list[FieldProblem]]:
    """Parse the entered denominators: (clean values, every problem found)."""
    out: dict[str, Decimal | str | None] = {}
    problems: list[FieldProblem] = []
    for d in ENTERED:
        text = values.get(d.key)
        text = text.strip() if isinstance(text, str) else text
        if text in (None, ""):
            out[d.key] = None
            continue
        if not _DECIMAL.fullmatch(text):
            problems.append(FieldProblem(
                d.key, "bad_decimal",
                f"{text!r} is not a plain decimal number; write digits with an optional point, e.g. 1250.5 "
                "(no sign, comma, exponent or unit)",
                f"{text!r} は数値として読めません。1250.5 のように数字と小数点だけで入力してください"
                "（符号・カンマ・指数表記・単位は使えません）。"))
            continue
        value = Decimal(text)
        if value == 0:
            problems.append(FieldProblem(d.key, "zero", "must be greater than 0 (an intensity divides by it); "
                                         "leave it out if you do not know it",
                                         "0 より大きい値を入力してください（原単位の分母になります）。不明なら省略してください。"))
            continue
        out[d.key] = value
    unit = values.get("production_unit")
    unit = unit.strip() if isinstance(unit, str) else unit
    out["production_unit"] = unit or None
    if unit and not _UNIT.fullmatch(unit):
        problems.append(FieldProblem("production_unit", "bad_unit",
                                     f"{unit!r} is not a unit name; write up to 40 characters without '/', e.g. t or 台",
                                     f"{unit!r} は単位名として使えません。t や 台 のように「/」を含まない40文字以内で入力してください。"))
    if out.get("production_volume") is not None and not unit:
        problems.append(FieldProblem("production_unit", "required",
                                     "a production volume needs its unit; fill in production_unit, e.g. t",
                                     "生産量には単位が必要です。production_unit に t などを入力してください。"))
    if unit and values.get("production_volume") in (None, ""):
        problems.append(FieldProblem("production_volume", "required",
                                     "production_unit was given without production_volume; fill in the volume "
                                     "or leave both out",
                                     "production_unit だけが入力されています。生産量を入力するか、両方とも省略してください。"))
    if not problems and all(out[d.key] is None for d in ENTERED):
        problems.append(FieldProblem("employees", "no_denominator",
                                     "give at least one denominator: employees, floor_area_m2 or production_volume "
                                     "(revenue is recorded in identity: PUT /api/identity/revenues/{fiscal_year})",
                                     "従業員数・延床面積・生産量のうち1つ以上を入力してください（売上高は identity の "
                                     "PUT /api/identity/revenues/{fiscal_year} で登録します）。"))
    return out, problems


def divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 28
        return numerator / denominator


def fmt(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if value else "0"


def intensities(total: Decimal, by_scope: dict[int, Decimal], denominators: dict) -> list[dict]:
    """One entry per denominator the tenant entered: total and per-scope intensity."""
    out = []
    for d in DENOMINATORS:
        value = denominators.get(d.key)
        if value is None:
            continue
        unit = d.unit or denominators.get("production_unit") or ""
        out.append({"denominator": d.key, "name_ja": d.name_ja, "name_en": d.name_en,
                    "denominator_value": fmt(value), "denominator_unit": unit, "unit": f"t-CO2e/{unit}",
                    "value": fmt(divide(total, value)),
                    "by_scope": {str(s): fmt(divide(v, value)) for s, v in sorted(by_scope.items())}})
    return out


def subtrees(tree: dict[str, str | None], roots: Iterable[str]) -> set[str]:
    """``roots`` and every org unit below them; ``tree`` maps each unit to its parent."""
    children: dict[str | None, list[str]] = {}
    for unit, parent in tree.items():
        children.setdefault(parent, []).append(unit)
    out: set[str] = set()
    todo = list(roots)
    while todo:
        unit = todo.pop()
        if unit not in out:
            out.add(unit)
            todo.extend(children.get(unit, ()))
    return out


def nested_pairs(tree: dict[str, str | None], units: Iterable[str]) -> list[tuple[str, str]]:
    """(inner, outer) for every chosen unit that lies below another chosen unit."""
    chosen, pairs = set(units), []
    for unit in sorted(chosen):
        parent, seen = tree.get(unit), set()
        while parent is not None and parent not in seen:
            seen.add(parent)
            if parent in chosen:
                pairs.append((unit, parent))
            parent = tree.get(parent)
    return pairs


# --- F19: figures of a supplier's disclosures --------------------------------------------------


def tonnes(value: str, unit: str) -> Decimal | None:
    """A disclosed emission in t-CO2e, or None when its unit is not an emission unit."""
    try:
        return Decimal(value) * emission_to_tonnes(unit)
    except (UnitError, ArithmeticError):
        return None


def supplier_summary(disclosures: Iterable[dict]) -> dict:
    """The figures in force of one supplier's current disclosures (oldest first; a later figure of the
    same kind, scope, category or product replaces an earlier one)."""
    scope_totals: dict[int, Decimal] = {}
    categories: dict[int, Decimal] = {}
    intensity: dict[str, str] = {}
    products: dict[str, dict] = {}
    other: list[dict] = []
    for disclosure in disclosures:
        for f in disclosure["figures"]:
            kind = f["kind"]
            if kind == "org_intensity":
                intensity[f["unit"]] = f["value"]
                continue
            if kind == "product_footprint":
                products[f["product_id"]] = {"product_id": f["product_id"], "value": f["value"], "unit": f["unit"],
                                             "disclosure_id": disclosure["disclosure_id"]}
                continue
            t = tonnes(f["value"], f["unit"])
            if t is None:
                other.append({**f, "disclosure_id": disclosure["disclosure_id"]})
            elif kind == "scope_total":
                scope_totals[f["scope"]] = t
            else:
                categories[f["scope3_category"]] = t
    scope3 = scope_totals.get(3)
    if scope3 is None and categories:
        scope3 = sum(categories.values(), Decimal(0))
    by_scope = {**{s: v for s, v in scope_totals.items() if s != 3}, **({3: scope3} if scope3 is not None else {})}
    return {
        "scope_totals_t": {str(s): fmt(v) for s, v in sorted(by_scope.items())},
        "scope3_from_categories": 3 not in scope_totals and bool(categories),
        "scope3_categories_t": {str(c): fmt(v) for c, v in sorted(categories.items())},
        "total_t": fmt(sum(by_scope.values(), Decimal(0))) if by_scope else None,
        "intensities": [{"value": v, "unit": u} for u, v in sorted(intensity.items())],
        "product_footprints": [products[p] for p in sorted(products)],
        "other_figures": other,
    }
