"""Build every service image with podman and run the CPU stack from them, through one whole analysis.

    .venv/bin/python scripts/container_smoke.py              # build (cached layers), run, clean up
    .venv/bin/python scripts/container_smoke.py --no-build   # run the images already built
    .venv/bin/python scripts/container_smoke.py --remove-images   # afterwards, drop the images and build cache

`make deploy-smoke` installs podman, runc and debootstrap when missing and runs this. What it does:

1. the base image: scripts/podman_base_image.sh makes a local stand-in for python:3.11-slim-bookworm
   when it cannot be pulled (a no-op when it, or the real image, is there);
2. builds deploy/docker/<service>.Dockerfile for the four services (docker format, so HEALTHCHECK is
   kept; host networking; the host's CA bundle mounted, so pip and uv trust what this machine trusts);
3. starts a throwaway PostgreSQL from the host's binaries, runs the migration one-shot
   (`python -m orchestrator.migrate`), checks that the gateway image refuses to start without keys on
   0.0.0.0, then runs lite-models, media-service, orchestrator and gateway (with an API key), all with
   `--network host`, each on a free port of 127.0.0.1, and waits for each /health and image HEALTHCHECK;
4. serves a generated video page from 127.0.0.1 and analyses it through the gateway: the task must
   complete with frames, a summary and the subtitles' transcript; frame images and the OpenAI
   passthrough must answer; a request without the key must get 401;
5. removes every container it started, whatever happened, and the images a rebuild superseded (the
   tagged images and builder stages stay: they are the layer cache, so disk use stays bounded).

podman reads scripts/podman/containers.conf (runc, cgroupfs, ulimits this host allows). Prints one JSON
line of timings at the end. Exit status 0 when everything held.
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.http_server import serve_directory  # noqa: E402
from tests.support.postgres import throwaway_postgres  # noqa: E402
from tests.support.processes import free_port  # noqa: E402
from tests.support.videos import DEFAULT_CUES, write_video_site  # noqa: E402

SERVICES = ("gateway", "orchestrator", "media-service", "lite-models")
IMAGE = "localhost/video-analysis/{}:smoke"
BUILDER = "localhost/video-analysis/{}-builder:smoke"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CONTAINERS_CONF = ROOT / "scripts" / "podman" / "containers.conf"


def log(message: str) -> None:
    print(f"[container-smoke {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF))}


def podman(*args: str, check: bool = True, timeout: float = 120, capture: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run(["podman", *args], env=podman_env(), timeout=timeout, text=True,
                         capture_output=capture)
    if check and run.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])} … failed ({run.returncode}): {(run.stderr or '')[-2000:]}")
    return run


def build(service: str, logdir: Path) -> float:
    """The builder stage first, tagged, so that pruning dangling images (after the run) keeps its layers:
    the next build reuses them. Then the image itself."""
    started = time.monotonic()
    logfile = logdir / f"build-{service}.log"
    common = ["podman", "build", "--network", "host", "--format", "docker", "--pull=never", "--layers",
              "--volume", f"{CA_BUNDLE}:{CA_BUNDLE}:ro", "-f", f"deploy/docker/{service}.Dockerfile"]
    with logfile.open("w") as out:
        for args in ([*common, "--target", "builder", "-t", BUILDER.format(service), "."],
                     [*common, "-t", IMAGE.format(service), "."]):
            run = subprocess.run(args, cwd=ROOT, env=podman_env(), stdout=out, stderr=subprocess.STDOUT, timeout=1800)
            if run.returncode != 0:
                tail = logfile.read_text(errors="replace").splitlines()[-40:]
                raise RuntimeError(f"building {service} failed ({run.returncode}):\n" + "\n".join(tail))
    return time.monotonic() - started


class Containers:
    """The containers of one run; every one is removed on exit."""

    def __init__(self, run_id: str):
        self.run_id, self.names = run_id, []

    def name(self, service: str) -> str:
        name = f"va-smoke-{service}-{self.run_id}"
        self.names.append(name)
        return name

    def start(self, service: str, image: str, env: dict[str, str], command: list[str] | None = None) -> str:
        name = self.name(service)
        args = ["run", "--detach", "--name", name, "--network", "host", "--pull=never"]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        podman(*args, image, *(command or []))
        return name

    def running(self, name: str) -> bool:
        run = podman("inspect", "--format", "{{.State.Running}}", name, check=False)
        return run.stdout.strip() == "true"

    def logs(self, name: str, lines: int = 60) -> str:
        run = podman("logs", "--tail", str(lines), name, check=False)
        return (run.stdout or "") + (run.stderr or "")

    def remove_all(self) -> None:
        for name in self.names:
            podman("rm", "--force", "--time", "5", name, check=False, timeout=60)


def wait_healthy(containers: Containers, name: str, url: str, within: float) -> float:
    """Seconds until GET url answers 200 (failing early if the container exits), then the image's own
    HEALTHCHECK must pass too."""
    started = time.monotonic()
    while True:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        if not containers.running(name):
            raise RuntimeError(f"{name} exited before answering {url}:\n{containers.logs(name)}")
        if time.monotonic() - started > within:
            raise RuntimeError(f"{name} did not answer {url} within {within:.0f} s:\n{containers.logs(name)}")
        time.sleep(0.5)
    took = time.monotonic() - started
    check = podman("healthcheck", "run", name, check=False, timeout=60)
    if check.returncode != 0:
        raise RuntimeError(f"{name}: the image's HEALTHCHECK failed ({check.returncode}): {check.stdout}{check.stderr}")
    return took


def expect_refusal_without_keys(containers: Containers, ports: dict[str, int]) -> None:
    """The gateway image's defaults (HOST=0.0.0.0, no keys) must not start: it exits, it never listens."""
    name = containers.name("gateway-nokeys")
    env = {"PORT": str(free_port()), "ORCHESTRATOR_URL": f"http://127.0.0.1:{ports['orchestrator']}"}
    args = ["run", "--name", name, "--network", "host", "--pull=never"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    run = podman(*args, IMAGE.format("gateway"), check=False, timeout=120)
    output = (run.stdout or "") + (run.stderr or "")
    if run.returncode == 0 or "refusing to serve 0.0.0.0 without API keys" not in output:
        raise RuntimeError(f"the gateway started on 0.0.0.0 without keys ({run.returncode}):\n{output[-2000:]}")


def analyse(gateway: str, key: str, site: str) -> dict:
    auth = {"Authorization": f"Bearer {key}"}
    assert requests.post(f"{gateway}/analyze", json={"youtube_url": f"{site}/watch.html"}, timeout=10
                         ).status_code == 401, "a request without the key was not refused"
    health = requests.get(f"{gateway}/health", timeout=10).json()
    assert health["status"] == "healthy", health
    models = requests.get(f"{gateway}/v1/models", headers=auth, timeout=30).json()
    assert {m["id"] for m in models["data"]} >= {"lite-vision", "lite-text"}, models
    response = requests.post(f"{gateway}/analyze", headers=auth, timeout=30,
                             json={"youtube_url": f"{site}/watch.html", "max_frames": 4})
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    deadline = time.monotonic() + 300
    while True:
        result = requests.get(f"{gateway}/tasks/{task_id}", headers=auth, timeout=10).json()
        if result["status"] in ("completed", "failed"):
            break
        assert time.monotonic() < deadline, f"task still {result['status']} after 300 s"
        time.sleep(0.5)
    assert result["status"] == "completed", result.get("error")
    assert result["video_info"]["title"] == "Colour bars demo"
    assert result["summary"] and result["key_points"]
    assert result["frames"] and all(frame["analysis"] for frame in result["frames"])
    for _start, _end, line in DEFAULT_CUES:
        assert line in result["transcript"], result["transcript"]
    image = requests.get(f"{gateway}{result['frames'][0]['image_url']}", headers=auth, timeout=10)
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8", "frame image is not a JPEG"
    return result


def run_stack(containers: Containers, workdir: Path, timings: dict) -> None:
    ports = {service: free_port() for service in SERVICES}
    url = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    key = secrets.token_hex(24)
    with ExitStack() as stack:
        database_url, _ = stack.enter_context(throwaway_postgres())
        started = time.monotonic()
        # The one-shot the compose file runs before the orchestrator.
        migrate = podman("run", "--rm", "--name", containers.name("migrate"), "--network", "host", "--pull=never",
                         "--env", f"DATABASE_URL={database_url}", IMAGE.format("orchestrator"),
                         "python", "-m", "orchestrator.migrate", check=False, timeout=180)
        if migrate.returncode != 0 or "migrations applied" not in migrate.stdout:
            raise RuntimeError(f"migrate failed ({migrate.returncode}): {migrate.stdout}{migrate.stderr}")
        timings["migrate_s"] = round(time.monotonic() - started, 1)
        expect_refusal_without_keys(containers, ports)

        loopback = {"UVICORN_HOST": "127.0.0.1"}  # host networking: keep the internal services off the LAN
        names = {
            "lite-models": containers.start("lite-models", IMAGE.format("lite-models"),
                                            {**loopback, "UVICORN_PORT": str(ports["lite-models"])}),
            "media-service": containers.start("media-service", IMAGE.format("media-service"), {
                **loopback, "UVICORN_PORT": str(ports["media-service"]), "EGRESS_ALLOW_CIDRS": "127.0.0.1/32"}),
            "orchestrator": containers.start("orchestrator", IMAGE.format("orchestrator"), {
                **loopback, "UVICORN_PORT": str(ports["orchestrator"]), "DATABASE_URL": database_url,
                "MEDIA_SERVICE_URL": url["media-service"], "LITE_MODELS_URL": f"{url['lite-models']}/v1",
                "MODEL_BACKEND": "lite"}),
            "gateway": containers.start("gateway", IMAGE.format("gateway"), {
                "HOST": "127.0.0.1", "PORT": str(ports["gateway"]), "API_KEYS": f"smoke:{key}",
                "ORCHESTRATOR_URL": url["orchestrator"], "MEDIA_SERVICE_URL": url["media-service"]}),
        }
        for service in ("lite-models", "media-service", "orchestrator", "gateway"):
            took = wait_healthy(containers, names[service], f"{url[service]}/health", within=180)
            log(f"{service} healthy after {took:.1f} s")
        timings["stack_up_s"] = round(time.monotonic() - started, 1)

        site_root = workdir / "site"
        site_root.mkdir()
        write_video_site(site_root)
        site = stack.enter_context(serve_directory(site_root))
        started = time.monotonic()
        try:
            result = analyse(url["gateway"], key, site)
        except BaseException:
            for name in names.values():
                log(f"--- logs of {name}\n{containers.logs(name)}")
            raise
        timings["analysis_s"] = round(time.monotonic() - started, 1)
        log(f"task completed: {len(result['frames'])} frames, summary {result['summary'][:80]!r}")


def prune_dangling() -> None:
    """Images a rebuild superseded; the tagged images and builder stages (the layer cache) stay."""
    podman("image", "prune", "--force", check=False, timeout=600)


def remove_images() -> None:
    for service in SERVICES:
        podman("rmi", "--force", IMAGE.format(service), BUILDER.format(service), check=False)
    prune_dangling()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true", help="use the images already built")
    parser.add_argument("--remove-images", action="store_true", help="remove the images and build cache afterwards")
    args = parser.parse_args(argv)
    if not shutil.which("podman"):
        log("podman is not installed (make deploy-smoke installs it)")
        return 2
    timings: dict = {}
    total = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="container-smoke-"))
    containers = Containers(f"{os.getpid()}-{secrets.token_hex(3)}")
    try:
        if not args.no_build:
            started = time.monotonic()
            subprocess.run([str(ROOT / "scripts" / "podman_base_image.sh")], env=podman_env(), check=True,
                           timeout=1800)
            timings["base_image_s"] = round(time.monotonic() - started, 1)
            timings["build_s"] = {}
            for service in SERVICES:
                log(f"building {IMAGE.format(service)}")
                timings["build_s"][service] = round(build(service, workdir), 1)
                log(f"built {service} in {timings['build_s'][service]} s")
        run_stack(containers, workdir, timings)
    except Exception as exc:  # any failure is reported the same way, after the clean-up below
        log(f"FAILED: {type(exc).__name__}: {exc}")
        return 1
    finally:
        containers.remove_all()
        leftover = podman("ps", "--all", "--filter", f"name=va-smoke-.*-{containers.run_id}", "--format",
                          "{{.Names}}", check=False).stdout.strip()
        if leftover:
            log(f"containers left behind: {leftover}")
        if args.remove_images:
            remove_images()
        elif not args.no_build:
            prune_dangling()
        shutil.rmtree(workdir, ignore_errors=True)
    timings["total_s"] = round(time.monotonic() - total, 1)
    print(json.dumps({"container_smoke": "ok", **timings}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
