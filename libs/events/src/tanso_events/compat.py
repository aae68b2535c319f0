"""Is a new JSON Schema of an integration event backward compatible with an older one?

The rule behind every check: **each payload the old schema accepted, the new one accepts too.**
Events are re-read long after they were written (a replay, the relay republishing after a broker
restart, a consumer catching up), always by the newest code, and consumers are deployed before the
producers that emit a new revision. So a revision may add an optional property or accept more
(``null``, another enum value, a looser bound); it must not:

========================  =====================================================================
rule                      what it rejects
========================  =====================================================================
closed                    an object schema (``$defs`` included) without ``additionalProperties: false``
property-removed          a property of the old schema missing from the new one
type-changed              a JSON type the old schema accepted and the new one does not
nullability-narrowed      ``null`` accepted before and not now
enum-narrowed             an enum/const (``Literal``) that lost values, or a new enum
constraint-tightened      a new or stricter ``pattern``, ``format``, ``minimum``, ``maxLength`` …
optional-became-required  a property that was optional is now required
new-property-required     a new property that is required
same-event                comparing schemas of two different event types (v1 and v2 are separate)
========================  =====================================================================

Messages read ``<event type>: <JSON pointer>: <rule>: <detail>``. Local ``$ref``s are resolved.
``python -m tanso_events.compat BASELINE_DIR...`` compares the committed schemas with older copies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "multipleOf", "uniqueItems", "contentEncoding")
_MAX_DEPTH = 200  # recursive schemas are compared to a bounded depth


def check_compatible(old: dict, new: dict) -> list[str]:
    """Problems that make ``new`` incompatible with ``old``; empty when it is compatible."""
    return _Check(old, new).run()


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def resolve(schema: dict, root: dict) -> dict:
    """Follow local ``$ref``s; keywords beside a ``$ref`` are kept (JSON Schema 2020-12)."""
    for _ in range(_MAX_DEPTH):
        ref = schema.get("$ref")
        if ref is None:
            return schema
        if not ref.startswith("#"):
            raise ValueError(f"only local $refs are supported, not {ref!r}")
        target = root
        for part in filter(None, ref[1:].split("/")):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    raise ValueError("$ref cycle")


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def _branches(schema: dict, root: dict) -> dict[str, dict]:
    """JSON type → the subschema admitting it (``any`` for an unconstrained schema)."""
    schema = resolve(schema, root)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        out: dict[str, dict] = {}
        for alternative in alternatives:
            out.update(_branches(alternative, root))
        return out
    if "type" in schema:
        return {t: schema for t in _as_list(schema["type"])}
    if "enum" in schema or "const" in schema:
        return {_json_type(v): schema for v in _enum(schema)}
    return {"any": schema}


def _enum(schema: dict) -> list | None:
    if "const" in schema:
        return [schema["const"]]
    return schema.get("enum")


def _dropped(old_values: list, new_values: list) -> list[str]:
    kept = {json.dumps(v, sort_keys=True) for v in new_values}
    return sorted({json.dumps(v, sort_keys=True) for v in old_values} - kept)


def open_objects(schema: dict, path: str = "") -> list[str]:
    """JSON pointers of the object schemas in ``schema`` that accept undeclared properties."""
    found = []
    if "object" in _as_list(schema.get("type")) or "properties" in schema:
        extra = schema.get("additionalProperties", True)
        if extra is True or ("properties" in schema and extra is not False):
            found.append(path or "/")
    for key, sub in schema.items():
        if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(sub, dict):
            for name, s in sub.items():
                found += open_objects(s, f"{path}/{key}/{_escape(name)}")
        elif key in ("items", "additionalProperties", "contains", "not") and isinstance(sub, dict):
            found += open_objects(sub, f"{path}/{key}")
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for i, s in enumerate(sub):
                found += open_objects(s, f"{path}/{key}/{i}")
    return found


class _Check:
    def __init__(self, old: dict, new: dict) -> None:
        self.old_root, self.new_root = old, new
        self.event = new.get("x-cloudevents-type") or new.get("title") or "schema"
        self.problems: list[str] = []

    def report(self, path: str, rule: str, detail: str) -> None:
        self.problems.append(f"{self.event}: {path or '/'}: {rule}: {detail}")

    def run(self) -> list[str]:
        old_type = self.old_root.get("x-cloudevents-type")
        if old_type and old_type != self.event:
            self.report("", "same-event", f"{old_type} and {self.event} are different event types; "
                        "a new version is a new schema beside the old one, not a revision of it")
            return self.problems
        for pointer in open_objects(self.new_root):
            self.report(pointer, "closed", "object schema must set additionalProperties: false")
        self.compare(self.old_root, self.new_root, "")
        return list(dict.fromkeys(self.problems))  # a schema listing several types is seen once per type

    def compare(self, old: dict, new: dict, path: str) -> None:
        if path.count("/") > _MAX_DEPTH:
            return
        was, now = _branches(old, self.old_root), _branches(new, self.new_root)
        if "any" in now:
            return
        if "any" in was:
            self.report(path, "type-changed", f"was unconstrained, now {'|'.join(sorted(now))}")
            return
        if "null" in was and "null" not in now:
            self.report(path, "nullability-narrowed", "null was accepted and no longer is")
        lost = []
        for json_type, old_branch in sorted(was.items()):
            if json_type == "null":
                continue
            new_branch = now.get(json_type) or (now.get("number") if json_type == "integer" else None)
            if new_branch is None:
                lost.append(json_type)
            else:
                self.compare_branch(old_branch, new_branch, json_type, path)
        if lost:
            self.report(path, "type-changed", f"was {'|'.join(sorted(was))}, now {'|'.join(sorted(now))}")

    def compare_branch(self, old: dict, new: dict, json_type: str, path: str) -> None:
        old_values, new_values = _enum(old), _enum(new)
        if new_values is not None and old_values is None:
            self.report(path, "enum-narrowed", f"now restricted to {json.dumps(new_values)}")
        elif new_values is not None and (dropped := _dropped(old_values, new_values)):
            self.report(path, "enum-narrowed", f"no longer accepts {', '.join(dropped)}")
        for keyword in _LOWER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
                self.report(path, "constraint-tightened", f"{keyword} {old.get(keyword)} -> {new[keyword]}")
        for keyword in _UPPER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
                self.report(path, "constraint-tightened", f"{keyword} {old.get(keyword)} -> {new[keyword]}")
        for keyword in _EXACT:
            if keyword in new and new[keyword] != old.get(keyword):
                self.report(path, "constraint-tightened",
                            f"{keyword} {old.get(keyword)!r} -> {new[keyword]!r}")
        if json_type == "object":
            self.compare_object(old, new, path)
        elif json_type == "array" and ("items" in old or "items" in new):
            self.compare(old.get("items", {}), new.get("items", {}), f"{path}/items")

    def compare_object(self, old: dict, new: dict, path: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        for name, old_prop in old_props.items():
            pointer = f"{path}/properties/{_escape(name)}"
            if name not in new_props:
                self.report(pointer, "property-removed", f"{name!r} was removed")
                continue
            if name in new_required and name not in old_required:
                self.report(pointer, "optional-became-required", f"{name!r} was optional and is now required")
            self.compare(old_prop, new_props[name], pointer)
        for name in sorted(new_required & (new_props.keys() - old_props.keys())):
            self.report(f"{path}/properties/{_escape(name)}", "new-property-required",
                        f"new property {name!r} must be optional (not in required)")
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):  # maps: compare their values
            self.compare(old_extra, new_extra, f"{path}/additionalProperties")


def main(argv: list[str]) -> int:
    """Compare ``libs/events/schemas`` with each baseline directory named on the command line."""
    from .schemas import SCHEMA_DIR

    problems = []
    for baseline in map(Path, argv):
        for old_file in sorted(baseline.glob("*.json")):
            new_file = SCHEMA_DIR / old_file.name
            if not new_file.is_file():
                problems.append(f"{old_file.name}: released in {baseline} and no longer generated")
                continue
            problems += check_compatible(json.loads(old_file.read_text(encoding="utf-8")),
                                         json.loads(new_file.read_text(encoding="utf-8")))
    print("\n".join(problems) or f"compatible with {len(argv)} baseline(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
