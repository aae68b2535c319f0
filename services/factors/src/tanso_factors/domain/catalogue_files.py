"""Factor catalogue files: one folder per edition with ``meta.toml`` + ``factors.csv``.

Pure Python (csv, tomllib, Decimal). :func:`load_edition` validates a folder strictly and raises
:class:`CatalogueFileError` naming the file, row, column and the fix; :func:`iter_editions` yields
every shipped edition. ``content_sha256`` is computed over a canonical form of the parsed content,
so the same files always give the same hash.

The row checks live in :func:`check_row`, which reports every problem of a row (column, reason in
English and Japanese) instead of raising: the shipped-file loader raises the first one, the
tenant CSV import (:mod:`.tenant_factors`) reports them all.

``factors.csv`` has the columns :data:`COLUMNS`. Files written before ``scope3_category`` existed
(header :data:`LEGACY_COLUMNS`) stay valid and keep their content hash.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from tanso_ghg.units import UnitError, normalise_unit, parse_factor_unit

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "DATA_ROOT",
    "LEGACY_COLUMNS",
    "STATUSES",
    "CatalogueEdition",
    "CatalogueFileError",
    "FactorRow",
    "RowProblem",
    "build_edition",
    "check_header",
    "check_row",
    "iter_editions",
    "load_edition",
]

DATA_ROOT = Path(__file__).resolve().parent.parent / "data"
COLUMNS = (
    "code",
    "name_ja",
    "name_en",
    "category",
    "scope",
    "scope3_category",
    "activity_unit",
    "value",
    "value_unit",
    "gas",
    "heat_value_gj_per_unit",
    "carbon_tc_per_gj",
    "status",
    "sources",
    "note",
)
#: The header before ``scope3_category`` was added; files with it are still accepted.
LEGACY_COLUMNS = tuple(c for c in COLUMNS if c != "scope3_category")
OPTIONAL_COLUMNS = frozenset({"heat_value_gj_per_unit", "carbon_tc_per_gj", "note", "scope3_category"})
STATUSES = ("VERIFIED", "DERIVED", "SECONDARY", "UNVERIFIED")
#: ``scope3``: Scope 3 factors (with ``scope3_category``); ``gwp``: global warming potentials
#: (t-CO2e per t of gas, no scope); ``other``: tenant factors that fit none of the others.
CATEGORIES = ("fuel", "electricity", "city_gas", "heat", "scope3", "gwp", "other")
SCOPES = ("1", "2", "3")
GASES = ("CO2", "CH4", "N2O", "HFC", "PFC", "SF6", "NF3", "CO2e", "CFC", "HCFC")
META_TEXT_KEYS = (
    "source_id",
    "publisher_ja",
    "publisher_en",
    "title_ja",
    "title_en",
    "edition",
    "licence",
    "url",
    "notes",
)
META_KEYS = frozenset(META_TEXT_KEYS) | {"published", "valid_from_fy", "valid_to_fy"}

_DECIMAL = re.compile(r"\d+(\.\d+)?")
CODE_PATTERN = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
_SOURCE_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class CatalogueFileError(ValueError):
    """A catalogue file is malformed; the message names the file, row, column and the fix."""


@dataclass(frozen=True)
class RowProblem:
    """One problem of one cell: the column, a stable code and the reason in English and Japanese."""

    column: str
    code: str
    reason_en: str
    reason_ja: str


@dataclass(frozen=True)
class FactorRow:
    """One factor of an edition; ``value`` is in ``value_unit`` exactly as printed in the source."""

    code: str
    name_ja: str
    name_en: str
    category: str
    scope: int | None
    activity_unit: str
    value: Decimal
    value_unit: str
    gas: str
    heat_value_gj_per_unit: Decimal | None
    carbon_tc_per_gj: Decimal | None
    status: str
    sources: tuple[str, ...]
    note: str
    scope3_category: int | None = None

    @property
    def emission_unit(self) -> str:
        """Emission part of ``value_unit`` (e.g. "t-CO2")."""
        return parse_factor_unit(self.value_unit)[0]


@dataclass(frozen=True)
class CatalogueEdition:
    """One edition of a factor source (e.g. jp-shk-fuels R6-2024) with its validated rows."""

    source_id: str
    edition: str
    publisher_ja: str
    publisher_en: str
    title_ja: str
    title_en: str
    published: date | None
    licence: str
    url: str
    valid_from_fy: int
    valid_to_fy: int | None
    notes: str
    rows: tuple[FactorRow, ...]
    content_sha256: str

    def row(self, code: str) -> FactorRow:
        """The row with ``code``; ``KeyError`` if absent."""
        for row in self.rows:
            if row.code == code:
                return row
        raise KeyError(f"{self.source_id} {self.edition} has no factor {code!r}")

    def applies_to(self, fiscal_year: int) -> bool:
        """Whether this edition covers emissions of ``fiscal_year``."""
        return self.valid_from_fy <= fiscal_year and (
            self.valid_to_fy is None or fiscal_year <= self.valid_to_fy
        )


def _load_meta(path: Path) -> dict:
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueFileError(
            f"{path}: file is missing; every edition folder needs a meta.toml"
        ) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueFileError(f"{path}: not valid UTF-8 TOML ({exc}); fix the syntax") from None
    return check_meta(meta, str(path))


def check_meta(meta: dict, where: str) -> dict:
    """Validate an edition's metadata (the keys of ``meta.toml``); returns it cleaned."""

    def fail(key: str, problem: str) -> CatalogueFileError:
        return CatalogueFileError(f"{where}, key '{key}': {problem}")

    meta = dict(meta)
    unknown = sorted(set(meta) - META_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key; allowed keys are {', '.join(sorted(META_KEYS))}")
    for key in META_TEXT_KEYS:
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise fail(key, "missing or empty; give a non-empty string")
        meta[key] = meta[key].strip()
    if not _SOURCE_ID.fullmatch(meta["source_id"]):
        raise fail("source_id", "use lowercase ASCII words joined by '-', e.g. 'jp-shk-fuels'")
    for key in ("valid_from_fy", "valid_to_fy"):
        value = meta.get(key)
        if key == "valid_to_fy" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2200:
            raise fail(key, f"must be a fiscal year as a bare integer (e.g. 2025), got {value!r}")
    if meta.get("valid_to_fy") is not None and meta["valid_to_fy"] < meta["valid_from_fy"]:
        raise fail("valid_to_fy", "is before valid_from_fy; swap them or fix the year")
    published = meta.get("published")
    if isinstance(published, str):
        try:
            published = date.fromisoformat(published)
        except ValueError:
            raise fail("published", "write an ISO date such as 2026-01-09 or omit it") from None
    if published is not None and (not isinstance(published, date) or hasattr(published, "hour")):
        raise fail("published", "write an ISO date such as 2026-01-09 or omit it")
    meta["published"] = published
    return meta


def _problem(column: str, code: str, en: str, ja: str) -> RowProblem:
    return RowProblem(column, code, en, ja)


def check_row(cells: dict[str, str]) -> tuple[FactorRow | None, list[RowProblem]]:
    """Validate one row (cells already stripped; a missing optional column may be absent).

    Returns the row, or ``None`` and every problem found (at most one per column)."""
    problems: list[RowProblem] = []
    get = lambda column: cells.get(column, "")

    for column in COLUMNS:
        if column not in OPTIONAL_COLUMNS and column != "scope" and not get(column):
            problems.append(_problem(column, "required", "value is missing; fill it in",
                                     "値がありません。入力してください。"))
    missing = {p.column for p in problems}

    def decimal(column: str) -> Decimal | None:
        text = get(column)
        if not text:
            return None
        if not _DECIMAL.fullmatch(text):
            problems.append(_problem(
                column, "bad_decimal",
                f"{text!r} is not a plain decimal number; write digits with an "
                "optional point, e.g. 2.75 (no sign, exponent, comma or unit)",
                f"{text!r} は数値として読めません。2.75 のように数字と小数点だけで入力してください"
                "（符号・指数表記・カンマ・単位は使えません）。"))
            return None
        return Decimal(text)

    code = get("code")
    if code and not CODE_PATTERN.fullmatch(code):
        problems.append(_problem(
            "code", "bad_code",
            f"{code!r} is not a code; use dotted lowercase ASCII, e.g. shk.fuel.a_heavy_oil",
            f"{code!r} はコードとして使えません。shk.fuel.a_heavy_oil のように小文字英数字と"
            "「_」をドットで区切って入力してください。"))
    elif len(code) > 120:
        problems.append(_problem("code", "too_long", "longer than 120 characters; shorten it",
                                 "120 文字を超えています。短くしてください。"))
    for column, allowed in (("category", CATEGORIES), ("status", STATUSES), ("gas", GASES)):
        if column not in missing and get(column) not in allowed:
            problems.append(_problem(
                column, "not_allowed",
                f"{get(column)!r} is not allowed; use one of {', '.join(allowed)}",
                f"{get(column)!r} は使えません。次のいずれかを入力してください: {', '.join(allowed)}"))
    scope_text, category = get("scope"), get("category")
    scope: int | None = None
    if not scope_text:
        if category != "gwp":
            problems.append(_problem("scope", "required",
                                     "value is missing; fill it in (1, 2 or 3; empty only for category gwp)",
                                     "値がありません。1、2、3 のいずれかを入力してください"
                                     "（空欄にできるのはカテゴリ gwp だけです）。"))
    elif scope_text not in SCOPES:
        problems.append(_problem("scope", "not_allowed",
                                 f"{scope_text!r} is not allowed; use one of {', '.join(SCOPES)}",
                                 f"{scope_text!r} は使えません。1、2、3 のいずれかを入力してください。"))
    else:
        scope = int(scope_text)
    s3_text = get("scope3_category")
    scope3_category: int | None = None
    if s3_text:
        if not s3_text.isdigit() or not 1 <= int(s3_text) <= 15:
            problems.append(_problem("scope3_category", "bad_scope3_category",
                                     f"{s3_text!r} is not a Scope 3 category; write a whole number 1 to 15",
                                     f"{s3_text!r} は Scope 3 カテゴリとして読めません。1〜15 の整数を入力してください。"))
        elif scope is not None and scope != 3:
            problems.append(_problem("scope3_category", "scope3_category_needs_scope3",
                                     "only Scope 3 factors have a Scope 3 category; set scope to 3 or leave this empty",
                                     "Scope 3 カテゴリは scope が 3 の係数にだけ指定できます。scope を 3 にするか空欄にしてください。"))
        else:
            scope3_category = int(s3_text)
    activity = get("activity_unit")
    if activity:
        try:
            canonical_activity = normalise_unit(activity)
        except UnitError as exc:
            problems.append(_problem("activity_unit", "unknown_unit", str(exc),
                                     f"単位 {activity!r} は使えません。kL、kWh、千m3、円、人・年、tkm、泊 などを使ってください。"))
            activity = ""
        else:
            if canonical_activity != activity:
                problems.append(_problem("activity_unit", "non_canonical_unit",
                                         f"write the canonical spelling {canonical_activity!r}",
                                         f"正式な表記 {canonical_activity!r} で入力してください。"))
                activity = ""
    value_unit = get("value_unit")
    if value_unit:
        try:
            emission_unit, factor_activity = parse_factor_unit(value_unit)
        except UnitError as exc:
            problems.append(_problem("value_unit", "unknown_unit", str(exc),
                                     f"係数の単位 {value_unit!r} は使えません。t-CO2/kL や kg-CO2e/円 のように"
                                     "「排出量の単位/活動量の単位」で入力してください。"))
        else:
            canonical = f"{emission_unit}/{factor_activity}"
            if canonical != value_unit:
                problems.append(_problem("value_unit", "non_canonical_unit",
                                         f"write the canonical spelling {canonical!r}",
                                         f"正式な表記 {canonical!r} で入力してください。"))
            elif activity and factor_activity != activity:
                problems.append(_problem(
                    "value_unit", "unit_mismatch",
                    f"its activity unit {factor_activity!r} differs from activity_unit {activity!r}; "
                    "make them the same",
                    f"係数の活動量単位 {factor_activity!r} が activity_unit {activity!r} と違います。"
                    "同じ単位にしてください。"))
    value = decimal("value")
    heat = decimal("heat_value_gj_per_unit")
    carbon = decimal("carbon_tc_per_gj")
    sources = tuple(s.strip() for s in get("sources").split(";"))
    if get("sources") and (not all(sources) or any(" " in s for s in sources)):
        problems.append(_problem("sources", "bad_sources",
                                 "list source keys separated by ';' without spaces, e.g. S1;S3",
                                 "出典キーは S1;S3 のように空白を入れず「;」で区切って入力してください。"))
    for column in ("name_ja", "name_en"):
        if len(get(column)) > 300:
            problems.append(_problem(column, "too_long", "longer than 300 characters; shorten it",
                                     "300 文字を超えています。短くしてください。"))
    if problems:
        problems.sort(key=lambda p: COLUMNS.index(p.column))
        return None, problems
    return FactorRow(
        code=code, name_ja=get("name_ja"), name_en=get("name_en"), category=category, scope=scope,
        activity_unit=activity, value=value,  # type: ignore[arg-type]
        value_unit=value_unit, gas=get("gas"), heat_value_gj_per_unit=heat, carbon_tc_per_gj=carbon,
        status=get("status"), sources=sources, note=get("note"), scope3_category=scope3_category,
    ), []


def check_header(header: list[str]) -> tuple[tuple[str, ...] | None, str, str]:
    """The accepted column tuple for ``header``, or ``None`` and why (English, Japanese)."""
    header = [h.strip() for h in header]
    if tuple(header) in (COLUMNS, LEGACY_COLUMNS):
        return tuple(header), "", ""
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in COLUMNS if c not in header and c != "scope3_category"]
    en = (f"columns must be exactly {','.join(COLUMNS)} (scope3_category may be left out)"
          + (f"; unknown columns: {', '.join(unknown)}" if unknown else "")
          + (f"; missing columns: {', '.join(missing)}" if missing else "")
          + ("; fix the column order" if not unknown and not missing else ""))
    ja = (f"列は {','.join(COLUMNS)} の順にしてください（scope3_category は省略可）"
          + (f"。不明な列: {', '.join(unknown)}" if unknown else "")
          + (f"。不足している列: {', '.join(missing)}" if missing else "")
          + ("。列の順番を直してください" if not unknown and not missing else ""))
    return None, en, ja


