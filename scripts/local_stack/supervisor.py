"""Start every service, show its output, restart one that exits, and stop them all on a signal."""

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from functools import partial
from typing import IO

from .lifelines import MARK_VARIABLE, controlling_terminal, die_with_parent, marked_pids, signal_all
from .output import LineSplitter, Output
from .procfile import Service

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    max_s: float = 30.0
    stable_after_s: float = 30.0  # a service that ran this long is restarted after first_s again


@dataclass
class _ServiceState:
    service: Service
    delay_s: float
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None


@dataclass
class _Pipe:
    name: str
    file: IO[bytes]
    lines: LineSplitter


class Supervisor:
    def __init__(self, services: list[Service], workdir: str, run_id: str, output: Output, backoff: Backoff,
                 stop_timeout_s: float, guardian_pid: int | None = None):
        self._states = [_ServiceState(service, backoff.first_s) for service in services]
        self._workdir = workdir
        self._run_id = run_id
        self._output = output
        self._backoff = backoff
        self._stop_timeout_s = stop_timeout_s
        self._guardian_pid = guardian_pid
        self._selector = selectors.DefaultSelector()
        self._pipes: dict[int, _Pipe] = {}
        self._by_pid: dict[int, _ServiceState] = {}
        self._stop_signals: list[int] = []
        self._kill_at: float | None = None  # set when stopping begins
        # Closing a terminal sends SIGHUP to the session leader only. When that is make itself (no shell in
        # between, e.g. `ssh -t host make run`), make waits for the runner, which must notice on its own.
        self._watch_terminal = bool(controlling_terminal())

    def run(self) -> None:
        """Returns once a stop signal came and every process of the stack is gone."""
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        self._selector.register(wake_read, selectors.EVENT_READ)
        signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the loop through the wakeup fd
        for signum in STOP_SIGNALS:
            # A signal ignored from the start (nohup, `&` in a script) stays ignored.
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, lambda signum, _frame: self._stop_signals.append(signum))
        for state in self._states:
            self._start(state)
        while True:
            self._reap()
            self._handle_stop_signals()
            if self._kill_at is None:
                self._restart_due()
            elif self._all_gone():
                break
            elif time.monotonic() >= self._kill_at:
                self._signal_everything(signal.SIGKILL)
            for key, _ in self._selector.select(self._timeout()):
                if key.fd == wake_read:
                    while _read_some(wake_read):
                        pass
                else:
                    self._read(key.fd)
        for fd in list(self._pipes):
            self._read(fd, to_end=True)

    def _start(self, state: _ServiceState) -> None:
        service = state.service
        env = {**os.environ, **service.env, MARK_VARIABLE: f"{self._run_id}/{service.name}"}
        state.restart_at = None
        try:
            process = subprocess.Popen(
                service.argv, cwd=self._workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                process_group=0,  # Ctrl-C reaches the runner only, which stops the services in order
                preexec_fn=partial(die_with_parent, signal.SIGTERM, os.getpid()))
        except OSError as error:
            self._output.system(f"{service.name} could not be started: {error}")
            self._schedule_restart(state, ran_s=0.0)
            return
        state.process, state.started_at = process, time.monotonic()
        self._by_pid[process.pid] = state
        fd = process.stdout.fileno()
        os.set_blocking(fd, False)
        self._pipes[fd] = _Pipe(service.name, process.stdout, LineSplitter())
        self._selector.register(fd, selectors.EVENT_READ)
        self._output.system(f"{service.name} started with pid {process.pid}")

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)  # adopted orphans too: the runner is their subreaper
            except ChildProcessError:
                return
            if pid == 0:
                return
            if state := self._by_pid.pop(pid, None):
                self._exited(state, os.waitstatus_to_exitcode(status))
            elif pid == self._guardian_pid:
                self._output.system("warning: the guardian process exited; a SIGKILL of the runner would "
                                    "now leave services running")

    def _exited(self, state: _ServiceState, code: int) -> None:
        name = state.service.name
        state.process.returncode = code
        state.process = None
        if code >= 0:
            how = f"exited with code {code}"
        elif self._kill_at is not None:
            how = f"stopped ({signal.Signals(-code).name})"
        else:
            how = f"was killed by {signal.Signals(-code).name}"
        # Its children (the media service's download workers live in sessions of their own) would go on
        # working for a process that is gone.
        if left_behind := marked_pids(f"{self._run_id}/{name}"):
            signal_all(left_behind, signal.SIGKILL)
            how += f" (killed what it left running: pids {left_behind})"
        ran_s = time.monotonic() - state.started_at
        self._output.system(f"{name} {how} after {ran_s:.1f} s")
        if self._kill_at is None:
            self._schedule_restart(state, ran_s)

    def _schedule_restart(self, state: _ServiceState, ran_s: float) -> None:
        if ran_s >= self._backoff.stable_after_s:
            state.delay_s = self._backoff.first_s
        self._output.system(f"restarting {state.service.name} in {state.delay_s:g} s")
        state.restart_at = time.monotonic() + state.delay_s
        state.delay_s = min(state.delay_s * 2, self._backoff.max_s)

    def _restart_due(self) -> None:
        now = time.monotonic()
        for state in self._states:
            if state.restart_at is not None and state.restart_at <= now:
                self._start(state)

    def _handle_stop_signals(self) -> None:
        reasons = []
        while self._stop_signals:
            reasons.append(f"{signal.Signals(self._stop_signals.pop(0)).name} received")
        if self._watch_terminal and controlling_terminal() == 0:
            self._watch_terminal = False
            reasons.append("the terminal was closed")
        for reason in reasons:
            if self._kill_at is None:
                self._output.system(f"{reason}: stopping every service")
                self._kill_at = time.monotonic() + self._stop_timeout_s
                self._signal_everything(signal.SIGTERM)
            else:
                self._output.system(f"{reason} again: killing every service now")
                self._kill_at = time.monotonic()
                self._signal_everything(signal.SIGKILL)

    def _signal_everything(self, signum: int) -> None:
        for state in self._states:
            if state.process is not None:
                try:
                    os.killpg(state.process.pid, signum)
                except ProcessLookupError:
                    pass
        signal_all(marked_pids(self._run_id), signum)

    def _all_gone(self) -> bool:
        return all(state.process is None for state in self._states) and not marked_pids(self._run_id)

    def _timeout(self) -> float | None:
        if self._kill_at is not None:
            return 0.1  # processes outside the runner's children are watched by looking
        pending = [state.restart_at - time.monotonic() for state in self._states if state.restart_at is not None]
        if self._watch_terminal:
            pending.append(1.0)
        return max(0.0, min(pending)) if pending else None

    def _read(self, fd: int, to_end: bool = False) -> None:
        pipe = self._pipes[fd]
        while True:
            data = _read_some(fd)
            if data is None:  # nothing more for now
                if not to_end:
                    return
                data = b""
            if not data:
                lines = pipe.lines.rest()
                self._selector.unregister(fd)
                pipe.file.close()
                del self._pipes[fd]
            else:
                lines = pipe.lines.feed(data)
            for line in lines:
                self._output.line(pipe.name, line)
            if not data or not to_end:
                return


def _read_some(fd: int) -> bytes | None:
    """Up to 64 KiB; b"" at the end; None when nothing is there yet."""
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None
