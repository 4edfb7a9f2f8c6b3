"""Deployment checks (images, compose, a real container run). Shared here: what the tests know about the
services' images, their Dockerfiles, settings classes and ports."""

import re
import shlex
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = ROOT / "deploy" / "docker"
COMPOSE_FILE = ROOT / "deploy" / "compose" / "compose.yaml"
BIN = Path(sys.executable).parent  # the dev tools (hadolint, docker-compose) live in the project venv


@dataclass(frozen=True)
class Service:
    name: str  # the uv package, the compose service and the Dockerfile's name
    module: str  # the import name
    settings: str  # "module:Class" of its pydantic settings
    port: int

    @property
    def dockerfile(self) -> Path:
        return DOCKER_DIR / f"{self.name}.Dockerfile"


SERVICES = [
    Service("gateway", "gateway", "gateway.config:GatewaySettings", 8000),
    Service("orchestrator", "orchestrator", "orchestrator.config:OrchestratorSettings", 8001),
    Service("media-service", "media_service", "media_service.config:MediaSettings", 8002),
    Service("lite-models", "lite_models", "lite_models.config:LiteSettings", 8003),
]
BY_NAME = {service.name: service for service in SERVICES}


def settings_class(service: Service) -> type:
    module, _, cls = service.settings.partition(":")
    return getattr(__import__(module, fromlist=[cls]), cls)


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = dockerfile.read_text(encoding="utf-8")
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        logical.append(current.strip())
        current = ""
    result = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, each list starting with its FROM."""
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    """ENV key=value pairs of a stage (the only ENV form the Dockerfiles use)."""
    env: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            for item in shlex.split(rest):
                key, sep, value = item.partition("=")
                assert sep, f"ENV {rest!r}: use the key=value form"
                env[key] = value
    return env


def workspace_members() -> dict[str, str]:
    """uv package name -> its folder, for every workspace member."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members = {}
    for folder in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        members[project["name"]] = folder
    return members


def workspace_closure(package: str) -> set[str]:
    """The workspace members `package` needs, itself included (folders)."""
    members = workspace_members()
    needed, todo = set(), [package]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        project = tomllib.loads((ROOT / members[name] / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        for requirement in project.get("dependencies", []):
            dep = re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0]
            if dep in members:
                todo.append(dep)
    return {members[name] for name in needed}


def makefile_uv_version() -> str:
    match = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert match, "the Makefile pins UV_VERSION"
    return match.group(1)
