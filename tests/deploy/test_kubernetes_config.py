"""deploy/kubernetes: the settings each service is given, its Secrets, the model registry and the components.

Each service's environment is read as Kubernetes builds it and parsed by the service's own settings class,
so a missing or misspelt variable fails here, not at start-up in the cluster. The vLLM servers must be
vllm/registry.yaml's entries exactly as the launcher runs them; Secrets come only from the template in
deploy/kubernetes/secrets; and the optional components (external PostgreSQL, backups) keep every promise
the overlays make.
"""

import shutil
from urllib.parse import urlsplit

from model_registry.launch import docker_argv, gpu_shares
from model_registry.registry import load_registry, speech_deployment
from orchestrator.deployments import Deployments
from tests.deploy import test_kubernetes_network, test_kubernetes_render
from tests.deploy.kubernetes_render import (
    DUMMY_SECRETS,
    K8S,
    LONG_RUNNING,
    NAMESPACE,
    REGISTRY,
    SETTINGS,
    configmap_files,
    container_ports,
    containers,
    is_vllm,
    kustomize,
    matches,
    objects,
    parse,
    pod_labels,
    pod_template,
    render,
    secret_refs,
    served_models,
    service_target,
    settings_of,
    validate_strictly,
    with_components,
    workloads,
)
from tests.deploy.network_policy_model import INTERNET, PRIVATE, Network, expected_paths

# ------------------------------------------------------------------------------ settings and scaling


def test_each_service_gets_every_setting_it_needs(docs, monkeypatch, tmp_path):
    seen = set()
    for workload in workloads(docs):
        for container in containers(workload):
            if container["name"] not in SETTINGS:
                continue
            seen.add(container["name"])
            cls = SETTINGS[container["name"]]
            required = {name.upper() for name, field in cls.model_fields.items() if field.is_required()}
            names = {item["name"] for item in container.get("env", [])}
            assert required <= names, f"{container['name']} lacks {required - names}"
            settings, env = settings_of(container, monkeypatch, configmap_files(docs, workload, container, tmp_path))
            if container["name"] != "migrate":
                assert settings.host == "0.0.0.0", container["name"]  # reachable through its Service
    assert seen == {"gateway", "orchestrator", "migrate", "media-service"} | (
        {"lite-models"} if "lite-models" in objects(docs, "Deployment") else set())


