"""Fixtures of the CSV import tests: a seeded activities database, the import call, the HTTP app without Kafka."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from tanso_activities.adapters import tables
from tanso_activities.adapters.projections import PROJECTIONS
from tanso_activities.bootstrap import build_spec
from tanso_activities.service_layer import handlers
from tanso_activities.service_layer.csv_import import import_csv
from tanso_activities.service_layer.progress import ImportProgress
from tanso_activities.settings import CsvSettings, Settings
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.app import ServiceRuntime, create_service_app
from tanso_runtime.auth import Principal, TokenVerifier
from tanso_runtime.db import make_engine

EDITOR = Principal(subject="user-1", tenant_id="t1", roles=frozenset({"editor"}))
SITES = {"t1": [("site-1", "site", "東京工場"), ("site-2", "site", "=大阪工場"), ("hq", "company", "本社")],
         "t2": [("site-9", "site", "他社工場")]}


async def seed(engine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    for tenant, units in SITES.items():
        meta = EnvelopeMeta(id=str(uuid.uuid4()), type="x", subject=tenant, tenant_id=tenant, time=datetime.now(UTC))
        async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
            await handlers.on_tenant_registered(catalog.TenantRegistered(
                tenant_id=tenant, company_name="c", fiscal_year_start_month=4), meta, uow)
            for unit_id, kind, name in units:
                await handlers.on_org_unit_registered(catalog.OrgUnitRegistered(
                    org_unit_id=unit_id, parent_id=None, kind=kind, name_ja=name), meta, uow)


@pytest.fixture
async def csv_engine(database_url):
    """A seeded database on SQLite, and on PostgreSQL when it is reachable."""
    engine = make_engine(database_url)
    await seed(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def run_import(csv_engine):
    """``await run_import(bytes, dry_run=…, limits=…)`` → ImportResult (raises ProblemError)."""

    async def run(data: bytes, *, principal: Principal = EDITOR, dry_run: bool = False,
                  limits: CsvSettings | None = None, board=None):
        progress = ImportProgress(str(uuid.uuid4()), principal.tenant_id)
        if board is not None:
            board.start(progress)
        return await import_csv(csv_engine, lambda: UnitOfWork(csv_engine, tables.messaging, PROJECTIONS),
                                principal, data, "activities.csv", limits or CsvSettings(), progress,
                                dry_run=dry_run, board=board)

    return run


@pytest.fixture
def count(csv_engine):
    async def run(table=tables.activities) -> int:
        async with csv_engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table))).scalar_one()

    return run


# -- HTTP ---------------------------------------------------------------------------------------


@pytest.fixture
def csv_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, database={"url": f"sqlite+aiosqlite:///{tmp_path / 'act.sqlite3'}"},
                    log_json=False)


@pytest.fixture
async def http_engine(csv_settings):
    engine = make_engine(csv_settings.database_url())
    await seed(engine)
    yield engine
    await engine.dispose()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def token(csv_settings):
    """``token(tenant_id, roles)``: a signed access token like identity issues; ``token.verifier`` checks it."""
    key = Ed25519PrivateKey.generate()
    x = _b64url(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    auth = csv_settings.auth
    verifier = TokenVerifier("http://127.0.0.1:9/unreachable", auth.issuer, auth.audience)
    verifier.add_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA", "kid": "test"}]})

    def issue(tenant_id: str = "t1", roles: tuple[str, ...] = ("editor",)) -> dict:
        now = int(time.time())
        claims = {"iss": auth.issuer, "aud": auth.audience, "sub": "user-1", "tid": tenant_id,
                  "roles": list(roles), "iat": now, "exp": now + 300}
        signed = jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": "at+jwt", "kid": "test"})
        return {"authorization": f"Bearer {signed}"}

    issue.verifier = verifier
    return issue


@pytest.fixture
async def app(csv_settings, http_engine, token):
    """The real app and routes; the runtime is wired by hand instead of by the Kafka-bound lifespan."""
    spec = build_spec(csv_settings)
    app = create_service_app(spec)
    app.state.runtime = ServiceRuntime(spec, http_engine, token.verifier)
    return app


@pytest.fixture
async def client(app, token):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://activities",
                                 headers=token()) as client:
        yield client
