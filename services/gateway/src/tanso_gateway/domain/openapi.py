"""Combine the services' OpenAPI documents into the one document of the gateway.

Paths get the prefix ``/api/<service>``, component names the prefix ``<service>_`` (with every
``$ref`` rewritten) so two services' ``Item`` schemas cannot collide, and operations are tagged by
service and secured by the bearer scheme unless the route is public.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BEARER = "bearerAuth"
#: Upstream paths left out of the combined document (the gateway's own /health/* covers them).
HIDDEN_PREFIXES = ("/health/",)
_COMPONENTS = "#/components/"


def component_name(service: str, name: str) -> str:
    return f"{service}_{name}"


def _rename_ref(ref: str, service: str) -> str:
    if not ref.startswith(_COMPONENTS):
        return ref
    section, _, name = ref[len(_COMPONENTS):].partition("/")
    return f"{_COMPONENTS}{section}/{component_name(service, name)}"


def rewrite_refs(node: Any, service: str) -> Any:
    """A copy of ``node`` whose component references point at the prefixed names."""
    if isinstance(node, list):
        return [rewrite_refs(v, service) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = _rename_ref(value, service)
        elif key == "discriminator" and isinstance(value, dict) and isinstance(value.get("mapping"), dict):
            out[key] = {**value, "mapping": {k: _rename_ref(v, service) for k, v in value["mapping"].items()}}
        else:
            out[key] = rewrite_refs(value, service)
    return out


def combine(
    docs: Mapping[str, dict],
    unavailable: Mapping[str, str],
    *,
    public_routes: Collection[tuple[str, str]] = (),
    title: str = "Tanso API",
    version: str = "0.1.0",
) -> dict:
    """One OpenAPI 3.1 document from ``docs`` (service → its document).

    ``unavailable`` (service → reason) is listed in ``info.description``; ``public_routes`` are
    ``(METHOD, gateway path)`` pairs that need no token. Upstream ``/health/*`` paths are left out.
    """
    paths: dict[str, dict] = {}
    components: dict[str, dict] = {}
    tags = []
    for service, raw in docs.items():
        doc = rewrite_refs(raw, service)
        info = doc.get("info", {})
        tags.append({"name": service, "description": info.get("description") or info.get("title", service)})
        for path, item in (doc.get("paths") or {}).items():
            if path.startswith(HIDDEN_PREFIXES):
                continue
            full = f"/api/{service}{path}"
            new_item = dict(item)
            for method in HTTP_METHODS:
                if not isinstance(item.get(method), dict):
                    continue
                op = dict(item[method])
                op["tags"] = [service]
                if op.get("operationId"):
                    op["operationId"] = f"{service}__{op['operationId']}"
                op["security"] = [] if (method.upper(), full) in public_routes else [{BEARER: []}]
                new_item[method] = op
            paths[full] = new_item
        for section, entries in (doc.get("components") or {}).items():
            if section == "securitySchemes" or not isinstance(entries, dict):
                continue
            target = components.setdefault(section, {})
            for name, value in entries.items():
                target[component_name(service, name)] = value
    components["securitySchemes"] = {BEARER: {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "Access token from POST /api/identity/token (アクセストークン).",
    }}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": describe(docs, unavailable)},
        "paths": paths,
        "components": components,
        "security": [{BEARER: []}],
        "tags": tags,
    }


def describe(docs: Mapping[str, Any], unavailable: Mapping[str, str]) -> str:
    lines = [
        "One API for every Tanso service, behind the gateway. / すべての Tanso サービスの API。",
        "",
        ("Sign up with `POST /api/identity/tenants`, get a token with `POST /api/identity/token`, "
         "then press **Authorize** and paste the `access_token`."),
        "サインアップ後、`POST /api/identity/token` でトークンを取得し **Authorize** に貼り付けてください。",
        "",
        f"Included services: {', '.join(docs) or 'none'}.",
    ]
    if unavailable:
        lines.append("")
        lines.append("**Not included (unavailable right now / 現在利用できないサービス):**")
        lines.extend(f"- {service}: {reason}" for service, reason in unavailable.items())
    return "\n".join(lines)
