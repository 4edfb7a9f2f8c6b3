"""Start the project's services as real processes (uvicorn on loopback) and wait until they answer."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
# What every launcher of the services passes uvicorn: its HTTP protocol with request read deadlines.
HTTP_PROTOCOL = "service_common.slow_clients:HttpProtocol"


def descendants(pid: int) -> list[int]:
    """Processes below `pid`, read from /proc (fetch and decode workers run in process groups of their own)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def run_service(app: str, port: int, env: dict[str, str], health_path: str = "/health", log: Path | None = None,
                cwd: Path = REPO):
    """Run `uvicorn --factory app --http HTTP_PROTOCOL` on 127.0.0.1:port with `env` added; yields
    (base_url, process)."""
    cmd = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1", "--port", str(port),
           "--http", HTTP_PROTOCOL]
    out = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + health_path, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if log:
            out.close()
