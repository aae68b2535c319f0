"""Fixtures: an identity database on a SQLite file, and the HTTP app without Kafka."""

from __future__ import annotations

import httpx
import pytest
from tanso_events.unit_of_work import UnitOfWork
from tanso_identity.adapters import tables
from tanso_identity.adapters.projections import PROJECTIONS
from tanso_identity.adapters.signing import TokenIssuer, load_or_create_signing_key
from tanso_identity.bootstrap import build_spec
from tanso_identity.domain.commands import RegisterTenant
from tanso_identity.service_layer import handlers
from tanso_identity.settings import Settings
from tanso_runtime.app import ServiceRuntime, create_service_app
from tanso_runtime.auth import Principal, TokenVerifier
from tanso_runtime.db import make_engine

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, database={"url": f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite3'}"},
                    log_json=False)


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
def issuer(settings) -> TokenIssuer:
    return TokenIssuer(load_or_create_signing_key(settings.signing_key_path), settings.auth.issuer,
                       settings.auth.audience, settings.token_lifetime_seconds)


@pytest.fixture
def verifier(settings, issuer) -> TokenVerifier:
    verifier = TokenVerifier("http://127.0.0.1:9/unreachable", settings.auth.issuer, settings.auth.audience)
    verifier.add_jwks(issuer.key.jwks())
    return verifier


@pytest.fixture
def sign_up(uow):
    """``await sign_up(email=…, company=…)`` registers a tenant through the handler."""

    async def run(email: str = "admin@example.co.jp", company: str = "株式会社サンプル"):
        async with uow() as u:
            return await handlers.register_tenant(RegisterTenant(
                company_name=company, admin_email=email, admin_password=PASSWORD,
                admin_display_name="管理 太郎"), u)

    return run


@pytest.fixture
def admin_of():
    """The admin principal of a sign-up result."""
    return lambda s: Principal(subject=s.user_id, tenant_id=s.tenant_id, roles=frozenset({"admin"}))


@pytest.fixture
async def client(settings, engine):
    """The real app and routes; the runtime is wired by hand instead of by the Kafka-bound lifespan."""
    spec = build_spec(settings)
    app = create_service_app(spec)
    runtime = ServiceRuntime(spec, engine, TokenVerifier(settings.auth.jwks_url, settings.auth.issuer,
                                                          settings.auth.audience))
    for hook in spec.on_startup:
        await hook(runtime)
    app.state.runtime = runtime
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://identity") as client:
        yield client
