"""Support for the deploy/kubernetes tests: render the kustomize overlays and read the rendered objects.

Rendering goes through `kubectl kustomize` (the tool that will apply them), cached per overlay because
every test module reads the same two renders. The lookup helpers follow the Kubernetes object shapes
(pod templates inside Deployments, Jobs and CronJobs; label selectors), and the settings helpers build
each service's own settings class from a container's environment, so the tests check what the service
would actually see rather than the YAML text.
"""

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from gateway.config import GatewaySettings
from lite_models.config import LiteSettings
from media_service.config import MediaSettings
from model_registry import load_registry
from orchestrator.config import OrchestratorSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("cpu", "gpu")
REGISTRY = ROOT / "vllm" / "registry.yaml"
VALIDATE = ROOT / ".venv" / "bin" / "kubernetes-validate"
# The release kubectl on the project machines speaks, and the newest schema kubernetes-validate carries.
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")
NAMESPACE = "video-analysis"
# Every image a vLLM server runs: the registry's (upstream vllm/vllm-openai, and its audio build).
VLLM_IMAGES = frozenset(load_registry(REGISTRY).images.values())

# Container name -> the settings class of the service it runs.
SETTINGS = {"gateway": GatewaySettings, "orchestrator": OrchestratorSettings, "migrate": OrchestratorSettings,
            "media-service": MediaSettings, "lite-models": LiteSettings}
OUR_IMAGES = {"gateway", "orchestrator", "media-service", "lite-models"}
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")
WORKLOADS = (*LONG_RUNNING, "Job", "CronJob")

# Stand-ins for the values of the Secrets made from deploy/kubernetes/secrets, so that $(VAR) references
# to them expand and the settings classes see a complete environment.
DUMMY_SECRETS = {("video-analysis-postgres", "password"): "0123456789abcdef",
                 ("video-analysis-models", "vllm-api-key"): "vllm-key-0123456789",
                 ("video-analysis-models", "hf-token"): "hf_dummy"}


# ------------------------------------------------------------------------------------------ rendering


def kubectl() -> str:
    found = shutil.which("kubectl") or ("/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None)
    assert found, "kubectl is needed to render the manifests (kubectl kustomize); install kubectl"
    return found


def kustomize(path: Path) -> str:
    run = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


@functools.cache
def render_text(overlay: str) -> str:
    return kustomize(K8S / "overlays" / overlay)


def parse(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render(overlay: str) -> list[dict]:
    return parse(render_text(overlay))


def with_components(tmp_path: Path, overlay: str, *components: str) -> str:
    """An overlay built on one of ours with the named components of deploy/kubernetes/components, rendered."""
    folder = tmp_path / "-".join((overlay, *components))
    folder.mkdir()
    (folder / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(K8S / "overlays" / overlay, folder)],
        "components": [os.path.relpath(K8S / "components" / name, folder) for name in components]}))
    return kustomize(folder)


def validate_strictly(text: str, tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(text)
    run = subprocess.run([str(VALIDATE), "--strict", "--quiet", "-k", KUBERNETES_VERSIONS[0], str(rendered)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


# ------------------------------------------------------------------------------------------ lookups


def is_vllm(image: str) -> bool:
    return image in VLLM_IMAGES


def objects(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_template(workload: dict) -> dict:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]


def workloads(docs: list[dict], kinds=WORKLOADS) -> list[dict]:
    return [doc for doc in docs if doc["kind"] in kinds]


def containers(workload: dict, init: bool = True) -> list[dict]:
    spec = pod_template(workload)["spec"]
    return [*(spec.get("initContainers", []) if init else []), *spec["containers"]]


def matches(selector: dict | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against a label set."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[operator]
        if not ok:
            return False
    return True


def pod_labels(workload: dict) -> dict[str, str]:
    return pod_template(workload)["metadata"]["labels"]


def container_ports(workload: dict) -> dict[str, int]:
    return {port.get("name", str(port["containerPort"])): port["containerPort"]
            for container in containers(workload) for port in container.get("ports", [])}


def service_target(docs: list[dict], url: str) -> tuple[dict, str]:
    """The workload behind a URL that names a Service of the namespace, and the container port name."""
    parts = urlsplit(url)
    host = parts.hostname.removesuffix(f".{NAMESPACE}.svc.cluster.local").removesuffix(f".{NAMESPACE}")
    service = objects(docs, "Service").get(host)
    assert service is not None, f"{url}: no Service {host}"
    port = next((p for p in service["spec"]["ports"] if p["port"] == parts.port), None)
    assert port is not None, f"{url}: Service {host} has no port {parts.port}"
    workload = next(w for w in workloads(docs, LONG_RUNNING)
                    if matches({"matchLabels": service["spec"]["selector"]}, pod_labels(w)))
    return workload, port["targetPort"]


def secret_refs(docs: list[dict]) -> set[tuple[str, str]]:
    """Every (Secret, key) the workloads read, through env or a mounted volume."""
    refs = set()
    for workload in workloads(docs):
        for container in containers(workload):
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.add((ref["name"], ref["key"]))
        for volume in pod_template(workload)["spec"].get("volumes", []):
            if "secret" in volume:
                refs |= {(volume["secret"]["secretName"], item["key"]) for item in volume["secret"]["items"]}
    return refs


def served_models(workload: dict) -> set[str]:
    """The model names a model server answers to: vLLM's --served-model-name, or lite-models' settings."""
    container = containers(workload)[0]
    args = container.get("args", [])
    if "--served-model-name" in args:
        return {args[args.index("--served-model-name") + 1]}
    if container["name"] == "lite-models":
        env, fields = env_of(container), LiteSettings.model_fields
        return {env.get(name.upper()) or fields[name].default for name in ("vision_model_name", "text_model_name")}
    return set()


# ------------------------------------------------------------------------------------------ settings


def env_of(container: dict, secrets: dict[tuple[str, str], str] | None = None) -> dict[str, str | None]:
    """The container's environment as Kubernetes builds it: $(VAR) refers to variables defined above it;
    a secret reference reads `secrets` ((name, key) -> value), else None."""
    env: dict[str, str | None] = {}
    for item in container.get("env", []):
        if "value" in item:
            value = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                           lambda m: env[m[1]] if env.get(m[1]) is not None else m[0], item["value"])
        else:
            ref = item["valueFrom"].get("secretKeyRef")
            value = (secrets or {}).get((ref["name"], ref["key"])) if ref else None
        env[item["name"]] = value
    return env


def settings_of(container: dict, monkeypatch, files: dict[str, Path] | None = None):
    """The service's own settings class, built from the container's environment (as the pod would)."""
    cls = SETTINGS[container["name"]]
    env = env_of(container, DUMMY_SECRETS)
    for field in cls.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    for name, value in env.items():
        if value is not None:
            for mount, local in (files or {}).items():
                value = value.replace(mount, str(local))
            monkeypatch.setenv(name, value)
    return cls(), env


def configmap_files(docs: list[dict], workload: dict, container: dict, tmp_path: Path) -> dict[str, Path]:
    """ConfigMaps mounted in the container, written to tmp_path: mount path -> local folder."""
    volumes = {v["name"]: v for v in pod_template(workload)["spec"].get("volumes", [])}
    maps = objects(docs, "ConfigMap")
    found = {}
    for mount in container.get("volumeMounts", []):
        source = volumes[mount["name"]].get("configMap")
        if source:
            folder = tmp_path / mount["name"]
            folder.mkdir(parents=True)
            for key, text in maps[source["name"]]["data"].items():
                (folder / key).write_text(text)
            found[mount["mountPath"]] = folder
    return found
