"""Entry point: settings → spec → app."""

from fastapi import FastAPI
from tanso_runtime.app import create_service_app

from .bootstrap import build_spec
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(build_spec(settings or Settings()))