def _load_rows(path: Path) -> tuple[tuple[FactorRow, ...], list[list[str]], tuple[str, ...]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogueFileError(
            f"{path}: file is missing; every edition folder needs a factors.csv"
        ) from None
    except UnicodeDecodeError as exc:
        raise CatalogueFileError(f"{path}: not UTF-8 ({exc}); save the file as UTF-8") from None
    reader = csv.reader(text.splitlines(keepends=True))
    columns, why, _ = check_header(next(reader, []))
    if columns is None:
        raise CatalogueFileError(f"{path}, row 0 (line 1, header): {why}")
    rows: list[FactorRow] = []
    canonical: list[list[str]] = []
    seen: dict[str, int] = {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row_no, line = len(rows) + 1, reader.line_num
        if len(cells) != len(columns):
            where = (
                f"column '{columns[len(cells)]}': missing cell"
                if len(cells) < len(columns)
                else f"column '{columns[-1]}': extra cells after it"
            )
            raise CatalogueFileError(
                f"{path}, row {row_no} (line {line}), {where} ({len(cells)} cells instead of "
                f"{len(columns)}); quote cells that contain commas"
            )
        stripped = [cell.strip() for cell in cells]
        row, problems = check_row(dict(zip(columns, stripped, strict=True)))
        if problems:
            first = problems[0]
            raise CatalogueFileError(
                f"{path}, row {row_no} (line {line}), column '{first.column}': {first.reason_en}"
            )
        assert row is not None
        if row.code in seen:
            raise CatalogueFileError(
                f"{path}, row {row_no} (line {line}), column 'code': duplicate code {row.code!r} "
                f"(first used in row {seen[row.code]}); codes must be unique within an edition"
            )
        seen[row.code] = row_no
        rows.append(row)
        canonical.append(stripped)
    if not rows:
        raise CatalogueFileError(f"{path}: no factor rows; add at least one row below the header")
    return tuple(rows), canonical, columns


def build_edition(meta: dict, rows: Iterable[FactorRow], canonical_rows: list[list[str]],
                  columns: tuple[str, ...] = COLUMNS) -> CatalogueEdition:
    """An edition from checked metadata and rows; the hash covers the metadata, the header and the
    sorted cells, so the same content always hashes the same."""
    canonical_meta = {
        k: (v.isoformat() if isinstance(v, date) else v) for k, v in meta.items() if v is not None
    }
    payload = json.dumps(
        {"meta": canonical_meta, "columns": columns, "rows": sorted(canonical_rows)},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return CatalogueEdition(
        source_id=meta["source_id"],
        edition=meta["edition"],
        publisher_ja=meta["publisher_ja"],
        publisher_en=meta["publisher_en"],
        title_ja=meta["title_ja"],
        title_en=meta["title_en"],
        published=meta.get("published"),
        licence=meta["licence"],
        url=meta["url"],
        valid_from_fy=meta["valid_from_fy"],
        valid_to_fy=meta.get("valid_to_fy"),
        notes=meta["notes"],
        rows=tuple(rows),
        content_sha256=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
    )


def load_edition(folder: Path) -> CatalogueEdition:
    """Load and validate the edition in ``folder`` (``meta.toml`` + ``factors.csv``)."""
    folder = Path(folder)
    meta = _load_meta(folder / "meta.toml")
    rows, canonical_rows, columns = _load_rows(folder / "factors.csv")
    return build_edition(meta, rows, canonical_rows, columns)


def iter_editions(root: Path | None = None) -> Iterator[CatalogueEdition]:
    """Yield every edition under ``root`` (default: the shipped data) sorted by
    (source_id, valid_from_fy, edition). Raises :class:`CatalogueFileError` for a folder with
    ``factors.csv`` but no ``meta.toml`` and for a duplicate (source_id, edition)."""
    root = DATA_ROOT if root is None else Path(root)
    folders = sorted(
        {p.parent for p in root.rglob("meta.toml")} | {p.parent for p in root.rglob("factors.csv")}
    )
    editions = [load_edition(folder) for folder in folders]
    seen: dict[tuple[str, str], Path] = {}
    for folder, edition in zip(folders, editions, strict=True):
        key = (edition.source_id, edition.edition)
        if key in seen:
            raise CatalogueFileError(
                f"{folder / 'meta.toml'}, key 'edition': {key[0]} {key[1]} is also defined in "
                f"{seen[key]}; give each edition a unique name"
            )
        seen[key] = folder
    yield from sorted(editions, key=lambda e: (e.source_id, e.valid_from_fy, e.edition))
