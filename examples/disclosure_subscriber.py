"""Print the disclosures granted to your company, verifying each signature.

A buyer's own system subscribes to the public topic ``tanso.public.disclosures.v1``. Each record is
one CloudEvents 1.0 event in structured JSON mode (type ``tanso.supplier-exchange.DisclosureGranted.v1``,
``tenantid`` = the buyer the disclosure was granted to, ``subject`` = the disclosure id). The
``data.signature_jws`` is a compact JWS (EdDSA, ``typ: tanso-disclosure+jws``) over the canonical
JSON of the disclosure; verify it against the JWKS of supplier-exchange before trusting the figures.

    uv run python examples/disclosure_subscriber.py --tenant <your tenant id> \\
        --bootstrap 127.0.0.1:9092 --jwks http://127.0.0.1:8005/.well-known/jwks.json

Needs only ``aiokafka``, ``httpx`` and ``pyjwt[crypto]``; copy it into your own project as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import httpx
import jwt

TOPIC = "tanso.public.disclosures.v1"
EVENT_TYPE = "tanso.supplier-exchange.DisclosureGranted.v1"
JWS_TYPE = "tanso-disclosure+jws"


def verify(jws: str, jwks: dict) -> dict:
    """The signed disclosure, or ``jwt.PyJWTError`` if the signature, key or type is wrong."""
    header = jwt.get_unverified_header(jws)
    if header.get("alg") != "EdDSA" or header.get("typ") != JWS_TYPE:
        raise jwt.InvalidTokenError("not a Tanso disclosure signature")
    keys = {k["kid"]: k for k in jwks.get("keys", [])}
    if header.get("kid") not in keys:
        raise jwt.InvalidKeyError(f"unknown key {header.get('kid')!r}; refresh the JWKS")
    return json.loads(jwt.api_jws.decode(jws, jwt.PyJWK(keys[header["kid"]]).key, algorithms=["EdDSA"]))


def handle(value: bytes, jwks: dict, tenant_id: str | None = None) -> dict | None:
    """One record → the verified disclosure (``None`` for other types or other tenants).

    The event's figures must equal the signed ones: the signature, not the envelope, is the proof.
    """
    event = json.loads(value)
    if event.get("type") != EVENT_TYPE or (tenant_id and event.get("tenantid") != tenant_id):
        return None
    data = event["data"]
    signed = verify(data["signature_jws"], jwks)
    for field in ("disclosure_id", "supplier_tenant_id", "buyer_tenant_id", "fiscal_year", "figures",
                  "supersedes_disclosure_id"):
        if signed.get(field) != data.get(field):
            raise jwt.InvalidTokenError(f"event field {field!r} differs from the signed disclosure")
    return signed


def describe(d: dict) -> str:
    lines = [f"disclosure {d['disclosure_id']} from {d['supplier_tenant_id']} for FY{d['fiscal_year']} "
             f"(granted {d['granted_at']}" + (f", corrects {d['supersedes_disclosure_id']})"
                                              if d.get("supersedes_disclosure_id") else ")")]
    for f in d["figures"]:
        what = {"scope_total": f"Scope {f.get('scope')}", "scope3_category": f"Scope 3 cat. {f.get('scope3_category')}",
                "org_intensity": "intensity", "product_footprint": f"product {f.get('product_id')}"}[f["kind"]]
        lines.append(f"  {what:<22} {f['value']:>16} {f['unit']}")
    return "\n".join(lines)


async def main() -> None:
    from aiokafka import AIOKafkaConsumer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenant", required=True, help="your (the buyer's) tenant id: other tenants' events are skipped")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--jwks", default="http://127.0.0.1:8005/.well-known/jwks.json")
    parser.add_argument("--group", default=None, help="consumer group (default: disclosure-subscriber-<tenant>)")
    args = parser.parse_args()

    async with httpx.AsyncClient(timeout=10) as http:
        jwks = (await http.get(args.jwks)).raise_for_status().json()
        consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=args.bootstrap, auto_offset_reset="earliest",
                                    group_id=args.group or f"disclosure-subscriber-{args.tenant}")
        await consumer.start()
        try:
            async for record in consumer:
                try:
                    disclosure = handle(record.value, jwks, args.tenant)
                except jwt.InvalidKeyError:  # the service may have a new key: fetch once and retry
                    jwks = (await http.get(args.jwks)).raise_for_status().json()
                    try:
                        disclosure = handle(record.value, jwks, args.tenant)
                    except jwt.PyJWTError as exc:
                        print(f"REJECTED {record.key!r}: {exc}", file=sys.stderr)
                        continue
                except jwt.PyJWTError as exc:
                    print(f"REJECTED {record.key!r}: {exc}", file=sys.stderr)
                    continue
                if disclosure is not None:
                    print(describe(disclosure), flush=True)
        finally:
            await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
