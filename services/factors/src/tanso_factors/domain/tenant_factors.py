"""Tenant-private factors: a tenant's own values or a licensed set it holds rights to (e.g. IDEA).

They follow the rules of the shipped lists (:func:`.catalogue_files.check_row`) plus:

* codes start with ``tenant.`` (``tenant.idea.steel_hot_rolled``), so they never shadow an official
  code; two tenants may use the same code, each sees only its own;
* source ids start with ``tenant-`` (``tenant-idea-v3``);
* text cells must not start with = + - @ (or TAB/CR): a spreadsheet could run them as a formula
  when the list is exported again;
* a CSV upload (``factors.csv`` columns; UTF-8, UTF-8 with BOM or CP932) is checked whole and every
  problem is reported with its row, line, column, value and reason in English and Japanese; a file
  with any problem imports nothing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from .catalogue_files import (
    COLUMNS,
    CatalogueEdition,
    FactorRow,
    build_edition,
    check_header,
    check_row,
)

CODE_PREFIX = "tenant."
SOURCE_PREFIX = "tenant-"
DEFAULT_SOURCE_ID = "tenant-custom"
DEFAULT_EDITION = "custom"
MAX_ROWS = 20_000
FORMULA_START = frozenset("=+-@\t\r＝＋－＠")
TEXT_COLUMNS = ("name_ja", "name_en", "note")
_SOURCE_ID = re.compile(r"tenant(-[a-z0-9]+)+")
_EDITION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}")


@dataclass(frozen=True)
class RowError:
    """One problem of an uploaded file or request: where (row 0 = header), what and why."""

    row: int
    line: int | None
    column: str | None
    value: str | None
    code: str
    reason_en: str
    reason_ja: str

    def as_dict(self) -> dict:
        return {"row": self.row, "line": self.line, "column": self.column, "value": self.value,
                "code": self.code, "reason_en": self.reason_en, "reason_ja": self.reason_ja}


def _shown(value: str | None) -> str | None:
    return value if value is None or len(value) <= 200 else value[:200] + "…"


@dataclass(frozen=True)
class TenantSource:
    """Where a tenant's factors come from: the source, its edition, licence and validity."""

    source_id: str
    edition: str
    title_ja: str
    title_en: str
    publisher_ja: str
    publisher_en: str
    licence: str
    url: str
    valid_from_fy: int
    valid_to_fy: int | None
    notes: str = ""

    def problems(self) -> list[tuple[str, str, str, str]]:
        """(field, code, en, ja) for every invalid field."""
        out = []
        if not _SOURCE_ID.fullmatch(self.source_id) or len(self.source_id) > 80:
            out.append(("source_id", "bad_source_id",
                        (f"{self.source_id!r} is not a tenant source id; write lowercase ASCII words joined "
                         "by '-' starting with 'tenant-', e.g. tenant-idea-v3"),
                        (f"{self.source_id!r} は出典IDとして使えません。tenant-idea-v3 のように tenant- で始まる"
                         "小文字英数字とハイフンで入力してください。")))
        if not _EDITION.fullmatch(self.edition):
            out.append(("edition", "bad_edition",
                        f"{self.edition!r} is not an edition name; use up to 60 letters, digits, '.', '_' or '-'",
                        f"{self.edition!r} は版の名前として使えません。英数字と . _ - で60文字以内にしてください。"))
        for field, text in (("title_ja", self.title_ja), ("licence", self.licence)):
            if not text.strip():
                out.append((field, "required", "required; fill it in", "必須項目です。入力してください。"))
        if not 1900 <= self.valid_from_fy <= 2200:
            out.append(("valid_from_fy", "bad_fiscal_year", "write a fiscal year such as 2025",
                        "2025 のように年度を入力してください。"))
        if self.valid_to_fy is not None and self.valid_to_fy < self.valid_from_fy:
            out.append(("valid_to_fy", "bad_fiscal_year", "is before valid_from_fy; swap them or fix the year",
                        "valid_from_fy より前の年度です。年度を確認してください。"))
        return out

    def meta(self) -> dict:
        return {"source_id": self.source_id, "publisher_ja": self.publisher_ja, "publisher_en": self.publisher_en,
                "title_ja": self.title_ja, "title_en": self.title_en, "edition": self.edition,
                "licence": self.licence, "url": self.url, "notes": self.notes, "published": None,
                "valid_from_fy": self.valid_from_fy, "valid_to_fy": self.valid_to_fy}

    def edition_of(self, rows: list[FactorRow], canonical: list[list[str]],
                   columns: tuple[str, ...] = COLUMNS) -> CatalogueEdition:
        return build_edition(self.meta(), rows, canonical, columns)


