"""IPCC 100-year global warming potentials (source ``ipcc-gwp``, editions AR4, AR5 and AR6).

Read at start from the CSV shipped in the PyPI package ``globalwarmingpotentials`` (CC0-1.0,
openclimatedata), not from a copy in this repository. Each gas of each report becomes a factor
``gwp.<ar>.<gas>`` in t-CO2e per t of gas, checked by the same row rules as the shipped lists.

Status per value follows the project reference list (factors.md §5): the gases in its table are
VERIFIED; the others were read only in this package, hence SECONDARY. CO2 is 1 by definition.
The AR6 methane split (fossil 29.8 / non-fossil 27.0, IPCC AR6 WG1 Table 7.15, confirmed by the
IDEA characterisation factors) is not in the package and is added from the reference list.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources

from .catalogue_files import COLUMNS, CatalogueEdition, build_edition, check_meta, check_row

SOURCE_ID = "ipcc-gwp"
PACKAGE = "globalwarmingpotentials"
#: edition → (CSV column, report name ja/en, first fiscal year note)
REPORTS = {
    "AR4": ("AR4GWP100", "第4次評価報告書", "Fourth Assessment Report", 2007),
    "AR5": ("AR5GWP100", "第5次評価報告書", "Fifth Assessment Report", 2013),
    "AR6": ("AR6GWP100", "第6次評価報告書", "Sixth Assessment Report", 2021),
}


@dataclass(frozen=True)
class Gas:
    species: str  # the package's key
    slug: str  # the code's last part
    family: str  # the ``gas`` column
    label_en: str
    label_ja: str
    #: In the reference list's GWP table (factors.md §5) → VERIFIED there.
    in_reference: bool = False
    note: str = ""


_MONTREAL = ("Montreal Protocol substance (フロン排出抑制法 特定フロン): not a Kyoto gas, so not part of "
             "Scope 1 totals under the GHG Protocol; for refrigerant leakage reports (算定漏えい量報告).")

GASES: tuple[Gas, ...] = (
    Gas("CH4", "ch4", "CH4", "Methane (CH4)", "メタン（CH4）", True),
    Gas("N2O", "n2o", "N2O", "Nitrous oxide (N2O)", "一酸化二窒素（N2O）", True),
    Gas("SF6", "sf6", "SF6", "Sulphur hexafluoride (SF6)", "六ふっ化硫黄（SF6）", True),
    Gas("NF3", "nf3", "NF3", "Nitrogen trifluoride (NF3)", "三ふっ化窒素（NF3）", True),
    Gas("HFC23", "hfc_23", "HFC", "HFC-23 (trifluoromethane)", "HFC-23（トリフルオロメタン）", True),
    Gas("HFC32", "hfc_32", "HFC", "HFC-32 (difluoromethane)", "HFC-32（ジフルオロメタン）", True),
    Gas("HFC41", "hfc_41", "HFC", "HFC-41 (fluoromethane)", "HFC-41（フルオロメタン）"),
    Gas("HFC125", "hfc_125", "HFC", "HFC-125 (pentafluoroethane)", "HFC-125（ペンタフルオロエタン）", True),
    Gas("HFC134", "hfc_134", "HFC", "HFC-134 (1,1,2,2-tetrafluoroethane)", "HFC-134（1,1,2,2-テトラフルオロエタン）"),
    Gas("HFC134a", "hfc_134a", "HFC", "HFC-134a (1,1,1,2-tetrafluoroethane)", "HFC-134a（1,1,1,2-テトラフルオロエタン）", True),
    Gas("HFC143", "hfc_143", "HFC", "HFC-143 (1,1,2-trifluoroethane)", "HFC-143（1,1,2-トリフルオロエタン）"),
    Gas("HFC143a", "hfc_143a", "HFC", "HFC-143a (1,1,1-trifluoroethane)", "HFC-143a（1,1,1-トリフルオロエタン）", True),
    Gas("HFC152", "hfc_152", "HFC", "HFC-152 (1,2-difluoroethane)", "HFC-152（1,2-ジフルオロエタン）"),
    Gas("HFC152a", "hfc_152a", "HFC", "HFC-152a (1,1-difluoroethane)", "HFC-152a（1,1-ジフルオロエタン）"),
    Gas("HFC161", "hfc_161", "HFC", "HFC-161 (fluoroethane)", "HFC-161（フルオロエタン）"),
    Gas("HFC227ea", "hfc_227ea", "HFC", "HFC-227ea (heptafluoropropane)", "HFC-227ea（1,1,1,2,3,3,3-ヘプタフルオロプロパン）"),
    Gas("HFC236cb", "hfc_236cb", "HFC", "HFC-236cb", "HFC-236cb（1,1,1,2,2,3-ヘキサフルオロプロパン）"),
    Gas("HFC236ea", "hfc_236ea", "HFC", "HFC-236ea", "HFC-236ea（1,1,1,2,3,3-ヘキサフルオロプロパン）"),
    Gas("HFC236fa", "hfc_236fa", "HFC", "HFC-236fa", "HFC-236fa（1,1,1,3,3,3-ヘキサフルオロプロパン）"),
    Gas("HFC245ca", "hfc_245ca", "HFC", "HFC-245ca", "HFC-245ca（1,1,2,2,3-ペンタフルオロプロパン）"),
    Gas("HFC245fa", "hfc_245fa", "HFC", "HFC-245fa", "HFC-245fa（1,1,1,3,3-ペンタフルオロプロパン）"),
    Gas("HFC365mfc", "hfc_365mfc", "HFC", "HFC-365mfc", "HFC-365mfc（1,1,1,3,3-ペンタフルオロブタン）"),
    Gas("HFC4310mee", "hfc_43_10mee", "HFC", "HFC-43-10mee", "HFC-43-10mee（1,1,1,2,3,4,4,5,5,5-デカフルオロペンタン）"),
    Gas("CF4", "cf4", "PFC", "PFC-14 (CF4, perfluoromethane)", "PFC-14（パーフルオロメタン、CF4）", True),
    Gas("C2F6", "c2f6", "PFC", "PFC-116 (C2F6, perfluoroethane)", "PFC-116（パーフルオロエタン、C2F6）", True),
    Gas("C3F8", "c3f8", "PFC", "PFC-218 (C3F8, perfluoropropane)", "PFC-218（パーフルオロプロパン、C3F8）"),
    Gas("cC4F8", "c_c4f8", "PFC", "PFC-318 (c-C4F8, perfluorocyclobutane)", "PFC-c318（パーフルオロシクロブタン、c-C4F8）"),
    Gas("C4F10", "c4f10", "PFC", "PFC-31-10 (C4F10, perfluorobutane)", "PFC-31-10（パーフルオロブタン、C4F10）"),
    Gas("C5F12", "c5f12", "PFC", "PFC-41-12 (C5F12, perfluoropentane)", "PFC-41-12（パーフルオロペンタン、C5F12）"),
    Gas("C6F14", "c6f14", "PFC", "PFC-51-14 (C6F14, perfluorohexane)", "PFC-51-14（パーフルオロヘキサン、C6F14）"),
    Gas("C10F18", "c10f18", "PFC", "PFC-91-18 (C10F18, perfluorodecalin)", "PFC-91-18（パーフルオロデカリン、C10F18）"),
    Gas("SF5CF3", "sf5cf3", "PFC", "Trifluoromethyl sulphur pentafluoride (SF5CF3)",
        "トリフルオロメチルスルファーペンタフルオリド（SF5CF3）"),
    Gas("cC3F6", "c_c3f6", "PFC", "Perfluorocyclopropane (c-C3F6)", "パーフルオロシクロプロパン（c-C3F6）"),
    Gas("CFC11", "cfc_11", "CFC", "CFC-11", "CFC-11（トリクロロフルオロメタン）", note=_MONTREAL),
    Gas("CFC12", "cfc_12", "CFC", "CFC-12", "CFC-12（ジクロロジフルオロメタン）", note=_MONTREAL),
    Gas("CFC13", "cfc_13", "CFC", "CFC-13", "CFC-13（クロロトリフルオロメタン）", note=_MONTREAL),
    Gas("CFC113", "cfc_113", "CFC", "CFC-113", "CFC-113", note=_MONTREAL),
    Gas("CFC114", "cfc_114", "CFC", "CFC-114", "CFC-114", note=_MONTREAL),
    Gas("CFC115", "cfc_115", "CFC", "CFC-115", "CFC-115", note=_MONTREAL),
    Gas("HCFC22", "hcfc_22", "HCFC", "HCFC-22 (chlorodifluoromethane, R-22)", "HCFC-22（クロロジフルオロメタン、R22）",
        note=_MONTREAL),
    Gas("HCFC123", "hcfc_123", "HCFC", "HCFC-123", "HCFC-123", note=_MONTREAL),
    Gas("HCFC124", "hcfc_124", "HCFC", "HCFC-124", "HCFC-124", note=_MONTREAL),
    Gas("HCFC141b", "hcfc_141b", "HCFC", "HCFC-141b", "HCFC-141b", note=_MONTREAL),
    Gas("HCFC142b", "hcfc_142b", "HCFC", "HCFC-142b", "HCFC-142b", note=_MONTREAL),
    Gas("HCFC225ca", "hcfc_225ca", "HCFC", "HCFC-225ca", "HCFC-225ca", note=_MONTREAL),
    Gas("HCFC225cb", "hcfc_225cb", "HCFC", "HCFC-225cb", "HCFC-225cb", note=_MONTREAL),
)

#: (edition, slug, label en, label ja, value, status, sources, note): values not in the package.
EXTRA_ROWS = (
    ("AR6", "ch4_fossil", "Fossil methane (CH4)", "化石由来メタン（CH4）", "29.8", "VERIFIED", "S17",
     ("IPCC AR6 WG1 Table 7.15 (fossil CH4 includes the oxidation to CO2); not in the package. "
      "Use gwp.ar6.ch4 (27.9) when the origin is unknown or non-fossil.")),
    ("AR6", "ch4_non_fossil", "Non-fossil methane (CH4)", "非化石由来メタン（CH4）", "27.0", "VERIFIED", "S17",
     "IPCC AR6 WG1 Table 7.15; not in the package."),
)

_NOTES = {
    "SF6": {"AR6": "IDEA's AR6 characterisation factor is 24,300 (S17): a discrepancy noted in the reference "
                   "list; the package value (IPCC AR6) is shipped."},
}


def package_version() -> str:
    return metadata.version(PACKAGE)


@cache
def package_table() -> dict[str, dict[str, str]]:
    """The package CSV as ``{species: {column: value}}`` (comment lines skipped)."""
    text = (resources.files(PACKAGE) / "globalwarmingpotentials.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {row["Species"]: row for row in csv.DictReader(io.StringIO("\n".join(lines)))}


def _cells(code: str, label_en: str, label_ja: str, edition: str, value: str, family: str, status: str,
           sources: str, note: str) -> dict[str, str]:
    return {
        "code": code,
        "name_ja": f"{label_ja} 地球温暖化係数（{edition}・100年）",
        "name_en": f"{label_en} global warming potential ({edition}, 100-year)",
        "category": "gwp", "scope": "", "scope3_category": "", "activity_unit": "t", "value": value,
        "value_unit": "t-CO2e/t", "gas": family, "heat_value_gj_per_unit": "", "carbon_tc_per_gj": "",
        "status": status, "sources": sources, "note": note,
    }


def _plain(value: str) -> str:
    """The package's number as printed ("28", "27.9", "90.4"); "28.0" is written as "28"."""
    value = value.strip()
    return value.removesuffix(".0")


