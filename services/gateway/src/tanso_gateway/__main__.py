"""``python -m tanso_gateway``: serve the gateway with uvicorn."""

from tanso_runtime.app import serve

from .settings import Settings

if __name__ == "__main__":
    serve("tanso_gateway.main:create_app", Settings())
