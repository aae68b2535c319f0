"""Entries of the CSV error report: row, column, value and the reason in English and Japanese."""

from __future__ import annotations

from dataclasses import dataclass

#: code → (English, Japanese); ``{value}``, ``{limit}``, ``{unit}``, ``{item}``, ``{item_ja}`` … are filled in.
REASONS: dict[str, tuple[str, str]] = {
    "formula": (("Starts with {first!r}, which a spreadsheet may run as a formula; remove it "
                 "(amounts cannot be negative)."),
                ("先頭の {first!r} は表計算ソフトで数式として実行されるおそれがあるため使えません"
                 "（数量にマイナスは使えません）。")),
    "required": ("Required; fill it in.", "必須項目です。入力してください。"),
    "unknown_org_unit": ("No site or line with this id in your tenant; use the ids of the template.",
                         "この拠点IDはテナントに存在しません。テンプレートの拠点IDを使ってください。"),
    "unknown_item": ("Unknown activity item; use a code of the template (GET /items).",
                     "活動項目コードが存在しません。テンプレートの項目コードを使ってください。"),
    "item_not_in_logic": ("This item is not in the calculation logic of FY{fiscal_year}.",
                          "この項目は{fiscal_year}年度の算定ロジックにありません。"),
    "unknown_unit": ("Unknown unit; {item} is measured in {unit}.",
                     "単位が不明です。{item_ja} の単位は {unit} です。"),
    "unit_mismatch": ("This unit cannot be converted to {unit}, the unit of {item}.",
                      "この単位は {item_ja} の単位 {unit} に換算できません。"),
    "bad_period": ("Not a month; write YYYY-MM, e.g. 2025-04.",
                   "年月として読めません。2025-04 のように YYYY-MM で入力してください。"),
    "bad_amount": (("Not a plain number ≥ 0; write digits with an optional decimal point, e.g. 1200, "
                    "1,200 or 0.5 (no signs, units, currency or exponents)."),
                   ("0 以上の数値として読めません。1200、1,200、0.5 のように入力してください"
                    "（符号・単位・通貨記号・指数表記は使えません）。")),
    "ambiguous_amount": ("Ambiguous number (a decimal comma?); write e.g. 1200.5 with a decimal point.",
                         "数値の区切りがあいまいです（小数点にカンマ？）。1200.5 のように小数点で入力してください。"),
    "note_without_amount": ("The amount is blank but the row has a note; enter the amount (or 0).",
                            "備考がありますが数量が空欄です。数量（または 0）を入力してください。"),
    "too_long": ("Longer than {limit} characters.", "{limit} 文字を超えています。"),
    "nul": ("Contains a NUL character, which cannot be stored; remove it.", "NUL 文字は保存できません。削除してください。"),
    "cell_count": (("The row has {got} cells but the header has {limit}; a number like 1,200 must be "
                    "quoted (\"1,200\") or written without the comma."),
                   ("この行のセル数 {got} が見出しの列数 {limit} と違います。1,200 のようなカンマ付きの数値は"
                    "\"1,200\" と引用符で囲むか、カンマなしで入力してください。")),
    "unknown_column": ("Unknown column; the columns are {columns}.", "不明な列です。使える列: {columns}"),
    "duplicate_column": ("The column appears twice.", "同じ列が2回あります。"),
    "missing_column": ("Required column missing.", "必須の列がありません。"),
    "too_many_columns": ("More than {limit} columns.", "列数が {limit} を超えています。"),
    "csv_syntax": ("The CSV cannot be read from here on: {detail}.", "この行以降をCSVとして読めません: {detail}"),
}


@dataclass(frozen=True)
class CellError:
    row: int
    column: str | None
    value: str | None
    code: str
    reason_en: str
    reason_ja: str

    def at(self, row: int) -> CellError:
        return CellError(row, self.column, self.value, self.code, self.reason_en, self.reason_ja)

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "code": self.code,
                "reason_en": self.reason_en, "reason_ja": self.reason_ja}


def cell_error(row: int, column: str | None, value: str | None, code: str, **facts) -> CellError:
    en, ja = REASONS[code]
    shown = value if value is None or len(value) <= 200 else value[:200] + "…"
    return CellError(row, column, shown, code, en.format(**facts), ja.format(**facts))
