"""docker-compose.yml, the Dockerfile and the PostgreSQL init script agree with the code.

No Docker needed: the files are parsed and checked against the services themselves (their
directories, packages and pydantic ``Settings`` classes), so a renamed settings field, a new
service or a database two services share fails here rather than at ``docker compose up``.
Compose ``${VAR:-default}`` values are read with their (dev-only) defaults.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import re
import subprocess
import types
import typing
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import BaseModel
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
INIT_SQL = ROOT / "deploy" / "postgres" / "init" / "01-databases.sql"

#: Services that keep no state of their own, hence no database (and no Kafka).
STATELESS = {"gateway": "proxies to the services; see services/gateway/src/tanso_gateway/main.py"}


# --- reading the files ------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
                       r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value: str, where: str) -> str:
    """Compose interpolation with the defaults written in the file (the environment is ignored)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name") or match.group("bare"), match.group("op"), match.group("arg")
        if op in (":-", "-"):
            return arg
        raise AssertionError(f"{where}: ${{{name}}} has no default, so `docker compose up` fails "
                             f"unless it is set; give it a dev-only default (${{{name}:-...}})")

    return _VARIABLE.sub(replace, value)


@functools.cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def services() -> dict[str, dict]:
    return compose()["services"]


def environment(name: str) -> dict[str, str]:
    raw = services()[name].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: interpolate(str(value), f"service {name!r}, {key}") for key, value in raw.items()}


def built_from_dockerfile(service: dict) -> bool:
    build = service.get("build")
    if build is None:
        return False
    if isinstance(build, str):
        return (ROOT / build).resolve() == ROOT
    return (ROOT / build.get("context", ".")).resolve() == ROOT and build.get("dockerfile", "Dockerfile") == "Dockerfile"


def python_services() -> dict[str, dict]:
    """Compose services built from the repository's Dockerfile."""
    return {name: svc for name, svc in services().items() if built_from_dockerfile(svc)}


def build_arg(service: dict, arg: str) -> str | None:
    args = service["build"].get("args") or {}
    if isinstance(args, list):
        args = dict(item.split("=", 1) for item in args)
    return args.get(arg)


def service_dirs() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


def module_of(name: str) -> str:
    """The Python package of a service directory: ``supplier-exchange`` → ``tanso_supplier_exchange``."""
    return "tanso_" + name.replace("-", "_")


def stateful_services() -> list[str]:
    return [name for name in python_services() if name not in STATELESS]


def settings_class(name: str) -> type:
    module = build_arg(python_services()[name], "SERVICE") or module_of(name)
    return importlib.import_module(f"{module}.settings").Settings


def env_prefix(name: str) -> str:
    return settings_class(name).model_config.get("env_prefix", "").upper()


def ready_port(name: str) -> int:
    key = env_prefix(name) + "HTTP__PORT"
    value = environment(name).get(key, "")
    assert value.isdigit(), f"service {name!r}: {key} must be set to the port the service listens on, not {value!r}"
    return int(value)


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models an annotation allows (``Model``, ``Model | None`` …)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def settings_env_names(settings: type) -> dict[str, str]:
    """Every environment name ``settings`` reads → the field it sets (dotted path).

    A field is set whole by ``<prefix><FIELD>`` (JSON for models, dicts and lists, like the
    gateway's upstreams); fields of nested models also by ``<prefix><FIELD><delimiter><SUBFIELD>``.
    """
    config = settings.model_config
    delimiter = (config.get("env_nested_delimiter") or "").upper()
    names: dict[str, str] = {}

    def walk(model: type[BaseModel], env: str, path: str) -> None:
        for field, info in model.model_fields.items():
            names[env + field.upper()] = path + field
            if delimiter:
                for nested in _models_in(info.annotation):
                    walk(nested, env + field.upper() + delimiter, path + field + ".")

    walk(settings, config.get("env_prefix", "").upper(), "")
    for field, info in settings.model_fields.items():  # an alias replaces prefix + name
        alias = info.validation_alias or info.alias
        choices = getattr(alias, "choices", [alias])
        names.update({c.upper(): field for c in choices if isinstance(c, str)})
    if config.get("case_sensitive"):
        raise AssertionError(f"{settings.__name__} is case-sensitive; this test compares upper-cased names")
    return names


