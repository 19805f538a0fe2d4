"""deploy/k8s renders with kustomize and every resource passes Kubernetes' schema, offline.

Rendering uses the kustomize built into kubectl (`kubectl kustomize`, kustomize v5 here), not a
re-implementation. Schema validation uses `kubernetes-validate --strict` (unknown fields are errors) from
the tools venv (.venv-tools, Python 3.11; `make tools`), against the Kubernetes version below.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.settings import REPO_ROOT

K8S = REPO_ROOT / "deploy" / "k8s"
OVERLAY = K8S / "overlays" / "example"
VALIDATOR = REPO_ROOT / ".venv-tools" / "bin" / "kubernetes-validate"
KUBERNETES_VERSION = "1.30.0"


def _require(tool: str, path: str | None) -> str:
    if not path:
        message = f"{tool} is not installed: the Kubernetes manifests cannot be checked"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def kustomize(folder: Path) -> list[dict]:
    kubectl = _require("kubectl (with its built-in kustomize)", shutil.which("kubectl"))
    done = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return kustomize(OVERLAY)


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_specs(docs: list[dict]) -> dict[str, dict]:
    specs = {}
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            specs[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]
        elif doc["kind"] == "CronJob":
            specs[doc["metadata"]["name"]] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def validate(files: list[Path]) -> subprocess.CompletedProcess:
    validator = _require("kubernetes-validate (make tools)", str(VALIDATOR) if VALIDATOR.exists() else None)
    return subprocess.run(
        [validator, "--strict", "-k", KUBERNETES_VERSION, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def write_each(docs: list[dict], folder: Path) -> list[Path]:
    files = []
    for i, doc in enumerate(docs):
        path = folder / f"{i:02d}-{doc['kind']}-{doc['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        files.append(path)
    return files


def test_every_rendered_resource_passes_strict_schema_validation(rendered: list[dict], tmp_path: Path) -> None:
    kinds = {d["kind"] for d in rendered}
    assert {
        "Deployment",
        "Service",
        "Ingress",
        "Job",
        "CronJob",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ConfigMap",
        "Secret",
        "NetworkPolicy",
    } <= kinds
    files = write_each(rendered, tmp_path)
    done = validate(files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed for resource") == len(files)


def test_the_validator_rejects_a_field_kubernetes_does_not_know(rendered: list[dict], tmp_path: Path) -> None:
    """Negative control: proves the validation above is strict and really ran."""
    broken = dict(by_kind(rendered, "Deployment")["qhd-rasa"])
    broken["spec"] = dict(broken["spec"], replica=3)  # typo of `replicas`
    done = validate(write_each([broken], tmp_path))
    assert done.returncode != 0 and "replica" in done.stdout + done.stderr


def test_the_overlay_sets_namespace_image_replicas_and_external_hosts(rendered: list[dict]) -> None:
    assert {d["metadata"].get("namespace") for d in rendered if d["kind"] != "Namespace"} == {"qhd-example"}
    images = {c["image"] for spec in pod_specs(rendered).values() for c in spec["containers"]}
    assert images == {"registry.example.org/qhd/assistant:1.0.0-model-739db60043d8"}
    assert by_kind(rendered, "Deployment")["qhd-rasa"]["spec"]["replicas"] == 3
    services = by_kind(rendered, "Service")
    assert {
        n: s["spec"].get("externalName") for n, s in services.items() if s["spec"].get("type") == "ExternalName"
    } == {
        "qhd-postgres": "pg-primary.databases.svc.cluster.local",
        "qhd-redis": "redis.city-it.example.internal",
        "qhd-rabbitmq": "rabbitmq.city-it.example.internal",
    }


def test_the_ingress_exposes_only_the_chat_paths_and_the_web_app(rendered: list[dict]) -> None:
    routes = set()
    for ingress in by_kind(rendered, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] == "zhushou.example.gov.cn"
            for path in rule["http"]["paths"]:
                routes.add((path["path"], path["pathType"], path["backend"]["service"]["name"]))
    assert routes == {
        ("/socket.io/", "Prefix", "qhd-rasa"),
        ("/webhooks/rest/webhook", "Exact", "qhd-rasa"),
        ("/", "Prefix", "qhd-web"),
    }
    chat = by_kind(rendered, "Ingress")["qhd-chat"]["metadata"]["annotations"]
    assert chat["nginx.ingress.kubernetes.io/affinity"] == "cookie"  # long-polling stays on its pod
    assert int(chat["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600  # idle websockets stay open


def test_rasa_is_ready_only_once_its_model_is_loaded_and_rolls_without_losing_capacity(rendered) -> None:
    rasa = by_kind(rendered, "Deployment")["qhd-rasa"]
    container = rasa["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "startupProbe"):
        assert container[probe]["exec"]["command"] == ["python", "-m", "bot.production.healthcheck", "rasa"]
    assert rasa["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert by_kind(rendered, "PodDisruptionBudget")["qhd-rasa"]["spec"]["minAvailable"] >= 1
    hpa = by_kind(rendered, "HorizontalPodAutoscaler")["qhd-rasa"]["spec"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu" and hpa["minReplicas"] >= 2


def test_every_container_is_non_root_with_requests_and_limits(rendered: list[dict]) -> None:
    for name, spec in pod_specs(rendered).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        for container in spec["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"])
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
    rasa = pod_specs(rendered)["qhd-rasa"]["containers"][0]["resources"]
    assert rasa["requests"]["memory"] == "1Gi"  # measured RSS ~860 MiB plus headroom


def test_no_secret_value_is_written_in_the_manifests(rendered: list[dict]) -> None:
    secret = by_kind(rendered, "Secret")["qhd-secrets"]
    assert all("REPLACE_ME" in value for value in secret["stringData"].values())
    config = by_kind(rendered, "ConfigMap")["qhd-config"]["data"]
    assert not [k for k in config if any(word in k for word in ("TOKEN", "SECRET", "PASSWORD"))]
    assert not [k for k in config if k in {"DATABASE_URL", "TRACKER_DB_URL"}]  # they carry passwords
    for spec in pod_specs(rendered).values():
        for container in spec["containers"]:
            for env in container.get("env", []):
                assert not any(word in env["name"] for word in ("TOKEN", "SECRET", "PASSWORD"))
