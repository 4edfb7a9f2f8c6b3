"""deploy/kubernetes: each overlay renders, validates against the Kubernetes schema, and its pods are sound.

Static checks only, no cluster: `kubectl kustomize` renders each overlay, kubernetes-validate checks the
result against the API schema (strict: unknown fields are errors), and the rest reads the rendered pods:
probes, resources, GPUs, pinned images and pod security. What may talk to what is in
test_kubernetes_network.py; the settings, Secrets and the model registry in test_kubernetes_config.py.
"""

import subprocess

import pytest

from tests.deploy.kubernetes_render import (
    KUBERNETES_VERSIONS,
    LONG_RUNNING,
    NAMESPACE,
    OUR_IMAGES,
    VALIDATE,
    container_ports,
    containers,
    is_vllm,
    objects,
    pod_template,
    render,
    render_text,
    workloads,
)

# ------------------------------------------------------------------------------------------ schema


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_overlay_validates_strictly(overlay, version, tmp_path):
    assert VALIDATE.exists(), "kubernetes-validate comes with the dev dependencies; run make setup"
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(render_text(overlay))
    run = subprocess.run([str(VALIDATE), "--strict", "-k", version, str(rendered)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # Each object was checked against a schema (none skipped as of an unknown kind).
    assert (run.stdout + run.stderr).count(" passed for resource ") == len(render(overlay))


def test_everything_lives_in_one_restricted_namespace(docs):
    namespaces = objects(docs, "Namespace")
    assert list(namespaces) == [NAMESPACE]
    assert namespaces[NAMESPACE]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {doc["metadata"].get("namespace") for doc in docs if doc["kind"] != "Namespace"} == {NAMESPACE}


def test_each_overlay_has_its_own_model_servers(overlay, docs):
    deployments = objects(docs, "Deployment")
    assert {"gateway", "orchestrator", "media-service"} <= set(deployments)
    assert "postgres" in objects(docs, "StatefulSet")
    assert "orchestrator-migrate" in objects(docs, "Job")
    vllm = {name for name, d in deployments.items() if any(is_vllm(c["image"]) for c in containers(d))}
    if overlay == "cpu":
        assert "lite-models" in deployments and not vllm
    else:
        assert "lite-models" not in deployments and vllm


# ------------------------------------------------------------------------------ pods and containers


def test_probes_on_every_long_running_container(docs):
    for workload in workloads(docs, LONG_RUNNING):
        ports = container_ports(workload)
        for container in containers(workload, init=False):
            where = f"{workload['metadata']['name']}/{container['name']}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{where} has no {probe}"
                http = container[probe].get("httpGet")
                if http is None:
                    assert "exec" in container[probe], f"{where}: {probe} is neither HTTP nor a command"
                    continue
                assert http["port"] in ports or http["port"] in ports.values(), f"{where}: {probe} port"
                # Every service's health is GET /health; the gateway's /health also asks the orchestrator
                # and the database, so only its readiness uses it (liveness and start-up use GET /).
                if container["name"] == "gateway" and probe != "readinessProbe":
                    assert http["path"] == "/", where
                else:
                    assert http["path"] == "/health", f"{where}: {probe} on {http['path']}"
            if container["image"].startswith("postgres:"):
                assert "pg_isready" in container["readinessProbe"]["exec"]["command"]


def test_vllm_startup_allows_ten_minutes_of_model_loading(docs):
    for workload in workloads(docs, LONG_RUNNING):
        for container in containers(workload):
            if is_vllm(container["image"]):
                probe = container["startupProbe"]
                allowed = probe.get("initialDelaySeconds", 0) + probe["periodSeconds"] * probe["failureThreshold"]
                assert allowed >= 600, f"{workload['metadata']['name']}: {allowed} s"


def test_resources_on_every_container(docs):
    for workload in workloads(docs):
        for container in containers(workload):
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(part, {})), \
                    f"{workload['metadata']['name']}/{container['name']}: {part}"


def test_gpus_are_requested_by_vllm_pods_only(overlay, docs):
    with_gpu = set()
    for workload in workloads(docs):
        for container in containers(workload):
            resources = container["resources"]
            asked = {part: resources[part].get("nvidia.com/gpu") for part in ("requests", "limits")}
            if is_vllm(container["image"]):
                assert asked == {"requests": 1, "limits": 1}, workload["metadata"]["name"]
                with_gpu.add(workload["metadata"]["name"])
            else:
                assert asked == {"requests": None, "limits": None}, workload["metadata"]["name"]
    assert bool(with_gpu) == (overlay == "gpu")


def test_images_are_pinned(docs):
    for workload in workloads(docs):
        for container in containers(workload):
            image = container["image"]
            name, _, tag = image.rpartition(":") if "@" not in image else (image, "", "digest")
            assert name and tag and "/" not in tag, f"{image} has no tag"
            assert tag != "latest", image
            service = name.removeprefix("video-analysis/")
            if service in OUR_IMAGES:
                assert image == f"video-analysis/{service}:0.1.0"


def test_pods_run_unprivileged(docs):
    for workload in workloads(docs):
        pod = pod_template(workload)["spec"]
        where = workload["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] != 0, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod.get("automountServiceAccountToken") is False, where
        assert not any(pod.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")), where
        assert not any("hostPath" in volume for volume in pod.get("volumes", [])), where
        for container in containers(workload):
            security = container["securityContext"]
            assert security.get("runAsUser", 1) != 0 and security.get("runAsNonRoot", True), where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert not security.get("privileged"), where
            assert security["readOnlyRootFilesystem"] is True, where
            # With a read-only root, /tmp must be a volume of its own.
            assert "/tmp" in {mount["mountPath"] for mount in container.get("volumeMounts", [])}, where
        if any(c["image"].startswith("video-analysis/") for c in containers(workload)):
            assert pod["securityContext"]["runAsUser"] == 10001, where


def test_vllm_pods_have_shared_memory_cache_and_token(docs):
    for workload in workloads(docs, LONG_RUNNING):
        for container in containers(workload):
            if not is_vllm(container["image"]):
                continue
            pod = pod_template(workload)["spec"]
            volumes = {volume["name"]: volume for volume in pod["volumes"]}
            mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}
            assert mounts["/dev/shm"]["emptyDir"]["medium"] == "Memory"
            env = {item["name"]: item for item in container["env"]}
            assert "persistentVolumeClaim" in mounts[env["HF_HOME"]["value"]]
            token = env["HF_TOKEN"]["valueFrom"]["secretKeyRef"]
            assert (token["name"], token.get("optional", False)) == ("video-analysis-models", False)
            assert pod.get("enableServiceLinks") is False  # else VLLM_* service variables reach vLLM