@functools.cache
def init_sql() -> str:
    return INIT_SQL.read_text(encoding="utf-8")


def init_databases() -> dict[str, str]:
    """Databases the init script creates → owner role."""
    return dict(re.findall(r"CREATE DATABASE\s+(\w+)\s+OWNER\s+(\w+)", init_sql(), re.IGNORECASE))


def init_role_password_variables() -> dict[str, str]:
    """Login roles the init script creates → the environment variable their password comes from."""
    getenv = dict(re.findall(r"^\\getenv\s+(\w+)\s+(\w+)", init_sql(), re.MULTILINE))
    roles = re.findall(r"CREATE ROLE\s+(\w+)\s+LOGIN\s+PASSWORD\s+:'(\w+)'", init_sql(), re.IGNORECASE)
    return {role: getenv.get(variable, f"<psql variable {variable} never read with \\getenv>")
            for role, variable in roles}


def database_url(name: str):
    key = env_prefix(name) + "DATABASE__URL"
    value = environment(name).get(key)
    assert value, f"service {name!r} sets no {key}: it would fall back to SQLite inside its container"
    return key, make_url(value)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuations joined, comments and heredoc bodies skipped."""
    instructions: list[tuple[str, str]] = []
    lines = iter(DOCKERFILE.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        while line.endswith("\\"):
            line = line[:-1] + next(lines, "")
        keyword, _, arguments = line.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        if heredoc := re.search(r"<<-?[\"']?(\w+)[\"']?", arguments):
            for body in lines:
                if body.strip() == heredoc.group(1):
                    break
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


# --- compose: services and their settings -----------------------------------------------------

def test_every_service_directory_has_a_compose_service_built_from_the_dockerfile() -> None:
    missing = [name for name in service_dirs() if name not in python_services()]
    assert not missing, (f"{', '.join('services/' + m for m in missing)}: no compose service of that "
                         f"name built from the Dockerfile (with build.args.SERVICE)")


@pytest.mark.parametrize("name", sorted(python_services()))
def test_each_image_is_built_for_an_importable_service_package(name: str) -> None:
    module = build_arg(python_services()[name], "SERVICE")
    assert module, f"service {name!r}: build.args.SERVICE is missing (the Dockerfile runs python -m $SERVICE)"
    assert module == module_of(name), f"service {name!r}: build.args.SERVICE is {module!r}, expected {module_of(name)!r}"
    assert importlib.util.find_spec(module) is not None, f"service {name!r}: SERVICE={module!r} is not importable"
    assert importlib.util.find_spec(f"{module}.__main__") is not None, (
        f"service {name!r}: {module} has no __main__, so `python -m {module}` cannot run it")


@pytest.mark.parametrize("name", sorted(python_services()))
def test_every_tanso_variable_names_a_settings_field_of_its_own_service(name: str) -> None:
    settings = settings_class(name)
    known = settings_env_names(settings)
    prefix = env_prefix(name)
    wrong = []
    for key in environment(name):
        if not key.upper().startswith("TANSO_"):
            continue
        if key.upper() not in known:
            hint = "" if key.upper().startswith(prefix) else f" (the prefix of {name!r} is {prefix})"
            wrong.append(f"{key}{hint}")
    assert not wrong, (f"service {name!r} sets variables that no field of "
                       f"{settings.__module__}.Settings reads: {wrong}; fields: {sorted(known)}")


@pytest.mark.parametrize("name", sorted(python_services()))
def test_each_service_settings_accept_its_compose_environment(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.upper().startswith("TANSO_"):
            monkeypatch.delenv(key)
    for key, value in environment(name).items():
        monkeypatch.setenv(key, value)
    try:
        settings = settings_class(name)()
    except Exception as exc:  # noqa: BLE001 — report which service's values are wrong
        pytest.fail(f"service {name!r}: its compose environment does not validate: {exc}")
    assert settings.http.host == "0.0.0.0", f"service {name!r}: set {env_prefix(name)}HTTP__HOST=0.0.0.0"
    assert str(settings.data_dir) == "/var/lib/tanso", (
        f"service {name!r}: {env_prefix(name)}DATA_DIR must be the image's volume /var/lib/tanso")


# --- compose: databases -------------------------------------------------------------------------

@pytest.mark.parametrize("name", stateful_services())
def test_each_stateful_service_uses_its_own_postgres_database_and_role(name: str) -> None:
    key, url = database_url(name)
    expected_db = name.replace("-", "_")
    assert url.drivername == "postgresql+asyncpg", f"service {name!r}: {key} must use postgresql+asyncpg, not {url.drivername}"
    assert (url.host, url.port) == ("postgres", 5432), f"service {name!r}: {key} must point at postgres:5432"
    assert url.database == expected_db, f"service {name!r}: {key} names database {url.database!r}, expected {expected_db!r}"
    owner = init_databases().get(url.database)
    assert owner is not None, f"service {name!r}: {key} names database {url.database!r}, which {INIT_SQL.name} never creates"
    assert url.username == owner, (f"service {name!r}: {key} logs in as {url.username!r}, "
                                   f"but database {url.database!r} is owned by {owner!r}")


def test_no_two_services_share_a_database_or_a_role() -> None:
    users: dict[tuple[str, str], list[str]] = {}
    for name in stateful_services():
        _, url = database_url(name)
        users.setdefault(("database", url.database), []).append(name)
        users.setdefault(("role", url.username), []).append(name)
    shared = {f"{kind} {value}": names for (kind, value), names in users.items() if len(names) > 1}
    assert not shared, f"services share PostgreSQL databases or roles: {shared}"


def test_each_database_of_the_init_script_is_used_by_exactly_one_service() -> None:
    used: dict[str, list[str]] = {}
    for name in stateful_services():
        used.setdefault(database_url(name)[1].database, []).append(name)
    wrong = {db: used.get(db, []) for db in init_databases() if len(used.get(db, [])) != 1}
    assert init_databases(), f"{INIT_SQL} creates no database"
    assert not wrong, f"databases in {INIT_SQL.name} not used by exactly one service: {wrong}"


@pytest.mark.parametrize("name", stateful_services())
def test_each_service_logs_in_with_the_password_its_role_was_created_with(name: str) -> None:
    key, url = database_url(name)
    variable = init_role_password_variables().get(url.username)
    assert variable, f"service {name!r}: {INIT_SQL.name} creates no login role {url.username!r}"
    postgres_env = environment("postgres")
    assert variable in postgres_env, (f"service {name!r}: role {url.username!r} reads its password from "
                                      f"{variable}, which the postgres service does not set")
    assert url.password == postgres_env[variable], (
        f"service {name!r}: the password in {key} differs from postgres's {variable} "
        f"(use the same ${{{variable}:-...}} in both)")


def test_the_init_script_keeps_each_service_out_of_the_other_databases() -> None:
    revoked = set(re.findall(r"REVOKE ALL ON DATABASE\s+(\w+)\s+FROM PUBLIC", init_sql(), re.IGNORECASE))
    open_dbs = sorted(set(init_databases()) - revoked)
    assert not open_dbs, f"{INIT_SQL.name}: PUBLIC keeps CONNECT on {open_dbs}; add REVOKE ALL ON DATABASE … FROM PUBLIC"


@pytest.mark.parametrize("name", stateful_services())
def test_each_stateful_service_waits_for_healthy_postgres_and_kafka(name: str) -> None:
    depends = python_services()[name].get("depends_on") or {}
    assert isinstance(depends, dict), f"service {name!r}: depends_on must be a mapping with conditions"
    for infra in ("postgres", "kafka"):
        condition = (depends.get(infra) or {}).get("condition")
        assert condition == "service_healthy", (
            f"service {name!r}: depends_on.{infra}.condition is {condition!r}, expected 'service_healthy'")


# --- compose: Kafka -----------------------------------------------------------------------------

def kafka_service() -> tuple[str, dict]:
    found = [(n, s) for n, s in services().items() if str(s.get("image", "")).startswith("apache/kafka:")]
    assert len(found) == 1, f"expected one apache/kafka service, found {[n for n, _ in found]}"
    return found[0]


def test_kafka_runs_in_kraft_mode_without_zookeeper() -> None:
    name, kafka = kafka_service()
    version = tuple(int(p) for p in re.findall(r"\d+", kafka["image"].split(":", 1)[1])[:3])
    assert version >= (3, 9, 0), f"service {name!r}: {kafka['image']} is older than apache/kafka:3.9.0"
    roles = {r.strip() for r in environment(name).get("KAFKA_PROCESS_ROLES", "").split(",")}
    assert {"broker", "controller"} <= roles, f"service {name!r}: KAFKA_PROCESS_ROLES must be broker,controller (KRaft)"
    zookeeper = [f"service {n!r}" for n, s in services().items() if "zookeeper" in f"{n} {s.get('image', '')}".lower()]
    zookeeper += [f"{n}: {k}" for n in services() for k in environment(n) if "ZOOKEEPER" in k.upper()]
    assert not zookeeper, f"ZooKeeper is not used with KRaft: {zookeeper}"
    assert kafka.get("healthcheck", {}).get("test"), f"service {name!r} has no healthcheck"


def test_kafka_keeps_its_log_on_a_volume_because_services_do_not_republish() -> None:
    name, kafka = kafka_service()
    log_dirs = environment(name).get("KAFKA_LOG_DIRS")
    mounted = {str(v).split(":")[1] for v in kafka.get("volumes", []) if isinstance(v, str)}
    assert log_dirs and log_dirs in mounted, f"service {name!r}: KAFKA_LOG_DIRS ({log_dirs}) is not on a volume"
    for svc in python_services():
        key = env_prefix(svc) + "KAFKA__BOOTSTRAP_SERVERS"
        if key in environment(svc):
            window = env_prefix(svc) + "KAFKA__REPUBLISH_WINDOW_SECONDS"
            assert environment(svc).get(window) == "0", f"service {svc!r}: set {window}=0 (Kafka is durable)"


@pytest.mark.parametrize("name", stateful_services())
def test_each_stateful_service_reaches_kafka_on_an_advertised_listener(name: str) -> None:
    kafka_name, _ = kafka_service()
    advertised = {urlsplit(listener.split("://", 1)[0].lower() + "://" + listener.split("://", 1)[1]).netloc
                  for listener in environment(kafka_name)["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    key = env_prefix(name) + "KAFKA__BOOTSTRAP_SERVERS"
    servers = environment(name).get(key)
    assert servers, f"service {name!r}: {key} is not set (the default is 127.0.0.1:9092, inside the container)"
    unknown = [s for s in servers.split(",") if s.strip() not in advertised]
    assert not unknown, f"service {name!r}: {key} names {unknown}, not one of Kafka's advertised listeners {advertised}"


# --- compose: HTTP, auth, health, volumes --------------------------------------------------------

def published_ports(service: dict) -> list[str]:
    return [str(p) for p in service.get("ports") or []]


def test_only_the_gateway_publishes_ports() -> None:
    publishing = sorted(n for n, s in services().items() if published_ports(s) and n != "gateway")
    assert not publishing, f"only the gateway may publish ports; also published by: {publishing}"
    host_network = sorted(n for n, s in services().items() if s.get("network_mode") == "host")
    assert not host_network, f"services on the host network bypass that rule: {host_network}"
    ports = [interpolate(p, "service 'gateway', ports") for p in published_ports(services()["gateway"])]
    targets = {p.rsplit(":", 1)[-1].split("/")[0] for p in ports}
    assert targets == {str(ready_port("gateway"))}, (
        f"service 'gateway' publishes {ports}; expected its HTTP__PORT {ready_port('gateway')}")


def test_gateway_upstreams_name_every_service_at_its_compose_address() -> None:
    key = env_prefix("gateway") + "UPSTREAMS"
    upstreams = json.loads(environment("gateway")[key])
    expected = {name: f"http://{name}:{ready_port(name)}" for name in python_services() if name != "gateway"}
    assert upstreams == expected, f"service 'gateway': {key} is {upstreams}, expected {expected}"


@pytest.mark.parametrize("name", sorted(python_services()))
def test_each_service_verifies_tokens_against_the_identity_jwks(name: str) -> None:
    key = env_prefix(name) + "AUTH__JWKS_URL"
    expected = f"http://identity:{ready_port('identity')}/.well-known/jwks.json"
    assert environment(name).get(key) == expected, f"service {name!r}: {key} must be {expected}"


@pytest.mark.parametrize("name", sorted(python_services()))
def test_each_service_healthcheck_probes_readiness_on_its_own_port(name: str) -> None:
    test = python_services()[name].get("healthcheck", {}).get("test")
    command = " ".join(test) if isinstance(test, list) else str(test)
    probe = f"127.0.0.1:{ready_port(name)}/health/ready"
    assert probe in command, f"service {name!r}: healthcheck {command!r} does not probe {probe}"


def test_identity_keeps_its_signing_keys_on_a_named_volume() -> None:
    data_dir = environment("identity")[env_prefix("identity") + "DATA_DIR"]
    named = set(compose().get("volumes") or {})
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in services()["identity"].get("volumes", [])
              if isinstance(v, str) and str(v).count(":") >= 1}
    assert mounts.get(data_dir) in named, (
        f"service 'identity': its data dir {data_dir} (signing keys) must be a named volume; mounts: {mounts}")


# --- Dockerfile and .dockerignore ----------------------------------------------------------------

def test_dockerfile_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    stage = final_stage()
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users, "Dockerfile: the runtime stage sets no USER, so the services would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"Dockerfile: the runtime stage runs as {users[-1]!r}"
    checks = [args for keyword, args in stage if keyword == "HEALTHCHECK"]
    assert checks and checks[-1].upper() != "NONE", "Dockerfile: the runtime stage has no HEALTHCHECK"
    assert "/health/live" in checks[-1], f"Dockerfile: HEALTHCHECK {checks[-1]!r} does not probe /health/live"


def test_dockerfile_installs_the_locked_workspace_without_dev_dependencies_and_runs_the_service() -> None:
    instructions = dockerfile_instructions()
    syncs = [args for keyword, args in instructions if keyword == "RUN" and "uv sync" in args]
    assert syncs and all("--locked" in s and "--no-dev" in s for s in syncs), (
        f"Dockerfile: every `uv sync` must use --locked --no-dev: {syncs}")
    stage = final_stage()
    args = {a.split("=")[0] for keyword, a in stage if keyword == "ARG"}
    envs = " ".join(a for keyword, a in stage if keyword == "ENV")
    assert "SERVICE" in args and "TANSO_SERVICE_MODULE=${SERVICE}" in envs, (
        "Dockerfile: the runtime stage must take ARG SERVICE and set ENV TANSO_SERVICE_MODULE=${SERVICE}")
    assert "/app/.venv/bin" in envs, "Dockerfile: the runtime stage must put /app/.venv/bin on PATH"
    assert any(keyword == "VOLUME" and "/var/lib/tanso" in a for keyword, a in stage), (
        "Dockerfile: /var/lib/tanso (the services' data dir) must be a VOLUME")
    assert any(keyword == "ENTRYPOINT" for keyword, _ in stage), "Dockerfile: the runtime stage has no ENTRYPOINT"


def _dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(.dockerignore) patterns as (negated, regex), Docker semantics: root-relative, ``**``."""
    patterns = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
        patterns.append((negated, re.compile(regex + "(?:/.*)?")))  # a directory covers its contents
    return patterns


