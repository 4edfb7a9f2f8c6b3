"""Run `make run` (or the runner itself) in a session of its own and watch every process it leads to.

Each run gets a unique environment variable that every process of the stack inherits, so "is anything
left?" is answered by looking at every process on the machine, whatever session or group it moved to.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.processes import REPO, free_port

TEST_MARK = "LOCAL_RUNNER_TEST"
TINY = Path(__file__).with_name("tiny_service.py")


@dataclass
class Launched:
    process: subprocess.Popen
    log: Path
    pid_file: Path
    mark: str = field(default="")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def runner_pid(self, timeout_s: float = 20) -> int:
        wait_for(lambda: self.pid_file.exists(), timeout_s, lambda: f"no pid file; output:\n{self.output()}")
        return int(self.pid_file.read_text().split()[0])

    def left(self) -> list[tuple[int, str]]:
        return processes_marked(self.mark)

    def end(self) -> None:
        """Make sure nothing of this run survives the test, whatever it asserted."""
        for pid, _ in self.left():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def launch(command: list[str], tmp_path: Path, env: dict[str, str] | None = None, ignore_sighup=False) -> Launched:
    mark = uuid.uuid4().hex
    log = tmp_path / f"run-{mark[:6]}.log"
    environment = {**os.environ, **(env or {}), TEST_MARK: mark}
    environment.pop("PORT", None)

    def new_session():
        os.setsid()
        if ignore_sighup:  # what nohup does
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=environment, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, preexec_fn=new_session)
    return Launched(process, log, tmp_path / "run.pid", mark)


def make_run(tmp_path: Path, *variables: str, env: dict[str, str] | None = None, **options) -> Launched:
    # -o: the suite runs in the environment `make test` has just set up; it must not be synced again here.
    command = ["make", "--no-print-directory", "-o", ".venv/.synced", "run",
               f"RUN_PID_FILE={tmp_path / 'run.pid'}", *variables]
    return launch(command, tmp_path, env, **options)


def runner(tmp_path: Path, procfile: Path, *options: str) -> Launched:
    command = [sys.executable, "-m", "scripts.local_stack", "run", "--pid-file", str(tmp_path / "run.pid"),
               *options, str(procfile)]
    return launch(command, tmp_path)


def tiny_procfile(tmp_path: Path, services: dict[str, str]) -> Path:
    """A Procfile of tiny services: name -> tiny_service.py arguments."""
    path = tmp_path / "Procfile"
    path.write_text("".join(f"{name}: {sys.executable} {TINY} {arguments}\n" for name, arguments in services.items()))
    return path


def processes_marked(mark: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose environment carries this test run's mark."""
    wanted = f"{TEST_MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append((int(entry.name), command.strip()))
        except OSError:
            continue
    return found


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def answer(port: int, path: str = "/") -> dict | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(condition, timeout_s: float, message: str, interval_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval_s)
    raise AssertionError(message() if callable(message) else message)


def ports(*names: str) -> dict[str, int]:
    return {name: free_port() for name in names}