def test_gateway_requires_api_keys_from_the_secret(docs, monkeypatch):
    gateway = objects(docs, "Deployment")["gateway"]
    container = containers(gateway)[0]
    settings, _ = settings_of(container, monkeypatch)
    assert settings.host == "0.0.0.0" and settings.allow_unauthenticated is False and settings.api_keys is None
    volumes = {v["name"]: v for v in pod_template(gateway)["spec"]["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    folder, _, file = settings.api_keys_file.rpartition("/")
    secret = mounts[folder]["secret"]
    assert secret["secretName"] == "video-analysis-api-keys"
    assert {"key": "api-keys", "path": file} in secret["items"]
    assert settings.orchestrator_url and settings.media_service_url
    for url, target in ((settings.orchestrator_url, "orchestrator"), (settings.media_service_url, "media-service")):
        workload, _ = service_target(docs, url)
        assert workload["metadata"]["name"] == target


def test_orchestrator_reaches_database_media_and_every_model(overlay, docs, monkeypatch, tmp_path):
    for kind, name, container_name in (("Deployment", "orchestrator", "orchestrator"),
                                       ("Job", "orchestrator-migrate", "migrate")):
        workload = objects(docs, kind)[name]
        container = next(c for c in containers(workload) if c["name"] == container_name)
        names = [item["name"] for item in container["env"]]
        # $(POSTGRES_PASSWORD) is only expanded when the variable comes first.
        assert names.index("POSTGRES_PASSWORD") < names.index("DATABASE_URL")
        settings, _ = settings_of(container, monkeypatch, configmap_files(docs, workload, container, tmp_path / name))
        url = urlsplit(settings.database_url)
        assert (url.scheme, url.username, url.password, url.path) == (
            "postgresql", "videoanalysis", DUMMY_SECRETS[("video-analysis-postgres", "password")], "/videoanalysis")
        database, port = service_target(docs, settings.database_url)
        assert database["metadata"]["name"] == "postgres"
        assert container_ports(database)[port] == 5432
    media, _ = service_target(docs, settings_of(
        containers(objects(docs, "Deployment")["orchestrator"])[0], monkeypatch)[0].media_service_url)
    assert media["metadata"]["name"] == "media-service"

    orchestrator = objects(docs, "Deployment")["orchestrator"]
    container = containers(orchestrator)[0]
    settings, _ = settings_of(container, monkeypatch, configmap_files(docs, orchestrator, container, tmp_path / "o"))
    deployments = Deployments.from_settings(settings)
    assert {role: set(tiers) for role, tiers in deployments.items()} == {"vision": {"int4", "int8", "fp16"},
                                                                          "text": {"int4", "int8", "fp16"}} \
        if overlay == "cpu" else {"vision": {"int4"}, "text": {"int4"}}
    for role, tiers in deployments.items():
        for tier, endpoint in tiers.items():
            server, port = service_target(docs, endpoint.base_url)
            served = served_models(server)
            assert endpoint.model in served, f"{role}/{tier}: {endpoint.model} is not served by {served}"
            if overlay == "gpu":
                assert endpoint.api_key == DUMMY_SECRETS[("video-analysis-models", "vllm-api-key")]


def test_gpu_orchestrator_transcribes_with_the_registrys_whisper(monkeypatch, tmp_path):
    docs = render("gpu")
    orchestrator = objects(docs, "Deployment")["orchestrator"]
    container = containers(orchestrator)[0]
    settings, _ = settings_of(container, monkeypatch, configmap_files(docs, orchestrator, container, tmp_path))
    speech = settings.speech_to_text
    assert speech is not None, "the gpu overlay's orchestrator has no SPEECH_TO_TEXT"
    registry = load_registry(REGISTRY)
    entry = registry.entry("speech-fp16")
    key = DUMMY_SECRETS[("video-analysis-models", "vllm-api-key")]
    want = speech_deployment(registry, None, None, {entry.name: f"http://vllm-{entry.name}:8000/v1"}, api_key=key)
    # The key is the vLLM servers' own, expanded from VLLM_API_KEY.
    assert {"base_url": speech.base_url, "model": speech.model, "api_key": speech.api_key} == want
    server, port = service_target(docs, speech.base_url)
    assert server["metadata"]["name"] == f"vllm-{entry.name}" and container_ports(server)[port] == 8000
    assert served_models(server) == {speech.model}


def test_migration_job_runs_the_orchestrator_migrations(docs):
    job = objects(docs, "Job")["orchestrator-migrate"]
    orchestrator = containers(objects(docs, "Deployment")["orchestrator"])[0]
    migrate = containers(job)[0]
    assert migrate["command"] == ["python", "-m", "orchestrator.migrate"]
    assert migrate["image"] == orchestrator["image"]
    database = ("POSTGRES_PASSWORD", "DATABASE_URL")
    assert ([e for e in migrate["env"] if e["name"] in database]
            == [e for e in orchestrator["env"] if e["name"] in database])
    assert pod_template(job)["spec"]["restartPolicy"] in ("OnFailure", "Never")


def test_pdbs_and_hpas_for_gateway_and_orchestrator(docs):
    deployments = objects(docs, "Deployment")
    pdbs, hpas = objects(docs, "PodDisruptionBudget"), objects(docs, "HorizontalPodAutoscaler")
    for name in ("gateway", "orchestrator"):
        assert matches(pdbs[name]["spec"]["selector"], pod_labels(deployments[name]))
        assert pdbs[name]["spec"]["minAvailable"] >= 1
        target = hpas[name]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        # A PDB of minAvailable 1 lets a node drain only with two or more replicas.
        assert hpas[name]["spec"]["minReplicas"] >= 2 > pdbs[name]["spec"]["minAvailable"]
        assert "replicas" not in deployments[name]["spec"]  # the HPA owns the count; apply must not reset it
    for pdb in pdbs.values():
        assert any(matches(pdb["spec"]["selector"], pod_labels(w)) for w in workloads(docs, LONG_RUNNING))


# ------------------------------------------------------------------------------ the model registry


def test_registry_configmap_is_vllm_registry_yaml(overlay, docs):
    maps = objects(docs, "ConfigMap")
    if overlay == "cpu":
        assert not maps
        return
    source = REGISTRY.read_text()
    assert (K8S / "overlays" / "gpu" / "registry.yaml").read_text() == source, (
        "deploy/kubernetes/overlays/gpu/registry.yaml differs from vllm/registry.yaml: "
        "cp vllm/registry.yaml deploy/kubernetes/overlays/gpu/registry.yaml")
    (registry_map,) = [m for name, m in maps.items() if name.startswith("model-registry-")]
    assert registry_map["data"] == {"registry.yaml": source}


def test_vllm_servers_are_the_registry_entries_as_the_launcher_runs_them(overlay, docs):
    registry = load_registry(REGISTRY)
    deployed = registry.deployed()
    shares = gpu_shares(registry, deployed)
    servers = {name: d for name, d in objects(docs, "Deployment").items()
               if any(is_vllm(c["image"]) for c in containers(d))}
    if overlay == "cpu":
        assert not servers
        return
    assert set(servers) == {f"vllm-{entry.name}" for entry in deployed}
    for entry in deployed:
        container = containers(servers[f"vllm-{entry.name}"])[0]
        assert container["image"] == registry.image_of(entry)
        argv = docker_argv(registry, entry, port=8000, share=shares[entry.name], with_token=True,
                           with_api_key=True, hf_cache="/unused")
        assert container["args"] == argv[argv.index(registry.image_of(entry)) + 1:]
        assert "command" not in container  # the image's own entrypoint, the OpenAI server
        assert container_ports(servers[f"vllm-{entry.name}"])["http"] == 8000


# ------------------------------------------------------------------------------ secrets


def test_secrets_come_from_the_template_and_never_from_the_overlays(overlay, docs, tmp_path):
    assert not objects(docs, "Secret"), "an overlay must not carry a Secret (values would be in git)"
    template = K8S / "secrets"
    examples = sorted(template.glob("*.example"))
    for example in examples:
        text = example.read_text()
        assert all(not line.strip() or line.startswith("#") for line in text.splitlines()), \
            f"{example.name} must hold no value, only comments"
    ignored = (template / ".gitignore").read_text().split()
    assert {f"/{example.stem}" for example in examples} <= set(ignored)
    folder = tmp_path / "secrets"
    shutil.copytree(template, folder)
    for example in examples:
        shutil.copy(example, folder / example.stem)
    generated = parse(kustomize(folder))
    keys = {(doc["metadata"]["name"], key) for doc in generated for key in doc.get("data", {})}
    assert {doc["metadata"].get("namespace") for doc in generated} == {NAMESPACE}
    assert secret_refs(docs) <= keys


# ------------------------------------------------------------------------------ optional components


def test_external_postgres_component(tmp_path):
    text = with_components(tmp_path, "cpu", "external-postgres")
    validate_strictly(text, tmp_path)
    docs = parse(text)
    assert "postgres" not in objects(docs, "StatefulSet") and "postgres" not in objects(docs, "Service")
    assert "postgres" not in objects(docs, "NetworkPolicy")
    for workload, name in ((objects(docs, "Deployment")["orchestrator"], "orchestrator"),
                           (objects(docs, "Job")["orchestrator-migrate"], "migrate")):
        container = next(c for c in containers(workload) if c["name"] == name)
        env = {item["name"]: item for item in container["env"]}
        assert "POSTGRES_PASSWORD" not in env
        assert env["DATABASE_URL"] == {"name": "DATABASE_URL", "valueFrom": {
            "secretKeyRef": {"name": "video-analysis-database", "key": "url"}}}
    network = Network(docs)
    for name in network.pods:
        assert network.to_address(name, "192.0.2.10", 5432) == (name in ("orchestrator", "orchestrator-migrate"))


def test_postgres_backup_component(tmp_path):
    text = with_components(tmp_path, "gpu", "postgres-backup")
    validate_strictly(text, tmp_path)
    docs = parse(text)
    (backup,) = objects(docs, "CronJob").values()
    assert "pg_dump" in containers(backup)[0]["command"][-1]
    # The overlay-wide checks hold for the backup CronJob too. They are reached through their modules, as
    # importing the functions themselves would make pytest collect them a second time here.
    for check in (test_kubernetes_render.test_resources_on_every_container,
                  test_kubernetes_render.test_images_are_pinned, test_kubernetes_render.test_pods_run_unprivileged,
                  test_kubernetes_network.test_only_the_gateway_is_reachable_from_outside):
        check(docs)
    assert secret_refs(docs) == secret_refs(render("gpu"))  # no Secret beyond those of the template
    network = Network(docs)
    assert {path for path in network.every_pod_path() if network.pod_to_pod(*path)} == expected_paths(docs) | {
        ("postgres-backup", "postgres", 5432)}
    assert not any(network.to_address("postgres-backup", address, 443) for address in (*INTERNET, *PRIVATE))
