"""The services of a Procfile: `name: command`, one per line, `#` starts a comment.

A command is one simple command as sh reads it: optional `NAME=value` assignments, then the program and
its arguments. /bin/sh expands it (so `$VAR` and `${VAR:-default}` work as in a shell), and the program
is then started directly, with no shell in between, so that signals reach the service itself.
"""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_-]+)\s*:\s*(?P<command>.+)$")
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$", re.DOTALL)
_PORT_ARGUMENT = re.compile(r"--port(?:=|\s+)(\S+)")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


class ProcfileError(Exception):
    pass


@dataclass(frozen=True)
class Service:
    name: str
    command: str  # as written in the Procfile
    argv: list[str]
    env: dict[str, str]  # the command's own NAME=value assignments
    host: str
    port: int | None
    port_variables: list[str]  # the variables the Procfile takes the port from


def read_procfile(path: Path, workdir: Path, environ: dict[str, str]) -> list[Service]:
    services: list[Service] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ProcfileError(f"{path}:{number}: expected `name: command`, got {raw!r}")
        name, command = match["name"], match["command"]
        if any(service.name == name for service in services):
            raise ProcfileError(f"{path}:{number}: service {name!r} is named twice")
        services.append(_service(name, command, _expand(name, command, workdir, environ)))
    if not services:
        raise ProcfileError(f"{path}: no services")
    return services


def _expand(name: str, command: str, workdir: Path, environ: dict[str, str]) -> list[str]:
    """The command's words after sh's expansion, in the environment the service will get."""
    result = subprocess.run(["/bin/sh", "-c", 'exec printf "%s\\0" ' + command], cwd=workdir, env=environ,
                            capture_output=True, timeout=10)
    if result.returncode != 0:
        raise ProcfileError(f"the command of {name} does not read as a shell command: "
                            f"{result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode().split("\0")[:-1]


def _service(name: str, command: str, words: list[str]) -> Service:
    env: dict[str, str] = {}
    while words and (assignment := _ASSIGNMENT.match(words[0])):
        env[assignment["name"]] = assignment["value"]
        words = words[1:]
    if not words:
        raise ProcfileError(f"service {name} has no program to run")
    port_text = _option(words, "--port")
    try:
        port = int(port_text) if port_text is not None else None
    except ValueError:
        raise ProcfileError(f"service {name}: --port {port_text!r} is not a port number") from None
    raw_port = _PORT_ARGUMENT.search(command)
    return Service(name=name, command=command, argv=words, env=env,
                   host=_option(words, "--host") or "127.0.0.1", port=port,
                   port_variables=_VARIABLE.findall(raw_port.group(1)) if raw_port else [])


def _option(words: list[str], option: str) -> str | None:
    for index, word in enumerate(words):
        if word == option and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(option + "="):
            return word.split("=", 1)[1]
    return None
