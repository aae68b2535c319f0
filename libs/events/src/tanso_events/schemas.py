"""Generate the committed JSON Schemas of the integration events.

``python -m tanso_events.schemas`` rewrites ``libs/events/schemas/``; ``--check`` fails on drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .catalog import ALL_EVENTS
from .envelope import SCHEMA_BASE, IntegrationEvent

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def schema_of(event: type[IntegrationEvent]) -> dict:
    schema = event.model_json_schema(mode="serialization")
    schema["$id"] = f"{SCHEMA_BASE}/{event.schema_file()}"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["x-cloudevents-type"] = event.event_type()
    return schema


def rendered() -> dict[str, str]:
    """File name → canonical JSON text for every event in the catalogue."""
    return {
        e.schema_file(): json.dumps(schema_of(e), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        for e in ALL_EVENTS
    }


def main(argv: list[str]) -> int:
    files = rendered()
    if "--check" in argv:
        stale = [n for n, text in files.items() if not (SCHEMA_DIR / n).is_file()
                 or (SCHEMA_DIR / n).read_text(encoding="utf-8") != text]
        if stale:
            print(f"event schemas out of date: {stale}; run `python -m tanso_events.schemas`")
            return 1
        return 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in files.items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} schemas to {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