def dockerignored(path: str) -> bool:
    excluded = False
    for negated, pattern in _dockerignore_patterns():
        if pattern.fullmatch(path):
            excluded = not negated
    return excluded


def test_dockerignore_keeps_local_state_out_and_the_packages_in() -> None:
    must_exclude = [".git/config", ".venv/bin/python", "data/calculation.sqlite3", "data/identity/keys/a.pem",
                    "libs/runtime/src/tanso_runtime/__pycache__/app.cpython-311.pyc", ".pytest_cache/v/x",
                    "services/factors/.venv/lib/x.py"]
    leaked = [p for p in must_exclude if not dockerignored(p)]
    assert not leaked, f".dockerignore lets these into the build context: {leaked}"
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "pyproject.toml", "uv.lock",
                              "libs", "services", "tools"], cwd=ROOT, capture_output=True, text=True, check=True)
    needed = [p for p in tracked.stdout.splitlines() if p.endswith("pyproject.toml") or p == "uv.lock"
              or ("/src/" in p and "__pycache__" not in p)]
    assert "uv.lock" in needed, "uv.lock is not in the repository"
    dropped = [p for p in needed if dockerignored(p)]
    assert not dropped, f".dockerignore drops files the image is built from: {dropped[:10]}"


# --- docker-compose.relays.yml: the outbox relays as containers of their own ----------------------

