"""Fixtures: a factors database on a SQLite file, the import, and the HTTP app without Kafka."""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from tanso_events.unit_of_work import UnitOfWork
from tanso_factors.adapters import tables
from tanso_factors.adapters.projections import PROJECTIONS
from tanso_factors.bootstrap import build_spec
from tanso_factors.domain.catalogue_files import DATA_ROOT, load_edition
from tanso_factors.service_layer.handlers import editions_to_import, import_edition
from tanso_factors.settings import Settings
from tanso_runtime.app import ServiceRuntime, create_service_app
from tanso_runtime.auth import TokenVerifier
from tanso_runtime.db import make_engine

CURRENT_FUELS = DATA_ROOT / "jp-shk-fuels" / "R6-2024"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, database={"url": f"sqlite+aiosqlite:///{tmp_path / 'factors.sqlite3'}"},
                    log_json=False, import_on_start=False)


@pytest.fixture
async def engine(settings):
    engine = make_engine(settings.database_url())
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def uow(engine):
    """A factory of units of work: ``async with uow() as u: ...``."""
    return lambda: UnitOfWork(engine, tables.messaging, PROJECTIONS)


@pytest.fixture
def import_folder(uow):
    """``await import_folder(path)`` imports one edition folder in its own transaction."""

    async def run(folder: Path, progress=None):
        async with uow() as u:
            return await import_edition(load_edition(folder), u, progress)

    return run


@pytest.fixture
def import_shipped(uow):
    async def run():
        reports = []
        for edition in editions_to_import():
            async with uow() as u:
                reports.append(await import_edition(edition, u))
        return reports

    return run


@pytest.fixture
def count(engine):
    async def run(table=tables.messaging.outbox) -> int:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table))).scalar_one()

    return run


@pytest.fixture
def corrected_copy(tmp_path):
    """A copy of the shipped jp-shk-fuels R6-2024 folder with A重油 changed from 2.75 to 2.76."""
    folder = tmp_path / "corrected" / "R6-2024"
    shutil.copytree(CURRENT_FUELS, folder)
    csv = folder / "factors.csv"
    text = csv.read_text(encoding="utf-8")
    assert text.count(",2.75,") == 1
    csv.write_text(text.replace(",2.75,", ",2.76,"), encoding="utf-8")
    return folder


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def token(settings):
    """``token(tenant_id)``: a signed access token like identity issues, plus its verifier."""
    key = Ed25519PrivateKey.generate()
    x = _b64url(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    verifier = TokenVerifier("http://127.0.0.1:9/unreachable", settings.auth.issuer, settings.auth.audience)
    verifier.add_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA", "kid": "test"}]})

    def issue(tenant_id: str = "tenant-a", roles: tuple[str, ...] = ("viewer",)) -> str:
        now = int(time.time())
        claims = {"iss": settings.auth.issuer, "aud": settings.auth.audience, "sub": f"user-of-{tenant_id}",
                  "tid": tenant_id, "roles": list(roles), "iat": now, "exp": now + 300}
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": "at+jwt", "kid": "test"})

    issue.verifier = verifier
    return issue


@pytest.fixture
async def client(settings, engine, token):
    """The real app and routes; the runtime is wired by hand instead of by the Kafka-bound lifespan."""
    spec = build_spec(settings)
    app = create_service_app(spec)
    app.state.runtime = ServiceRuntime(spec, engine, token.verifier)
    headers = {"authorization": f"Bearer {token()}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://factors",
                                 headers=headers) as client:
        yield client


@pytest.fixture
def auth(token):
    """``auth(tenant, *roles)``: headers signing a request in as a user of ``tenant``."""

    def headers(tenant_id: str = "tenant-a", *roles: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token(tenant_id, roles or ('viewer',))}"}

    return headers


@pytest.fixture
async def shipped(import_shipped):
    """Every shipped edition and the GWP sets, imported once."""
    return await import_shipped()

