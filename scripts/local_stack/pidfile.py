"""The runner's pid file: how `make stop` finds a stack started in the background."""

import os
import signal
import time
from pathlib import Path

_PROC = Path("/proc")
RUNNER_MODULE = "scripts.local_stack"


def runner_pid(path: Path) -> int | None:
    """The pid in `path` if that process is alive and is a runner (not a reused pid)."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _is_live_runner(pid) else None


def _is_live_runner(pid: int) -> bool:
    process = _PROC / str(pid)
    if not _PROC.is_dir():  # no /proc: all that can be told is whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        state = (process / "stat").read_text().rsplit(")", 1)[1].split()[0]
        command = (process / "cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    return state != "Z" and RUNNER_MODULE.encode() in command


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(f"{os.getpid()}\n")
    temporary.replace(path)


def remove_if_ours(path: Path) -> None:
    try:
        if int(path.read_text().split()[0]) == os.getpid():
            path.unlink()
    except (OSError, ValueError, IndexError):
        pass


def stop(path: Path, timeout_s: float) -> int:
    """SIGTERM the runner named in `path` and wait until it has stopped every service and exited."""
    pid = runner_pid(path)
    if pid is None:
        print(f"no stack is running ({path} names no live runner)")
        return 0
    print(f"stopping the stack of runner pid {pid}")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _is_live_runner(pid):
            print("stopped")
            return 0
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    print(f"the runner did not stop within {timeout_s:g} s: killed it; its guardian stops what is left")
    return 1
