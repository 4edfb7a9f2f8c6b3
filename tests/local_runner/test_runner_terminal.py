"""`make run` in a terminal: prefixed, coloured lines; Ctrl-C typed there, or the terminal closed, stops it all."""

import fcntl
import os
import re
import select
import signal
import subprocess
import termios

import pytest

from tests.support.processes import REPO

from .harness import TEST_MARK, answer, port_is_free, ports, processes_marked, tiny_procfile, wait_for


class Terminal:
    """`make run` in a pseudo-terminal of its own: typed at an interactive shell, or as its session leader
    (as `ssh -t host make run` runs it)."""

    def __init__(self, tmp_path, procfile, mark, in_shell: bool):
        self.master, slave = os.openpty()

        def take_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        env = {key: value for key, value in os.environ.items() if key not in ("PORT", "NO_COLOR")}
        make = ["make", "--no-print-directory", "-o", ".venv/.synced", "run", f"RUN_PROCFILE={procfile}",
                f"RUN_PID_FILE={tmp_path / 'run.pid'}"]
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile", "-i"] if in_shell else make,
            cwd=REPO, env={**env, TEST_MARK: mark}, stdin=slave, stdout=slave, stderr=slave,
            preexec_fn=take_terminal)
        os.close(slave)
        self.screen = b""
        if in_shell:
            self.type(" ".join(make).encode() + b"\n")

    def read(self) -> str:
        while self.master is not None and select.select([self.master], [], [], 0)[0]:
            try:
                self.screen += os.read(self.master, 65536)
            except OSError:  # the other side is gone
                break
        return self.screen.decode(errors="replace")

    def type(self, text: bytes) -> None:
        os.write(self.master, text)

    def close(self) -> None:
        if self.master is not None:
            os.close(self.master)
            self.master = None


def run_in_terminal(tmp_path, end, in_shell=True):
    port = ports("web", "worker")
    procfile = tiny_procfile(tmp_path, {"web": f"--port {port['web']}",
                                        "worker": f"--port {port['worker']} --session-child"})
    mark = os.urandom(8).hex()
    terminal = Terminal(tmp_path, procfile, mark, in_shell)
    try:
        for p in port.values():
            wait_for(lambda p=p: answer(p), 30, lambda: terminal.read())
        wait_for(lambda: "tiny service pid" in terminal.read(), 10, lambda: terminal.read())
        screen = terminal.read()
        end(terminal)
        shell = terminal.process.pid if in_shell else None  # a shell outlives what it ran, as it should

        def left():
            return [(pid, command) for pid, command in processes_marked(mark) if pid != shell]

        wait_for(lambda: not left(), 8, lambda: f"left: {left()}\n{terminal.read()}")
        assert all(port_is_free(p) for p in port.values())
        return screen
    finally:
        terminal.close()
        for pid, _ in processes_marked(mark):
            os.kill(pid, signal.SIGKILL)
        if terminal.process.poll() is None:
            terminal.process.kill()
        terminal.process.wait()


def test_ctrl_c_typed_in_the_terminal_stops_every_service(tmp_path):
    screen = run_in_terminal(tmp_path, lambda terminal: terminal.type(b"\x03"))
    # Each service's lines carry the time and its name, in a colour of its own.
    assert re.search(r"\x1b\[\d+m\d\d:\d\d:\d\d web +\| \x1b\[0mtiny service pid \d+ up", screen)
    assert re.search(r"\x1b\[\d+m\d\d:\d\d:\d\d worker +\| \x1b\[0mtiny service pid \d+ up", screen)


@pytest.mark.parametrize("in_shell", [True, False], ids=["typed-at-a-shell", "make-leads-the-session"])
def test_closing_the_terminal_stops_every_service(tmp_path, in_shell):
    screen = run_in_terminal(tmp_path, lambda terminal: terminal.close(), in_shell)
    assert "started with pid" in screen
