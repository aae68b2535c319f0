"""The Helm chart (deploy/helm/tanso) renders valid, hardened manifests that agree with the code.

The chart is rendered by Helm's own Go engine through ``helm-python-sdk`` (its wheel ships
``libhelm_c``, a C ABI over Helm's Go SDK: no ``helm`` binary, no cluster, no network), once per
values file in ``VALUES``, exactly as ``helm template`` would: the chart's defaults coalesced
with the file, ``values.schema.json`` enforced. Every rendered object is validated strictly
(unknown fields fail) against the Kubernetes JSON schemas bundled in ``kubernetes-validate``
(offline), for the oldest Kubernetes the chart supports and a recent one; then the structure is
checked: the objects of each service, pod hardening, probes, network policies (default deny and
the allows the services need), settings names (against each service's pydantic ``Settings``, with
the helpers of test_compose.py) and Secrets (no real password).
"""

from __future__ import annotations

import base64
import functools
import importlib
import importlib.util
import ipaddress
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

try:
    import helm_python as helm
except Exception as error:  # noqa: BLE001 — no wheel for this platform, or the library fails to load
    pytest.skip(f"helm-python-sdk cannot load its native Helm library here: {error}", allow_module_level=True)

import kubernetes_validate

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "tanso"
EXAMPLES = ROOT / "deploy" / "helm" / "examples"
TEST_VALUES = Path(__file__).with_name("helm_values")

#: Values files rendered by every test (None: the chart's defaults only).
VALUES: dict[str, Path | None] = {
    "defaults": None,
    "hpa-ingress": TEST_VALUES / "hpa-ingress.yaml",
    "in-process-relay": TEST_VALUES / "in-process-relay.yaml",
    "strimzi": EXAMPLES / "values-strimzi.yaml",
    "production": EXAMPLES / "values-production.yaml",
}
RELEASE, NAMESPACE = "tanso", "tanso"
#: The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a recent one.
KUBERNETES_VERSIONS = ("1.25", "1.33")
DATA_DIR = "/var/lib/tanso"
#: Set by the Dockerfile (ENV TANSO_SERVICE_MODULE), read by the image's entrypoint: not a setting.
IMAGE_VARIABLES = {"TANSO_SERVICE_MODULE"}
#: Database passwords a rendered Secret may carry: docker-compose's dev-only defaults.
PLACEHOLDER_PASSWORD_SUFFIX = "-dev-only"


# --- reuse test_compose.py's helpers (a test module, not a package: load it by path) --------------