RELAYS_FILE = ROOT / "docker-compose.relays.yml"


@functools.cache
def relays_compose() -> dict:
    return yaml.safe_load(RELAYS_FILE.read_text(encoding="utf-8"))


def relays_environment(name: str) -> dict[str, str]:
    raw = relays_compose()["services"][name].get("environment") or {}
    assert isinstance(raw, dict), f"{RELAYS_FILE.name}: service {name!r}: environment must be a mapping"
    return {key: interpolate(str(value), f"{RELAYS_FILE.name}, service {name!r}, {key}") for key, value in raw.items()}


def publishing_services() -> list[str]:
    """Compose services that talk to Kafka, i.e. have an outbox relay."""
    return [n for n in stateful_services() if env_prefix(n) + "KAFKA__BOOTSTRAP_SERVERS" in environment(n)]


def load_settings(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    import os

    with monkeypatch.context() as m:
        for key in list(os.environ):
            if key.upper().startswith("TANSO_"):
                m.delenv(key)
        for key, value in env.items():
            m.setenv(key, value)
        return settings_class(name)()


def test_the_relay_override_gives_each_publishing_service_one_relay_and_switches_its_own_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    override = relays_compose()["services"]
    publishing = publishing_services()
    assert publishing, "no compose service talks to Kafka"
    relays = {n for n, s in override.items() if "tanso_runtime.relay" in " ".join(s.get("entrypoint") or [])}
    assert relays == {f"{n}-relay" for n in publishing}, f"{RELAYS_FILE.name}: relays {sorted(relays)}"
    assert set(override) == relays | set(publishing), f"{RELAYS_FILE.name} changes other services: {sorted(override)}"
    for name in publishing:
        switch = {env_prefix(name) + "OUTBOX__RELAY": "external"}
        assert override[name] == {"environment": switch}, f"{RELAYS_FILE.name}: {name!r} must only switch its relay off"
        merged = environment(name) | relays_environment(name)
        assert load_settings(name, merged, monkeypatch).outbox.relay == "external"
        assert load_settings(name, environment(name), monkeypatch).outbox.relay == "in_process", (
            f"docker-compose.yml alone must keep {name!r}'s in-process relay")


@pytest.mark.parametrize("name", publishing_services())
def test_each_relay_runs_its_services_image_on_its_database_and_kafka(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    relay_name = f"{name}-relay"
    relay = relays_compose()["services"][relay_name]
    where = f"{RELAYS_FILE.name}: {relay_name!r}"
    assert built_from_dockerfile(relay) and build_arg(relay, "SERVICE") == module_of(name), f"{where}: {relay.get('build')}"
    assert relay["entrypoint"] == ["python", "-m", "tanso_runtime.relay", name], f"{where}: {relay['entrypoint']}"
    assert importlib.util.find_spec("tanso_runtime.relay") is not None
    env, own = relays_environment(relay_name), environment(name)
    known = settings_env_names(settings_class(name))
    unknown = [k for k in env if k.upper().startswith("TANSO_") and k.upper() not in known]
    assert not unknown, f"{where}: variables {name}'s Settings does not read: {unknown}"
    for suffix in ("DATABASE__URL", "KAFKA__BOOTSTRAP_SERVERS"):
        key = env_prefix(name) + suffix
        assert env.get(key) == own[key], f"{where}: {key} differs from the service's ({env.get(key)!r})"
    settings = load_settings(name, env, monkeypatch)
    assert settings.kafka.republish_window_seconds == 0, f"{where}: Kafka is durable, republish nothing"
    assert settings.http.host == "0.0.0.0", f"{where}: the healthcheck and Prometheus reach it over the network"
    port = settings.outbox.relay_port or settings.http.port + 1000
    test = " ".join(relay["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/health/ready" in test, f"{where}: healthcheck {test!r} does not probe its port {port}"
    depends = relay.get("depends_on") or {}
    for needed in (name, "kafka"):
        assert (depends.get(needed) or {}).get("condition") == "service_healthy", f"{where}: depends_on {needed}"
    assert relay.get("read_only") is True and relay.get("cap_drop") == ["ALL"], f"{where}: not hardened"
    assert "no-new-privileges:true" in relay.get("security_opt", []), where
    assert not relay.get("ports"), f"{where}: publishes ports"
    assert (relay.get("deploy") or {}).get("replicas", 1) == 1, f"{where}: one relay per outbox"
