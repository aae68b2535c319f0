"""Start the whole platform on one machine: every service as its own process, then the gateway.

    platform = Platform("data", bootstrap="127.0.0.1:9092").start()   # waits until ready
    platform.kill("calculation"); platform.start("calculation")        # crash tests
    platform.stop()

Each process gets the env of its service (``TANSO_<SERVICE>_HTTP__PORT``, ``…_KAFKA__BOOTSTRAP_SERVERS``,
``…_DATA_DIR`` = ``<data_dir>/<service>``, ``…_AUTH__JWKS_URL``, ``…_DATABASE__URL``) and writes
stdout/stderr to ``<data_dir>/logs/<service>.log``. Children run in their own process groups, so a
terminal's Ctrl-C reaches only the launcher, which then stops them in order.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Self

import httpx

from ._util import free_port, port_open, run_async, signal_group, tail, terminate

#: Services in start order, with their port offset from the gateway's port.
SERVICES: dict[str, int] = {
    "identity": 1, "factors": 2, "activities": 3, "calculation": 4, "supplier-exchange": 5, "reporting": 6,
}
GATEWAY = "gateway"


class PlatformError(RuntimeError):
    pass


def module_of(service: str) -> str:
    """``supplier-exchange`` → ``tanso_supplier_exchange`` (also the ``{db}`` of a database URL template)."""
    return "tanso_" + service.replace("-", "_")


def env_prefix(service: str) -> str:
    return "TANSO_" + service.upper().replace("-", "_") + "_"


class Platform:
    """The services and the gateway as child processes.

    ``base_port``: gateway on it, services on ``base_port + 1 … + 6``; ``None`` picks free ports.
    ``database_url``: a template such as ``postgresql+asyncpg://postgres@127.0.0.1:5432/{db}``
    (``{db}`` = ``tanso_<service>``; databases are created when missing); ``None`` = SQLite files.
    ``modules`` and ``env`` override the module run per service and add environment variables.
    """

    def __init__(
        self,
        data_dir: str | Path,
        bootstrap: str,
        *,
        base_port: int | None = 8000,
        ports: Mapping[str, int] | None = None,
        database_url: str | None = None,
        services: Sequence[str] = tuple(SERVICES),
        modules: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        ready_timeout: float = 120.0,
    ) -> None:
        unknown = set(services) - set(SERVICES)
        if unknown:
            raise ValueError(f"Unknown services {sorted(unknown)}; choose from {list(SERVICES)}")
        self.data_dir = Path(data_dir).resolve()
        self.bootstrap, self.host, self.ready_timeout = bootstrap, host, ready_timeout
        self.services = list(services)
        self.database_url = database_url
        self.modules = {name: module_of(name) for name in [*self.services, GATEWAY]} | dict(modules or {})
        self.extra_env = dict(env or {})
        self.ports: dict[str, int] = {}
        for name in [GATEWAY, *self.services]:
            if ports and name in ports:
                self.ports[name] = ports[name]
            elif base_port is not None:
                self.ports[name] = base_port + SERVICES.get(name, 0)
            else:
                self.ports[name] = free_port(host)
        self.processes: dict[str, subprocess.Popen] = {}

    # --- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return self.service_url(GATEWAY)

    def service_url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    @property
    def urls(self) -> dict[str, str]:
        return {name: self.service_url(name) for name in self.ports}

    def log_path(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name}.log"

    def is_running(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    # --- environment --------------------------------------------------------------------------

    def env_for(self, name: str) -> dict[str, str]:
        """The environment variables ``name`` is started with (on top of the launcher's own)."""
        p = env_prefix(name)
        env = {
            p + "HTTP__HOST": self.host,
            p + "HTTP__PORT": str(self.ports[name]),
            p + "DATA_DIR": str(self.data_dir / name) if name != GATEWAY else "",
            p + "KAFKA__BOOTSTRAP_SERVERS": self.bootstrap,
            p + "AUTH__JWKS_URL": f"{self.service_url('identity')}/.well-known/jwks.json"
            if "identity" in self.ports else os.environ.get(p + "AUTH__JWKS_URL", ""),
            "PYTHONUNBUFFERED": "1",
        }
        if self.database_url and name != GATEWAY:
            env[p + "DATABASE__URL"] = self.database_url.format(db=module_of(name), service=name)
        if name == GATEWAY:
            env[p + "UPSTREAMS"] = json.dumps({s: self.service_url(s) for s in self.services})
        return {k: v for k, v in env.items() if v} | self.extra_env

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, service: str | None = None, *, wait: bool = True) -> Platform:
        """Start everything (and wait for the gateway to be ready), or start one ``service`` again."""
        if service is not None:
            self._spawn(service)
            if wait:
                self._wait_for(service, f"{self.service_url(service)}/health/ready", [service])
            return self
        busy = [f"{n} ({p})" for n, p in self.ports.items() if not self.is_running(n) and port_open(self.host, p)]
        if busy:
            raise PlatformError(f"Ports already in use: {', '.join(busy)}. Stop what runs there "
                                "(another Tanso?) or choose another port (--port).")
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        if self.database_url and self.database_url.startswith("postgresql"):
            from sqlalchemy.engine import make_url

            names = [make_url(self.database_url.format(db=module_of(s), service=s)).database for s in self.services]
            run_async(lambda: ensure_postgres_databases(self.database_url, names))
        atexit.register(self.stop)
        try:
            for name in [*self.services, GATEWAY]:
                self._spawn(name)
            if wait:
                self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str) -> None:
        if self.is_running(name):
            return
        if name not in self.ports:
            raise ValueError(f"Unknown service {name!r}; choose from {list(self.ports)}")
        if name != GATEWAY:
            (self.data_dir / name).mkdir(parents=True, exist_ok=True)
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as log:
            log.write(f"\n===== {datetime.now().isoformat(timespec='seconds')} starting {name} =====\n".encode())
            log.flush()
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", self.modules[name]], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env={**os.environ, **self.env_for(name)}, start_new_session=True)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the gateway's ``/health/ready`` answers 200 (every service is ready)."""
        self._wait_for(GATEWAY, f"{self.url}/health/ready", [*self.services, GATEWAY], timeout)

    def _wait_for(self, name: str, ready_url: str, watched: list[str], timeout: float | None = None) -> None:
        timeout = timeout or self.ready_timeout
        deadline = time.monotonic() + timeout
        last: httpx.Response | None = None
        with httpx.Client(timeout=3) as client:
            while time.monotonic() < deadline:
                for watched_name in watched:
                    process = self.processes.get(watched_name)
                    if process is not None and process.poll() is not None:
                        raise PlatformError(
                            f"{watched_name} exited with code {process.returncode} while starting.\n"
                            + self._log_section(watched_name))
                try:
                    last = client.get(ready_url)
                    if last.status_code == 200:
                        return
                except httpx.HTTPError:
                    last = None
                time.sleep(0.25)
        raise self._not_ready_error(name, last, timeout)

    def _not_ready_error(self, name: str, last: httpx.Response | None, timeout: float) -> PlatformError:
        if name != GATEWAY or last is None:
            return PlatformError(f"{name} did not become ready within {timeout:g} s.\n" + self._log_section(name))
        try:
            services = last.json().get("services", {})
        except ValueError:
            services = {}
        pending = {n: s for n, s in services.items() if s.get("status") != "ready"} or {n: {} for n in self.services}
        summary = ", ".join(f"{n} ({s.get('status', '?')}, HTTP {s.get('http_status')})" for n, s in pending.items())
        return PlatformError(f"Tanso was not ready within {timeout:g} s; not ready: {summary}.\n"
                             + "\n".join(self._log_section(n) for n in pending if n in self.ports))

    def _log_section(self, name: str, lines: int = 25) -> str:
        return f"--- last lines of {self.log_path(name)} ---\n{tail(self.log_path(name), lines)}\n"

    def kill(self, service: str) -> None:
        """SIGKILL one service (and its process group), as a crash would."""
        process = self.processes.get(service)
        if process is None:
            raise ValueError(f"{service!r} was not started")
        signal_group(process, signal.SIGKILL)
        process.wait()

    def stop_service(self, service: str, timeout: float = 15.0) -> None:
        """Stop one service cleanly (SIGTERM, SIGKILL after ``timeout``), e.g. before a replay."""
        process = self.processes.pop(service, None)
        if process is not None:
            terminate([process], timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM every process (the gateway first), wait up to ``timeout`` s, SIGKILL the rest."""
        order = [GATEWAY, *reversed(self.services)]
        terminate([self.processes[n] for n in order if n in self.processes], timeout)
        self.processes.clear()
        atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


async def ensure_postgres_databases(url_template: str, names: Sequence[str]) -> None:
    """Create the databases ``names`` on the server of ``url_template`` when they do not exist."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(url_template.format(db="postgres", service="postgres"))
    try:
        conn = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                     password=url.password, database="postgres")
    except (OSError, asyncpg.PostgresError) as exc:
        raise PlatformError(f"Cannot connect to PostgreSQL at {url.host}:{url.port or 5432} ({exc}); "
                            "start it or leave out the database URL to use SQLite files.") from exc
    try:
        for name in names:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
