"""Before anything starts: is every service's port free, and if not, which process holds it."""

import errno
import os
import socket
from pathlib import Path

from .procfile import Service

_PROC = Path("/proc")


def port_problems(services: list[Service]) -> list[str]:
    """One sentence per port that cannot be used, naming the process that holds it when it can be seen."""
    problems: list[str] = []
    claimed: dict[int, str] = {}
    for service in services:
        if service.port is None:
            continue
        if service.port in claimed:
            problems.append(f"port {service.port} is given to both {claimed[service.port]} and {service.name}")
            continue
        claimed[service.port] = service.name
        error = _bind_error(service.host, service.port)
        if error is None:
            continue
        where = f"port {service.port} ({service.name}, {service.host})"
        hint = f"; set {' or '.join(service.port_variables)} to use another" if service.port_variables else ""
        if error.errno != errno.EADDRINUSE:
            problems.append(f"{where} cannot be bound: {error.strerror}")
            continue
        holders = [f"pid {pid} ({command})" for pid, command in listeners(service.port)]
        held_by = ", ".join(holders) if holders else "a process that cannot be named (another user's?)"
        problems.append(f"{where} is already in use by {held_by}{hint}")
    return problems


def _bind_error(host: str, port: int) -> OSError | None:
    """What binding host:port would fail with, the way uvicorn binds (SO_REUSEADDR)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        return OSError(errno.EADDRNOTAVAIL, f"{host}: {error}")
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return error
    return None


def listeners(port: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process with a TCP socket on local `port` (from /proc on Linux)."""
    inodes = _socket_inodes(port)
    if not inodes:
        return []
    found = []
    for process in _PROC.glob("[0-9]*"):
        try:
            targets = {os.readlink(fd) for fd in (process / "fd").iterdir()}
        except OSError:
            continue
        if targets & inodes:
            found.append((int(process.name), command_line(int(process.name))))
    return sorted(found)


def _socket_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] != "0":
                inodes.add(f"socket:[{fields[9]}]")
    return inodes


def command_line(pid: int) -> str:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    words = raw.replace(b"\0", b" ").decode(errors="replace").split()
    line = " ".join(words) or "?"
    return line if len(line) <= 200 else line[:199] + "…"
