"""Command line: import factor catalogue editions straight into the factors database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.db import make_engine

from ..adapters import tables
from ..adapters.projections import PROJECTIONS
from ..bootstrap import upgrade_read_models
from ..domain.catalogue_files import (
    CatalogueEdition,
    CatalogueFileError,
    iter_editions,
    load_edition,
)
from ..service_layer.handlers import ImportReport, editions_to_import, import_in_own_transaction
from ..settings import Settings

DESCRIPTION = """\
Import emission-factor catalogue editions (folders with meta.toml + factors.csv) into the factors
service's database. Kafka is not needed: the import writes the event store and the outbox only, and
the running factors service's outbox relay publishes the FactorPublished events (if the service is
not running, they are published when it next starts). Re-importing an unchanged file publishes
nothing; a corrected file publishes new versions of the rows that changed.

The database is the service's own: TANSO_FACTORS_DATABASE__URL, or else the SQLite file
factors.sqlite3 in TANSO_FACTORS_DATA_DIR (default ./data). Exit codes: 0 done, 2 bad file.
"""


def _progress(label: str):
    def show(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            print(f"  {label}: {done}/{total} rows ({done * 100 // total}%)", flush=True)

    return show


async def run_imports(settings: Settings, editions: Sequence[CatalogueEdition]) -> list[ImportReport]:
    """Import each edition in its own transaction; creates missing tables first."""
    engine = make_engine(settings.database_url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(tables.metadata.create_all)
        await upgrade_read_models(engine)
        reports = []
        for edition in editions:
            label = f"{edition.source_id} {edition.edition}"
            report = await import_in_own_transaction(
                edition, lambda: UnitOfWork(engine, tables.messaging, PROJECTIONS), _progress(label))
            print(report.summary(), flush=True)
            for kind in ("new", "changed"):
                if codes := getattr(report, kind):
                    more = f" … and {len(codes) - 20} more" if len(codes) > 20 else ""
                    print(f"  {kind}: {', '.join(codes[:20])}{more}", flush=True)
            reports.append(report)
        return reports
    finally:
        await engine.dispose()


def _load(folder: Path) -> list[CatalogueEdition]:
    """One edition folder, or a folder of edition folders."""
    if (folder / "meta.toml").exists() or (folder / "factors.csv").exists():
        return [load_edition(folder)]
    editions = list(iter_editions(folder))
    if not editions:
        raise CatalogueFileError(f"{folder}: no edition folders (meta.toml + factors.csv) found")
    return editions


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tanso_factors.entrypoints.cli", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = p.add_subparsers(dest="command", required=True)
    one = commands.add_parser("import", help="import one edition folder (or a folder of editions)")
    one.add_argument("folder", type=Path)
    commands.add_parser("import-all", help="import every shipped edition, the IPCC GWP sets of the "
                        "globalwarmingpotentials package and TANSO_FACTORS_EXTRA_DATA_DIRS")
    return p


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    args = parser().parse_args(argv)
    settings = settings or Settings()
    try:
        if args.command == "import":
            editions = _load(args.folder)
        else:
            editions = editions_to_import(settings.extra_data_dirs, strict=True)
    except CatalogueFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was imported; fix the file and run the command again", file=sys.stderr)
        return 2
    reports = asyncio.run(run_imports(settings, editions))
    published = sum(len(r.new) + len(r.changed) for r in reports)
    print(f"{len(reports)} edition(s), {published} new factor version(s) queued for publication")
    return 0


if __name__ == "__main__":
    sys.exit(main())
