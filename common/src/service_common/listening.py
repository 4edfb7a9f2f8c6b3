"""The TCP addresses this process listens on, read from its own sockets.

A service's settings need not name the port it serves: a launcher may pass uvicorn `--port`
while the environment's PORT says something else (honcho sets PORT for every process it starts).
What the listening sockets say is the truth, whoever bound them.
"""

import asyncio
import contextlib
import os
import socket
import stat
from pathlib import Path

# Where a process finds its own file descriptors: Linux, then the BSDs and macOS.
FD_DIRS = (Path("/proc/self/fd"), Path("/dev/fd"))


def _open_fds() -> list[int]:
    for folder in FD_DIRS:
        with contextlib.suppress(OSError):
            return [int(name) for name in os.listdir(folder) if name.isdigit()]
    return []


def _listening_address(fd: int) -> tuple[str, int] | None:
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return None
        copy = os.dup(fd)
    except OSError:
        return None  # closed meanwhile (the listing itself had an fd open)
    with socket.socket(fileno=copy) as sock:
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
            return None
        if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            return None
        host, port = sock.getsockname()[:2]
        return host, port


def listening_addresses() -> list[tuple[str, int]]:
    """(host, port) of every TCP socket this process listens on."""
    found = {address for fd in _open_fds() if (address := _listening_address(fd)) is not None}
    return sorted(found)


async def bound_addresses(wait_s: float = 10.0, interval_s: float = 0.05) -> list[tuple[str, int]]:
    """The listening addresses once there are any. Called from an app's lifespan, which the server
    runs before it binds, it waits for the server to bind; [] if nothing listens within `wait_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not (found := listening_addresses()) and loop.time() < deadline:
        await asyncio.sleep(interval_s)
    return found


def describe(addresses: list[tuple[str, int]]) -> str:
    return ", ".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in addresses)
