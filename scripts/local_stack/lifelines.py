"""What ties every process of the stack to the runner's life, however the runner ends."""

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

MARK_VARIABLE = "LOCAL_STACK_RUN"  # "<run id>/<service>" in the environment of a service and its children

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PROC = Path("/proc")
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _prctl(option: int, value: int) -> None:
    if _libc is not None and _libc.prctl(option, value, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def die_with_parent(death_signal: int, parent_pid: int) -> None:
    """Have the kernel send `death_signal` when the parent exits; exit now if it has already gone.

    Runs in a forked child before exec (preexec_fn), and the setting survives exec. The kernel sends it
    when the thread that forked exits, which is why the runner starts every service from its main thread.
    """
    _prctl(_PR_SET_PDEATHSIG, death_signal)
    if os.getppid() != parent_pid:
        os._exit(1)


def adopt_orphans() -> None:
    """Processes whose service died are re-parented to the runner (not init), which reaps them."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def controlling_terminal() -> int | None:
    """The device number of this process's controlling terminal, 0 once it has none (a terminal that was
    closed is taken from every process of its session); None where /proc cannot tell."""
    try:
        return int((_PROC / "self" / "stat").read_text().rsplit(")", 1)[1].split()[4])
    except (OSError, IndexError, ValueError):
        return None


def marked_pids(mark: str) -> list[int]:
    """Every live process whose environment has MARK_VARIABLE equal to `mark` or starting with `mark/`."""
    wanted = f"{MARK_VARIABLE}={mark}".encode()
    found = []
    for process in _PROC.glob("[0-9]*"):
        try:
            variables = (process / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(variable == wanted or variable.startswith(wanted + b"/") for variable in variables):
            found.append(int(process.name))
    return found


def signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def stop_marked(mark: str, timeout_s: float) -> list[int]:
    """SIGTERM every process carrying `mark`, SIGKILL those still there after `timeout_s`; returns those found."""
    found = marked_pids(mark)
    signal_all(found, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while (left := marked_pids(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    signal_all(left, signal.SIGKILL)
    return found


def start_guardian(mark: str, timeout_s: float) -> int:
    """Fork a process, in a session of its own, that stops every process carrying `mark` once the runner
    is gone. It waits on a pipe whose only writer is the runner, so it wakes however the runner ends,
    SIGKILL included, and it is out of reach of the terminal's and the process group's signals."""
    read_end, write_end = os.pipe()  # not inherited by anything the runner starts later (close-on-exec)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(read_end)
        return pid
    try:
        os.setsid()
        os.close(write_end)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        while os.read(read_end, 1):
            pass
        if left_behind := stop_marked(mark, timeout_s):
            print(f"local stack: the runner is gone; stopped what it left running: pids {left_behind}",
                  file=sys.stderr)
    finally:
        os._exit(0)