def _load_compose_helpers():
    spec = importlib.util.spec_from_file_location("_tanso_compose_helpers", Path(__file__).with_name("test_compose.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_compose = _load_compose_helpers()
settings_env_names = _compose.settings_env_names
service_dirs = _compose.service_dirs
module_of = _compose.module_of


def settings_class(service: str) -> type:
    return importlib.import_module(f"{module_of(service)}.settings").Settings


def env_prefix(service: str) -> str:
    return settings_class(service).model_config["env_prefix"].upper()


# --- rendering --------------------------------------------------------------------------------------

@functools.cache
def chart() -> helm.Chart:
    return helm.Chart.load(CHART)


def values_of(name: str) -> dict:
    path = VALUES[name]
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path else {}


@functools.cache
def merged_values(name: str) -> dict:
    """What the release would use: the chart's defaults coalesced with the values file."""
    return chart().merge_values(values_of(name))


def render_text(values: dict | None) -> dict[str, str]:
    return chart().render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


@functools.cache
def manifests(name: str) -> tuple[dict, ...]:
    """Every object the chart renders for a values file (NOTES.txt left out)."""
    objects: list[dict] = []
    for template, text in sorted(render_text(values_of(name)).items()):
        if template.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects.append(document | {"_template": template})
    return tuple(objects)


def notes(name: str) -> str:
    return next(text for template, text in render_text(values_of(name)).items() if template.endswith("NOTES.txt"))


def objects_of(name: str, kind: str) -> list[dict]:
    return [o for o in manifests(name) if o["kind"] == kind]


def by_name(name: str, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects_of(name, kind)}


def enabled_services(name: str) -> dict[str, dict]:
    return {svc: spec for svc, spec in merged_values(name)["services"].items() if spec["enabled"]}


def component(service: str) -> str:
    return f"{RELEASE}-{service}"


def deployment(name: str, service: str) -> dict:
    return by_name(name, "Deployment")[component(service)]


def container(name: str, service: str) -> dict:
    return only_container(deployment(name, service))


def only_container(dep: dict) -> dict:
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{dep['metadata']['name']}: expected one container, got {[c['name'] for c in containers]}"
    return containers[0]


def relay_mode(name: str) -> str:
    return merged_values(name)["relay"]["mode"]


def publishing_services(name: str) -> dict[str, dict]:
    """Enabled services that publish events, i.e. have an outbox relay."""
    return {svc: spec for svc, spec in enabled_services(name).items() if spec["kafka"]["enabled"]}


def relay_deployments(name: str) -> dict[str, dict]:
    """service → its relay Deployment (relay.mode external)."""
    deployments = by_name(name, "Deployment")
    return {svc: deployments[component(svc) + "-relay"] for svc in publishing_services(name)
            if component(svc) + "-relay" in deployments}


def secret_data(secret: dict) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    return data | dict(secret.get("stringData") or {})


def container_env(name: str, service: str) -> dict[str, str]:
    """The container's environment: its ConfigMaps (envFrom) then env, Secrets resolved where rendered."""
    return env_of(name, container(name, service), service)


def env_of(name: str, ctr: dict, service: str) -> dict[str, str]:
    config_maps, secrets = by_name(name, "ConfigMap"), by_name(name, "Secret")
    env: dict[str, str] = {}
    for source in ctr.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        assert ref in config_maps, f"{service}: envFrom names ConfigMap {ref!r}, which the chart does not render"
        env.update(config_maps[ref]["data"])
    for item in ctr.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "fieldRef" in item["valueFrom"]:
            env[item["name"]] = f"<field {item['valueFrom']['fieldRef']['fieldPath']}>"
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            rendered = secrets.get(ref["name"])
            env[item["name"]] = secret_data(rendered)[ref["key"]] if rendered else f"<secret {ref['name']}/{ref['key']}>"
    return env


def rendered_deployments(values: dict) -> list[dict]:
    """The Deployments rendered for ``values`` (a dict, not one of ``VALUES``)."""
    return [d for template, text in render_text(values).items() if not template.endswith("NOTES.txt")
            for d in yaml.safe_load_all(text) if d and d["kind"] == "Deployment"]


PARAMS = pytest.mark.parametrize("values", list(VALUES))


# --- the chart itself ---------------------------------------------------------------------------------

def test_chart_is_helm_v2_and_lints_clean() -> None:
    metadata = chart().metadata
    assert metadata["apiVersion"] == "v2"
    assert metadata["kubeVersion"] == f">={KUBERNETES_VERSIONS[0]}.0-0", (
        f"Chart.yaml kubeVersion {metadata['kubeVersion']!r}: the oldest version tested here is {KUBERNETES_VERSIONS[0]}")
    for values in VALUES:
        report = helm.lint(CHART, values_of(values), strict=True, kube_version=f"v{KUBERNETES_VERSIONS[-1]}.0")
        problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        assert not problems, f"helm lint --strict with {values}: {problems}"


def test_the_chart_has_exactly_the_services_of_the_repository_on_their_default_ports() -> None:
    services = chart().values["services"]
    assert sorted(services) == service_dirs(), "services in values.yaml differ from services/*"
    for service, spec in services.items():
        default_port = settings_class(service).model_fields["http"].default.port
        assert spec["port"] == default_port, f"{service}: port {spec['port']}, its Settings default is {default_port}"


@PARAMS
def test_values_files_pass_the_values_schema(values: str) -> None:
    chart().validate_schema(merged_values(values))


@pytest.mark.parametrize("override, where", [
    ({"containerSecurityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
    ({"containerSecurityContext": {"allowPrivilegeEscalation": True}}, "allowPrivilegeEscalation"),
    ({"containerSecurityContext": {"capabilities": {"drop": []}}}, "capabilities"),
    ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
    ({"services": {"suppliers": {"enabled": True, "port": 8009}}}, "suppliers"),
    ({"services": {"gateway": {"replica": 3}}}, "replica"),
    ({"kafka": {"bootstrapServers": "kafka"}}, "bootstrapServers"),
])
def test_the_values_schema_rejects_weakened_hardening_and_typos(override: dict, where: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=where):
        render_text(override)


# --- every object is valid Kubernetes ---------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _schema_files_read_once():
    """kubernetes_validate.validate re-reads its schema files (1.4 MB of definitions) on every call."""
    utils = getattr(kubernetes_validate, "utils", None)
    if utils is None or not hasattr(utils, "schema_contents"):
        yield  # a release that reorganised its internals: correct, only slower
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utils, "schema_contents", functools.cache(utils.schema_contents))
        yield


@PARAMS
@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
def test_every_rendered_object_validates_strictly_against_the_kubernetes_schema(values: str, kubernetes: str) -> None:
    failures = []
    for obj in manifests(values):
        resource = {k: v for k, v in obj.items() if k != "_template"}
        where = f"{obj['_template']}: {obj['kind']}/{obj['metadata'].get('name')}"
        try:
            kubernetes_validate.validate(resource, kubernetes, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{where}: {'.'.join(map(str, error.path))}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            failures.append(f"{where}: {error.message}")
    assert not failures, f"{values} against Kubernetes {kubernetes}:\n" + "\n".join(failures)


@PARAMS
def test_objects_are_uniquely_named_and_labelled_for_the_release(values: str) -> None:
    seen: dict[tuple[str, str], str] = {}
    for obj in manifests(values):
        key = (obj["kind"], obj["metadata"]["name"])
        assert key not in seen, f"{key} rendered by {seen[key]} and {obj['_template']}"
        seen[key] = obj["_template"]
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/instance") == RELEASE, f"{key}: no app.kubernetes.io/instance label"
        assert "namespace" not in obj["metadata"], f"{key}: hard-coded namespace (Helm sets it)"


# --- the objects of each service ----------------------------------------------------------------------

@PARAMS
def test_every_service_has_a_deployment_service_configmap_pdb_and_network_policy(values: str) -> None:
    for service, spec in enabled_services(values).items():
        name = component(service)
        for kind in ("Deployment", "Service", "ConfigMap", "NetworkPolicy"):
            assert name in by_name(values, kind), f"{values}: {service} has no {kind} {name!r}"
        if spec["pdb"]["enabled"]:
            pdb = by_name(values, "PodDisruptionBudget").get(name)
            assert pdb, f"{values}: {service} has no PodDisruptionBudget"
            assert pdb["spec"]["selector"]["matchLabels"] == deployment(values, service)["spec"]["selector"]["matchLabels"]
        svc = by_name(values, "Service")[name]
        assert svc["spec"]["type"] == "ClusterIP"
        assert svc["spec"]["selector"] == deployment(values, service)["spec"]["selector"]["matchLabels"]
        assert svc["spec"]["ports"] == [{"name": "http", "port": spec["port"], "targetPort": "http", "protocol": "TCP"}]


@PARAMS
def test_autoscalers_target_their_deployment_which_then_leaves_replicas_to_them(values: str) -> None:
    hpas = by_name(values, "HorizontalPodAutoscaler")
    for service, spec in enabled_services(values).items():
        hpa, dep = hpas.get(component(service)), deployment(values, service)
        if spec["autoscaling"]["enabled"]:
            assert hpa and hpa["apiVersion"] == "autoscaling/v2", f"{values}: {service} has no autoscaling/v2 HPA"
            assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": component(service)}
            assert hpa["spec"]["maxReplicas"] == spec["autoscaling"]["maxReplicas"]
            assert "replicas" not in dep["spec"], f"{values}: {service} sets replicas and has an HPA (they would fight)"
        else:
            assert hpa is None, f"{values}: {service} has an HPA but autoscaling is disabled"
            assert dep["spec"]["replicas"] == spec["replicas"]


def test_the_hpa_values_file_actually_enables_autoscalers_and_the_ingress() -> None:
    assert set(by_name("hpa-ingress", "HorizontalPodAutoscaler")) == {component("gateway"), component("reporting")}
    ingress = by_name("hpa-ingress", "Ingress")[component("gateway")]
    backends = [p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert backends and all(b == {"name": component("gateway"), "port": {"name": "http"}} for b in backends)
    assert ingress["spec"]["tls"][0]["secretName"] == "tanso-test-tls"
    assert not objects_of("defaults", "Ingress") and not objects_of("defaults", "HorizontalPodAutoscaler")


# --- images and pod hardening -------------------------------------------------------------------------

@PARAMS
def test_each_pod_runs_its_own_service_image_and_module(values: str) -> None:
    merged = merged_values(values)
    for service in enabled_services(values):
        ctr = container(values, service)
        tag = merged["image"]["tag"] or chart().metadata["appVersion"]
        assert ctr["image"].endswith(f"{merged['image']['namePrefix']}{service}:{tag}"), f"{service}: image {ctr['image']}"
        module = container_env(values, service)["TANSO_SERVICE_MODULE"]
        assert module == module_of(service)
        assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{service}: {module} has no __main__"


@PARAMS
def test_every_container_runs_hardened(values: str) -> None:
    """Every Deployment of the release: the services' and the relays'."""
    services = {component(service): service for service in enabled_services(values)}
    assert services.keys() <= by_name(values, "Deployment").keys()
    for name, dep in by_name(values, "Deployment").items():
        pod = dep["spec"]["template"]["spec"]
        where = f"{values}: {name}"
        assert pod["automountServiceAccountToken"] is False, f"{where}: service account token mounted"
        assert pod["enableServiceLinks"] is False, f"{where}: service links inject TANSO_<SVC>_PORT-style variables"
        assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), f"{where}: host namespaces"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for ctr in pod["containers"] + pod.get("initContainers", []):
            sc = ctr["securityContext"]
            assert sc["runAsNonRoot"] is True, f"{where}: may run as root"
            assert sc["runAsUser"] == 10001, f"{where}: runs as {sc['runAsUser']}, the image's user is 10001"
            assert sc["readOnlyRootFilesystem"] is True, f"{where}: writable root filesystem"
            assert sc["allowPrivilegeEscalation"] is False, f"{where}: privilege escalation allowed"
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), f"{where}: {sc['capabilities']}"
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
            assert sc.get("privileged") is not True
            assert ctr["resources"]["requests"] and ctr["resources"]["limits"]["memory"], f"{where}: no resources"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert not any("hostPath" in v for v in volumes.values()), f"{where}: hostPath volume"
        mounts = {m["mountPath"]: volumes[m["name"]] for m in pod["containers"][0]["volumeMounts"]}
        assert "emptyDir" in mounts.get("/tmp", {}), f"{where}: /tmp is not an emptyDir"
        if name in services:  # a relay keeps nothing on disk
            assert DATA_DIR in mounts, f"{where}: the data dir {DATA_DIR} is not a volume (the root fs is read-only)"


@PARAMS
def test_probes_check_liveness_and_readiness_on_the_service_port(values: str) -> None:
    for service, spec in enabled_services(values).items():
        ctr = container(values, service)
        ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
        expected = {"livenessProbe": "/health/live", "readinessProbe": "/health/ready", "startupProbe": "/health/live"}
        for probe, path in expected.items():
            get = ctr[probe]["httpGet"]
            assert get["path"] == path, f"{values}: {service} {probe} probes {get['path']}, expected {path}"
            port = ports.get(get["port"], get["port"])
            assert port == spec["port"], f"{values}: {service} {probe} probes port {port}, it listens on {spec['port']}"
        assert container_env(values, service)[env_prefix(service) + "HTTP__PORT"] == str(spec["port"])


# --- settings -----------------------------------------------------------------------------------------

@PARAMS
def test_every_rendered_tanso_variable_is_a_field_of_the_services_settings(values: str) -> None:
    for service in enabled_services(values):
        known = settings_env_names(settings_class(service))
        env = container_env(values, service)
        unknown = sorted(k for k in env if k.startswith("TANSO_") and k not in IMAGE_VARIABLES and k.upper() not in known)
        assert not unknown, f"{values}: {service} sets {unknown}, which {module_of(service)}.settings.Settings does not read"


def test_the_image_sets_the_module_variable_the_chart_repeats() -> None:
    envs = " ".join(a for keyword, a in _compose.final_stage() if keyword == "ENV")
    assert all(f"{v}=" in envs for v in IMAGE_VARIABLES), f"Dockerfile runtime stage does not set {IMAGE_VARIABLES}"


@PARAMS
def test_the_rendered_settings_load_into_each_services_settings_class(values: str, monkeypatch) -> None:
    """Values parse (ports, JSON upstreams, booleans), and the ones a cluster needs are set."""
    merged = merged_values(values)
    services = enabled_services(values)
    jwks = merged["auth"]["jwksUrl"] or f"http://{component('identity')}:{services['identity']['port']}/.well-known/jwks.json"
    for service, spec in services.items():
        env = container_env(values, service)
        with monkeypatch.context() as m:
            for key in [k for k in os.environ if k.startswith("TANSO_")]:
                m.delenv(key)
            for key, value in env.items():
                if key.startswith("TANSO_") and not value.startswith("<secret"):
                    m.setenv(key, value.replace("$(DATABASE_PASSWORD)", "placeholder"))
            settings = settings_class(service)()
        where = f"{values}: {service}"
        assert (settings.http.host, settings.http.port) == ("0.0.0.0", spec["port"]), where
        assert str(settings.data_dir) == DATA_DIR, where
        assert settings.auth.jwks_url == jwks, f"{where}: JWKS {settings.auth.jwks_url}"
        if spec["kafka"]["enabled"]:
            assert settings.kafka.bootstrap_servers == merged["kafka"]["bootstrapServers"], where
            assert settings.kafka.republish_window_seconds == 0, f"{where}: Kafka is durable, republish nothing"
            assert settings.kafka.fetch_max_wait_ms == 500, where
            assert settings.kafka.replication_factor == merged["kafka"]["replicationFactor"], where
        if spec["database"]["enabled"]:
            url = env.get(env_prefix(service) + "DATABASE__URL")
            assert url, f"{where}: no DATABASE__URL: it would fall back to SQLite on an emptyDir"
            if not url.startswith("<secret"):
                assert url.startswith("postgresql+asyncpg://"), f"{where}: {url}"
                assert urlsplit(url).path == "/" + spec["database"]["name"], f"{where}: {url}"
        if service == "gateway":
            expected = {s: f"http://{component(s)}:{p['port']}" for s, p in services.items() if s != "gateway"}
            assert settings.upstreams == expected, f"{where}: upstreams {settings.upstreams}"


# --- the outbox relay ---------------------------------------------------------------------------------

def relay_settings(values: str, service: str, monkeypatch: pytest.MonkeyPatch, ctr: dict | None = None):
    """The service's Settings as a container of the chart (the API's, or ``ctr``, e.g. its relay) reads them."""
    env = env_of(values, ctr or container(values, service), service)
    with monkeypatch.context() as m:
        for key in [k for k in os.environ if k.startswith("TANSO_")]:
            m.delenv(key)
        for key, value in env.items():
            if key.startswith("TANSO_") and not value.startswith("<secret"):
                m.setenv(key, value.replace("$(DATABASE_PASSWORD)", "placeholder"))
        return settings_class(service)()


@PARAMS
def test_each_publishing_service_has_exactly_one_relay_deployment_with_an_external_relay(
        values: str, monkeypatch: pytest.MonkeyPatch) -> None:
    relays, merged = relay_deployments(values), merged_values(values)
    relay_names = {n for n in by_name(values, "Deployment") if n.endswith("-relay")}
    if relay_mode(values) != "external":
        assert not relay_names, f"{values}: relay.mode {relay_mode(values)} renders relay Deployments {relay_names}"
        for service in publishing_services(values):
            assert relay_settings(values, service, monkeypatch).outbox.relay == "in_process", service
        return
    assert set(relays) == set(publishing_services(values)), f"{values}: relays for {sorted(relays)}"
    assert relay_names == {component(s) + "-relay" for s in relays}, f"{values}: stray relays {relay_names}"
    port = merged["relay"]["port"]
    for service, dep in relays.items():
        where = f"{values}: {service}'s relay"
        assert dep["spec"]["replicas"] == 1, f"{where}: per-aggregate order needs exactly one relay"
        assert dep["spec"]["strategy"] == {"type": "Recreate"}, f"{where}: an upgrade would run two relays"
        assert component(service) + "-relay" not in by_name(values, "HorizontalPodAutoscaler"), where
        ctr = only_container(dep)
        assert ctr["command"] == ["python", "-m", "tanso_runtime.relay", service], f"{where}: {ctr['command']}"
        assert importlib.util.find_spec("tanso_runtime.relay") is not None
        assert ctr["image"] == container(values, service)["image"], f"{where}: not the service's own image"
        # The relay reads the service's settings: same database, same Kafka, its own port.
        relay, api = relay_settings(values, service, monkeypatch, ctr), relay_settings(values, service, monkeypatch)
        relay_env, api_env = env_of(values, ctr, service), container_env(values, service)
        url = env_prefix(service) + "DATABASE__URL"
        assert relay_env[url] == api_env[url], f"{where}: another database than the service's"
        assert relay.kafka.bootstrap_servers == api.kafka.bootstrap_servers == merged["kafka"]["bootstrapServers"]
        assert relay.kafka.republish_window_seconds == 0, where
        assert relay.outbox.relay_port == port and relay.outbox.poll_interval_seconds == merged["relay"]["pollIntervalSeconds"]
        assert api.outbox.relay == "external", f"{values}: {service}'s API pods would publish too"
        ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
        for probe, path in {"livenessProbe": "/health/live", "readinessProbe": "/health/ready",
                            "startupProbe": "/health/live"}.items():
            get = ctr[probe]["httpGet"]
            assert get["path"] == path and ports.get(get["port"], get["port"]) == port, f"{where}: {probe} {get}"
        pdb = by_name(values, "PodDisruptionBudget")[component(service) + "-relay"]
        assert pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
        assert pdb["spec"].get("maxUnavailable") == 1, f"{where}: a PDB that blocks node drains"
        # The relay's selector must not pick the service's pods, nor the service's the relay's.
        assert not selects(deployment(values, service)["spec"]["selector"], pod_labels_of(dep)), where
        assert not selects(dep["spec"]["selector"], pod_labels(values, service)), where
    for service in set(enabled_services(values)) - set(publishing_services(values)):
        assert "OUTBOX__RELAY" not in " ".join(container_env(values, service)), f"{values}: {service} has no outbox"


def test_with_external_relays_the_api_deployments_roll_and_scale_freely() -> None:
    for service, spec in enabled_services("defaults").items():
        strategy = deployment("defaults", service)["spec"]["strategy"]["type"]
        expected = "Recreate" if spec.get("persistence", {}).get("enabled") else "RollingUpdate"
        assert strategy == expected, f"{service}: strategy {strategy}, expected {expected} (claim: Recreate)"
    assert set(by_name("hpa-ingress", "HorizontalPodAutoscaler")) >= {component("reporting")}
    assert deployment("hpa-ingress", "factors")["spec"]["replicas"] == 2
    assert not merged_values("hpa-ingress")["relay"]["allowMultipleRelays"], "no exception needed with external relays"
    render_text({"services": {"calculation": {"replicas": 3},
                              "activities": {"autoscaling": {"enabled": True, "maxReplicas": 5}}}})


def test_in_process_relays_are_replaced_not_rolled_so_two_relays_never_overlap() -> None:
    objects = rendered_deployments({"relay": {"mode": "inProcess"}})
    assert objects and not [d for d in objects if d["metadata"]["name"].endswith("-relay")]
    services = chart().values["services"]
    for dep in objects:
        service = dep["metadata"]["name"].removeprefix(f"{RELEASE}-")
        expected = "Recreate" if services[service]["kafka"]["enabled"] else "RollingUpdate"
        assert dep["spec"]["strategy"]["type"] == expected, f"{service}: {dep['spec']['strategy']}"


@pytest.mark.parametrize("override", [
    {"services": {"calculation": {"replicas": 2}}},
    {"services": {"reporting": {"autoscaling": {"enabled": True, "maxReplicas": 3}}}},
])
def test_more_than_one_in_process_relay_per_service_is_refused_unless_allowed(override: dict) -> None:
    in_process = {"relay": {"mode": "inProcess"}}
    with pytest.raises(helm.HelmRenderError, match="relay.mode=external"):
        render_text(override | in_process)
    render_text(override | {"relay": {"mode": "inProcess", "allowMultipleRelays": True}})
    render_text(override)  # external relays (the default): the API pods scale
    render_text(in_process | {"services": {"gateway": {"replicas": 5}}})  # no relay in the gateway


def test_an_external_relay_needs_the_services_database() -> None:
    with pytest.raises(helm.HelmRenderError, match="services.factors: an external outbox relay .* database.enabled is false"):
        render_text({"services": {"factors": {"database": {"enabled": False}}}})
    render_text({"relay": {"mode": "inProcess"}, "services": {"factors": {"database": {"enabled": False}}}})


def pod_labels_of(dep: dict) -> dict[str, str]:
    return dep["spec"]["template"]["metadata"]["labels"]


@PARAMS
def test_relay_network_policies_allow_kafka_and_the_database_only(values: str) -> None:
    merged = merged_values(values)
    kafka, postgres = merged["kafka"]["networkPolicy"], merged["postgres"]["networkPolicy"]
    otlp = merged["telemetry"]["networkPolicy"]
    dns = merged["networkPolicy"]["dns"]
    allowed = [(kafka["to"], kafka["ports"], "TCP"), (postgres["to"], postgres["ports"], "TCP"),
               (dns["to"], dns["ports"], "TCP"), (dns["to"], dns["ports"], "UDP")]
    if otlp["to"]:
        allowed.append((otlp["to"], otlp["ports"], "TCP"))
    for service, dep in relay_deployments(values).items():
        labels, where = pod_labels_of(dep), f"{values}: {service}'s relay"
        for peers, ports, protocol in allowed:
            for peer in peers:
                for port in ports:
                    assert allows(values, "egress", labels, lambda p, peer=peer: p == peer, port, protocol), (
                        f"{where}: no egress to {peer}:{port}/{protocol}")
        egress = [(peer, p["port"], p.get("protocol", "TCP")) for policy in policies_selecting(values, labels)
                  for rule in policy["spec"].get("egress") or [] for peer in rule["to"] for p in rule["ports"]]
        expected = {(json.dumps(peer, sort_keys=True), port, protocol)
                    for peers, ports, protocol in allowed for peer in peers for port in ports}
        extra = {(json.dumps(peer, sort_keys=True), port, protocol) for peer, port, protocol in egress} - expected
        assert not extra, f"{where}: egress beyond Kafka, its database, DNS and the collector: {extra}"
        for other, spec in enabled_services(values).items():
            assert not allows(values, "egress", labels, same_namespace_pods(pod_labels(values, other)), spec["port"]), (
                f"{where}: may reach {other}")
            assert not allows(values, "ingress", labels, same_namespace_pods(pod_labels(values, other)),
                              merged["relay"]["port"]), f"{where}: reachable from {other}"
        for peer in merged["networkPolicy"]["extraIngressFrom"]:  # Prometheus scrapes /metrics
            assert allows(values, "ingress", labels, lambda p, peer=peer: p == peer, merged["relay"]["port"]), where


def test_identity_on_a_read_write_once_claim_cannot_have_several_pods() -> None:
    with pytest.raises(helm.HelmRenderError, match="ReadWriteOnce"):
        render_text({"services": {"identity": {"replicas": 2}}})


# --- OpenTelemetry -------------------------------------------------------------------------------------

@PARAMS
def test_every_pod_including_the_relays_gets_the_same_otlp_settings(values: str) -> None:
    telemetry = merged_values(values)["telemetry"]
    deployments = by_name(values, "Deployment")
    assert len(deployments) == len(enabled_services(values)) + len(relay_deployments(values))
    for name, dep in deployments.items():
        env = only_container(dep)["env"]
        names = [e["name"] for e in env]
        values_of_env = {e["name"]: e.get("value") for e in env}
        where = f"{values}: {name}"
        if telemetry["otlpEndpoint"]:
            assert values_of_env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == telemetry["otlpEndpoint"], where
        else:
            assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in names, f"{where}: exports without an endpoint configured"
        for key, value in telemetry["env"].items():
            assert values_of_env.get(key) == str(value), f"{where}: {key}"
        attributes = dict(a.split("=", 1) for a in values_of_env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
        assert attributes["k8s.deployment.name"] == name, f"{where}: {attributes}"
        assert attributes["k8s.pod.name"] == "$(POD_NAME)" and attributes["k8s.namespace.name"] == "$(POD_NAMESPACE)"
        for key, value in telemetry["resourceAttributes"].items():
            assert attributes.get(key) == str(value), f"{where}: resource attribute {key}"
        # $(VAR) is expanded only from variables defined before it.
        assert names.index("POD_NAME") < names.index("OTEL_RESOURCE_ATTRIBUTES"), where
        assert names.index("POD_NAMESPACE") < names.index("OTEL_RESOURCE_ATTRIBUTES"), where
        assert len(names) == len(set(names)), f"{where}: duplicate env names {names}"
        # The collector is reachable when its peers are given.
        for peer in telemetry["networkPolicy"]["to"]:
            for port in telemetry["networkPolicy"]["ports"]:
                assert allows(values, "egress", pod_labels_of(dep), lambda p, peer=peer: p == peer, port), (
                    f"{where}: no egress to the OTLP collector {peer}:{port}")


def test_the_hpa_values_file_exports_telemetry() -> None:
    assert merged_values("hpa-ingress")["telemetry"]["otlpEndpoint"]
    assert merged_values("hpa-ingress")["telemetry"]["networkPolicy"]["to"]


@pytest.mark.parametrize("override, where", [
    ({"telemetry": {"env": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}}}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ({"telemetry": {"env": {"LOG_LEVEL": "DEBUG"}}}, "LOG_LEVEL"),
    ({"telemetry": {"otlpEndpoint": "otel:4318"}}, "otlpEndpoint"),
    ({"relay": {"mode": "sidecar"}}, "mode"),
])
def test_the_values_schema_rejects_bad_relay_and_telemetry_values(override: dict, where: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=where):
        render_text(override)


# --- identity's signing key ---------------------------------------------------------------------------

def identity_settings():
    return settings_class("identity").model_construct(data_dir=Path(DATA_DIR))


def signing_key_path() -> Path:
    return identity_settings().signing_key_path


def test_identity_keeps_its_signing_key_on_a_claim_by_default() -> None:
    pod = deployment("defaults", "identity")["spec"]["template"]["spec"]
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    claim = data["persistentVolumeClaim"]["claimName"]
    pvc = by_name("defaults", "PersistentVolumeClaim")[claim]
    assert pvc["metadata"]["annotations"].get("helm.sh/resource-policy") == "keep", "the key must survive uninstall"
    assert signing_key_path().is_relative_to(DATA_DIR)


@pytest.mark.parametrize("values", ["production", "hpa-ingress"])
def test_identity_reads_its_signing_key_and_the_previous_one_from_secrets(values: str) -> None:
    """The key, and during a rotation the retired key identity still publishes, where identity looks."""
    pod = deployment(values, "identity")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "signing-key")
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    key = merged_values(values)["services"]["identity"]["signingKey"]
    current, previous = (source["secret"] for source in volume["projected"]["sources"])
    assert current["name"] == key["existingSecret"] and not current.get("optional")
    assert current["items"] == [{"key": key["key"], "path": signing_key_path().name}]
    # The previous key: optional (no rotation going on: the Secret has no such key).
    assert previous["name"] == (key["previousSecret"] or key["existingSecret"])
    assert previous["optional"] is True
    assert previous["items"] == [{"key": key["previousKey"], "path": identity_settings().previous_signing_key_path.name}]
    assert identity_settings().previous_signing_key_path.parent == signing_key_path().parent
    assert mount["mountPath"] == str(signing_key_path().parent) and mount["readOnly"] is True
    # Group-readable: the kubelet gives Secret files the pod's fsGroup, the image's group.
    assert volume["projected"]["defaultMode"] & 0o040
    assert pod["securityContext"]["fsGroup"] == 10001


def test_the_previous_signing_key_can_come_from_its_own_secret_or_be_left_out() -> None:
    assert merged_values("hpa-ingress")["services"]["identity"]["signingKey"]["previousSecret"] == "tanso-identity-old-key"

    def sources(signing_key: dict) -> list[dict]:
        deployments = rendered_deployments({"services": {"identity": {"persistence": {"enabled": False},
                                                                       "signingKey": signing_key}}})
        identity = next(d for d in deployments if d["metadata"]["name"] == component("identity"))
        volume = next(v for v in identity["spec"]["template"]["spec"]["volumes"] if v["name"] == "signing-key")
        return volume["projected"]["sources"]

    assert len(sources({"existingSecret": "k", "previousKey": ""})) == 1


# --- secrets --------------------------------------------------------------------------------------

@PARAMS
def test_no_rendered_secret_holds_a_real_password(values: str) -> None:
    for secret in objects_of(values, "Secret"):
        for key, value in secret_data(secret).items():
            where = f"{values}: Secret {secret['metadata']['name']}/{key}"
            if "://" in value:
                password = urlsplit(value).password
                assert password is None or password.endswith(PLACEHOLDER_PASSWORD_SUFFIX), f"{where}: real password in a URL"
            elif "password" in key.lower() or "key" in key.lower():
                raise AssertionError(f"{where}: the chart renders no passwords or keys")
        annotations = secret["metadata"].get("annotations", {})
        assert annotations.get("tanso.dev/dev-only") == "true", f"{secret['metadata']['name']}: not marked dev-only"


def test_the_production_example_renders_no_secret_and_references_existing_ones() -> None:
    assert not objects_of("production", "Secret"), "production values must reference Secrets, not render them"
    assert "DEV-ONLY" not in notes("production")
    assert "DEV-ONLY" in notes("defaults")
    env = container("production", "supplier-exchange")["env"]
    names = [e["name"] for e in env]
    assert names.index("DATABASE_PASSWORD") < names.index("TANSO_SUPPLIER_EXCHANGE_DATABASE__URL"), (
        "$(DATABASE_PASSWORD) is expanded only when defined earlier")
    reporting = next(e for e in container("production", "reporting")["env"] if e["name"].endswith("DATABASE__URL"))
    assert reporting["valueFrom"]["secretKeyRef"] == {"name": "tanso-reporting-database", "key": "uri"}


# --- network policies -----------------------------------------------------------------------------------

def pod_labels(values: str, service: str) -> dict[str, str]:
    return deployment(values, service)["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict, labels: dict[str, str]) -> bool:
    assert not selector.get("matchExpressions"), "matchExpressions are not evaluated here"
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def policies_selecting(values: str, labels: dict[str, str]) -> list[dict]:
    return [p for p in objects_of(values, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]


def rule_allows(rule: dict, peer_matches, port: int, protocol: str = "TCP") -> bool:
    peers = rule.get("to", rule.get("from"))
    ports = rule.get("ports")
    port_ok = not ports or any(p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports)
    return port_ok and (not peers or any(peer_matches(peer) for peer in peers))


def same_namespace_pods(labels: dict[str, str]):
    return lambda peer: "podSelector" in peer and "namespaceSelector" not in peer and "ipBlock" not in peer \
        and selects(peer["podSelector"], labels)


def allows(values: str, direction: str, labels: dict[str, str], peer_matches, port: int, protocol: str = "TCP") -> bool:
    return any(rule_allows(rule, peer_matches, port, protocol)
               for policy in policies_selecting(values, labels) for rule in policy["spec"].get(direction) or [])


@PARAMS
def test_a_default_deny_policy_covers_every_pod_of_the_release(values: str) -> None:
    deny = [p for p in objects_of(values, "NetworkPolicy")
            if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not p["spec"].get("ingress")
            and not p["spec"].get("egress")]
    assert deny, f"{values}: no default-deny NetworkPolicy"
    for service in enabled_services(values):
        assert any(selects(p["spec"]["podSelector"], pod_labels(values, service)) for p in deny), (
            f"{values}: the default deny does not select {service}'s pods")
    for policy in objects_of(values, "NetworkPolicy"):
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}, policy["metadata"]["name"]


@PARAMS
def test_network_policies_allow_exactly_the_paths_the_services_use(values: str) -> None:
    merged, services = merged_values(values), enabled_services(values)
    gateway, identity = pod_labels(values, "gateway"), pod_labels(values, "identity")
    kafka, postgres = merged["kafka"]["networkPolicy"], merged["postgres"]["networkPolicy"]
    dns_peers = merged["networkPolicy"]["dns"]["to"]
    for service, spec in services.items():
        labels, where = pod_labels(values, service), f"{values}: {service}"
        # DNS, over UDP and TCP.
        for protocol in ("UDP", "TCP"):
            assert allows(values, "egress", labels, lambda p: p in dns_peers, 53, protocol), f"{where}: no DNS/{protocol}"
        # Every service verifies tokens against identity's JWKS.
        if service != "identity":
            assert allows(values, "egress", labels, same_namespace_pods(identity), services["identity"]["port"]), (
                f"{where}: cannot reach identity's JWKS")
        # Inbound: from the gateway (identity: from every Tanso pod); the gateway from gatewayFrom.
        if service == "gateway":
            for peer in merged["networkPolicy"]["gatewayFrom"]:
                assert allows(values, "ingress", labels, lambda p, peer=peer: p == peer, spec["port"]), where
            for other, other_spec in services.items():
                if other != "gateway":
                    assert allows(values, "egress", labels, same_namespace_pods(pod_labels(values, other)),
                                  other_spec["port"]), f"{where}: cannot reach upstream {other}"
        else:
            assert allows(values, "ingress", labels, same_namespace_pods(gateway), spec["port"]), (
                f"{where}: the gateway cannot reach it")
        if service == "identity":
            for other in services:
                assert allows(values, "ingress", labels, same_namespace_pods(pod_labels(values, other)), spec["port"]), (
                    f"{where}: {other} cannot fetch the JWKS")
        elif service != "gateway":
            others = [o for o in services if o not in ("gateway", service)]
            leaks = [o for o in others
                     if allows(values, "ingress", labels, same_namespace_pods(pod_labels(values, o)), spec["port"])]
            assert not leaks, f"{where}: reachable from {leaks}, not only from the gateway"
        # Kafka and PostgreSQL, as configured, and only for the services that use them.
        for endpoint, used in ((kafka, spec["kafka"]["enabled"]), (postgres, spec["database"]["enabled"])):
            for port in endpoint["ports"]:
                reach = all(allows(values, "egress", labels, lambda p, peer=peer: p == peer, port) for peer in endpoint["to"])
                assert reach == used, f"{where}: egress to {endpoint['to']}:{port} is {reach}, uses it: {used}"


@PARAMS
def test_no_policy_opens_everything(values: str) -> None:
    for policy in objects_of(values, "NetworkPolicy"):
        for direction, side in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(direction) or []:
                name = f"{values}: {policy['metadata']['name']} {direction}"
                assert rule.get(side), f"{name}: a rule without `{side}` allows every peer"
                assert rule.get("ports"), f"{name}: a rule without ports allows every port"
                for peer in rule[side]:
                    if "ipBlock" in peer:
                        assert ipaddress.ip_network(peer["ipBlock"]["cidr"]).prefixlen > 0, f"{name}: open to the internet"


def test_the_strimzi_example_reaches_every_broker_of_the_cluster() -> None:
    assert container_env("strimzi", "reporting")["TANSO_REPORTING_KAFKA__REPLICATION_FACTOR"] == "3"
    assert container_env("strimzi", "calculation")["TANSO_CALCULATION_KAFKA__BOOTSTRAP_SERVERS"] == \
        "my-cluster-kafka-bootstrap.kafka:9092"
    peers = merged_values("strimzi")["kafka"]["networkPolicy"]["to"]
    assert peers == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kafka"}},
                      "podSelector": {"matchLabels": {"strimzi.io/cluster": "my-cluster", "strimzi.io/kind": "Kafka"}}}]
    broker = {"strimzi.io/cluster": "my-cluster", "strimzi.io/kind": "Kafka", "strimzi.io/name": "my-cluster-kafka"}
    policy = by_name("strimzi", "NetworkPolicy")[component("calculation")]
    kafka_namespace = {"kubernetes.io/metadata.name": "kafka"}

    def broker_peer(peer: dict) -> bool:
        return ("namespaceSelector" in peer and selects(peer["namespaceSelector"], kafka_namespace)
                and "podSelector" in peer and selects(peer["podSelector"], broker))

    assert any(rule_allows(rule, broker_peer, 9092) for rule in policy["spec"]["egress"])


# --- NOTES and docs ------------------------------------------------------------------------------------

def test_notes_explain_how_to_reach_the_gateway() -> None:
    assert f"port-forward service/{component('gateway')}" in notes("defaults")
    assert "https://tanso.test.example/" in notes("hpa-ingress")
    assert "allowMultipleRelays" in notes("in-process-relay")
    assert f"{component('activities')}-relay" not in notes("defaults")  # the pattern, not a list
    assert "outbox relay Deployment" in notes("defaults") and "outbox relay Deployment" not in notes("in-process-relay")


def test_the_readme_documents_the_values_files_the_tests_render() -> None:
    readme = (ROOT / "deploy" / "helm" / "README.md").read_text(encoding="utf-8")
    for path in VALUES.values():
        if path is not None and path.parent == EXAMPLES:
            assert path.name in readme, f"deploy/helm/README.md does not mention {path.name}"
    for topic in ("existingSecret", "passwordSecret", "signingKey", "previousKey", "Strimzi", "allowMultipleRelays",
                  "relay.mode", "tanso_runtime.relay", "telemetry.otlpEndpoint", "test_helm.py"):
        assert topic in readme, f"deploy/helm/README.md does not explain {topic}"
    json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
