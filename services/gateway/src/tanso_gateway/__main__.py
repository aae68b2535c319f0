"""``python -m tanso_gateway``: serve the gateway with uvicorn (HTTPS when ``TANSO_GATEWAY_TLS__*`` is set)."""

from tanso_runtime.app import serve

from .settings import Settings


def main() -> None:
    settings = Settings()
    if not settings.tls.enabled:
        serve("tanso_gateway.main:create_app", settings)
        return
    import uvicorn

    uvicorn.run("tanso_gateway.main:create_app", factory=True, host=settings.http.host, port=settings.http.port,
                log_config=None, access_log=False,
                ssl_certfile=settings.tls.certfile, ssl_keyfile=settings.tls.keyfile,
                ssl_keyfile_password=settings.tls.keyfile_password or None)


if __name__ == "__main__":
    main()