def edition_cells(edition: str) -> list[dict[str, str]]:
    """The rows of one report, as cells of ``factors.csv``."""
    column = REPORTS[edition][0]
    table = package_table()
    rows = [_cells(f"gwp.{edition.lower()}.co2", "Carbon dioxide (CO2)", "二酸化炭素（CO2）", edition, "1",
                   "CO2", "VERIFIED", "S16", "1 by definition of the GWP (the reference gas).")]
    for gas in GASES:
        value = _plain(table.get(gas.species, {}).get(column, ""))
        if not value:
            continue  # the report gives no 100-year GWP for this gas
        note = " ".join(n for n in (gas.note, _NOTES.get(gas.species, {}).get(edition, "")) if n)
        rows.append(_cells(f"gwp.{edition.lower()}.{gas.slug}", gas.label_en, gas.label_ja, edition, value,
                           gas.family, "VERIFIED" if gas.in_reference else "SECONDARY", "S16", note))
    for ed, slug, label_en, label_ja, value, status, sources, note in EXTRA_ROWS:
        if ed == edition:
            rows.append(_cells(f"gwp.{edition.lower()}.{slug}", label_en, label_ja, edition, value, "CH4",
                               status, sources, note))
    return rows


def gwp_edition(edition: str) -> CatalogueEdition:
    """One report's GWP set as a catalogue edition (rows checked like a shipped file)."""
    _, report_ja, report_en, year = REPORTS[edition]
    version = package_version()
    meta = check_meta({
        "source_id": SOURCE_ID,
        "publisher_ja": "IPCC（気候変動に関する政府間パネル）",
        "publisher_en": "Intergovernmental Panel on Climate Change (IPCC)",
        "title_ja": f"IPCC {report_ja}（{edition}）地球温暖化係数（GWP、100年値）",
        "title_en": f"IPCC {report_en} ({edition}): 100-year global warming potentials (GWP100)",
        "edition": edition,
        "licence": f"CC0-1.0: data package {PACKAGE} {version} by openclimatedata; the values are those "
                   "of the IPCC assessment report",
        "url": "https://github.com/openclimatedata/globalwarmingpotentials",
        "valid_from_fy": 1990,
        "notes": f"Read at start from {PACKAGE} {version} ({REPORTS[edition][0]} column) [S16]. A GWP set is "
                 f"not bound to fiscal years: the tenant chooses one (AR5 by default); published {year}. "
                 "Status as in the project reference list factors.md §5: gases in its table are VERIFIED, "
                 "the others SECONDARY (read only in the package). Japan's SHK used AR4 up to the 2023 "
                 "report; the national inventory and the フロン排出抑制法 GWP notice (2023) use AR5.",
    }, f"{PACKAGE} {edition}")
    rows, canonical = [], []
    for cells in edition_cells(edition):
        row, problems = check_row(cells)
        if problems:  # pragma: no cover - a package update with a malformed value
            raise ValueError(f"{PACKAGE} {version} {cells['code']}: {problems[0].reason_en}")
        rows.append(row)
        canonical.append([cells[c] for c in COLUMNS])
    return build_edition(meta, rows, canonical)


def gwp_editions() -> list[CatalogueEdition]:
    return [gwp_edition(edition) for edition in REPORTS]
