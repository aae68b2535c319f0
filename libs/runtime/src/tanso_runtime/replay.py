"""Operator command: drop a service's projections and rebuild them from its event store.

    python -m tanso_runtime.replay calculation [--check-only]

Uses the service's own settings (``TANSO_<SERVICE>_DATABASE__URL`` …). Prints the projection
checksum before and after; exit code 1 if they differ. Stop the service first, so no event arrives
during the rebuild.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys

from sqlalchemy import Table
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore

from .db import make_engine


def _spec(service: str):
    module = "tanso_" + service.replace("-", "_")
    settings = importlib.import_module(f"{module}.settings").Settings()
    return importlib.import_module(f"{module}.bootstrap").build_spec(settings)


async def run(service: str, check_only: bool = False) -> tuple[str, str]:
    spec = _spec(service)
    tables: list[Table] = [t for p in spec.projections for t in p.tables]
    engine = make_engine(spec.settings.database_url())
    try:
        async with engine.connect() as conn:
            before = await checksum(conn, tables)
        if check_only:
            return before, before
        count = await rebuild(engine, EventStore(spec.tables), list(spec.projections),
                              progress=lambda n: print(f"  replayed {n} events", file=sys.stderr))
        async with engine.connect() as conn:
            after = await checksum(conn, tables)
        print(f"{service}: replayed {count} events into {[t.name for t in tables]}", file=sys.stderr)
        return before, after
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service")
    parser.add_argument("--check-only", action="store_true", help="print the checksum, rebuild nothing")
    args = parser.parse_args(argv)
    before, after = asyncio.run(run(args.service, args.check_only))
    print(f"before {before}\nafter  {after}")
    if before != after:
        print("projections differ after replay", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