def tenant_row_problems(cells: dict[str, str]) -> tuple[FactorRow | None, list[tuple[str, str, str, str]]]:
    """Check one tenant factor: (row, [(column, code, en, ja)])."""
    row, problems = check_row(cells)
    out = [(p.column, p.code, p.reason_en, p.reason_ja) for p in problems]
    code = cells.get("code", "")
    if code and not code.startswith(CODE_PREFIX) and not any(p[0] == "code" for p in out):
        out.append(("code", "not_tenant_code",
                    f"{code!r} is not in the tenant namespace; start it with 'tenant.', e.g. tenant.{code}",
                    f"{code!r} はテナント用のコードではありません。tenant.{code} のように tenant. で始めてください。"))
    for column in TEXT_COLUMNS:
        text = cells.get(column, "")
        if text and text[0] in FORMULA_START:
            out.append((column, "formula",
                        f"starts with {text[0]!r}, which a spreadsheet may run as a formula; remove it",
                        f"先頭の {text[0]!r} は表計算ソフトで数式として実行されるおそれがあるため使えません。"))
    if row is not None and row.category == "gwp":
        out.append(("category", "not_allowed", "tenants cannot add GWP values; use the ipcc-gwp source",
                    "GWP はテナントでは追加できません。出典 ipcc-gwp の値を使ってください。"))
    out.sort(key=lambda p: COLUMNS.index(p[0]))
    return (row if not out else None), out


def decode_csv(data: bytes) -> tuple[str | None, str | None]:
    """(text, encoding): UTF-8 (with or without BOM), else CP932; (None, None) if neither reads."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None, None


@dataclass
class ParsedCsv:
    rows: list[FactorRow]
    canonical: list[list[str]]
    columns: tuple[str, ...]
    errors: list[RowError]
    encoding: str | None = None


def parse_tenant_csv(data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedCsv:
    """Check a whole upload; ``errors`` lists every problem (then ``rows`` must not be imported)."""
    text, encoding = decode_csv(data)
    if text is None:
        return ParsedCsv([], [], COLUMNS, [RowError(
            0, None, None, None, "encoding", "The file is neither UTF-8 nor Shift_JIS (CP932); save it as CSV UTF-8.",
            "ファイルが UTF-8 でも Shift_JIS（CP932）でもありません。CSV UTF-8 形式で保存してください。")])
    errors: list[RowError] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        header, errors = [], [RowError(0, 1, None, None, "csv_syntax", f"The header cannot be read as CSV: {exc}.",
                                       f"見出し行を CSV として読めません: {exc}")]
    columns, en, ja = check_header(header)
    if columns is None:
        if not errors:
            errors.append(RowError(0, 1, None, _shown(",".join(header)), "bad_header", en, ja))
        return ParsedCsv([], [], COLUMNS, errors, encoding)
    rows: list[FactorRow] = []
    canonical: list[list[str]] = []
    seen: dict[str, int] = {}
    row_no = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(row_no + 1, reader.line_num, None, None, "csv_syntax",
                                   f"The CSV cannot be read from here on: {exc}.",
                                   f"この行以降を CSV として読めません: {exc}"))
            break
        if not any(cell.strip() for cell in cells):
            continue
        row_no += 1
        line = reader.line_num
        if row_no > max_rows:
            errors.append(RowError(row_no, line, None, None, "too_many_rows",
                                   f"More than {max_rows} rows; split the file.",
                                   f"{max_rows} 行を超えています。ファイルを分割してください。"))
            break
        if len(cells) != len(columns):
            errors.append(RowError(
                row_no, line, None, None, "cell_count",
                f"The row has {len(cells)} cells but the header has {len(columns)}; quote cells that contain commas.",
                f"この行のセル数 {len(cells)} が見出しの列数 {len(columns)} と違います。カンマを含むセルは"
                "\"\" で囲んでください。"))
            continue
        stripped = [cell.strip() for cell in cells]
        values = dict(zip(columns, stripped, strict=True))
        row, problems = tenant_row_problems(values)
        for column, code, p_en, p_ja in problems:
            errors.append(RowError(row_no, line, column, _shown(values.get(column)), code, p_en, p_ja))
        if row is None:
            continue
        if row.code in seen:
            errors.append(RowError(
                row_no, line, "code", row.code, "duplicate_code",
                f"Duplicate code {row.code!r} (first used in row {seen[row.code]}); codes must be unique in a file.",
                f"コード {row.code!r} が重複しています（{seen[row.code]} 行目と同じ）。ファイル内で一意にしてください。"))
            continue
        seen[row.code] = row_no
        rows.append(row)
        canonical.append(stripped)
    if not rows and not errors:
        errors.append(RowError(1, 2, None, None, "no_rows", "The file has no factor rows below the header.",
                               "見出し行の下に係数の行がありません。"))
    return ParsedCsv(rows, canonical, columns, errors, encoding)
