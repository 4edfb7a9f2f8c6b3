"""An origin on 127.0.0.1 that answers slowly on purpose, so a test can act while the media service
works: /throttled/<file> sends the file in small chunks with a pause after each (the pause can be
changed while it runs), /delayed/<file> waits DELAY_S before answering. Also the service's children,
read from /proc."""

import os
import time
from collections import Counter
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.http_server import send_throttled, serving

CHUNK = 16 * 1024
DELAY_S = 4.0


class SlowHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests[self.path] += 1
        try:
            if self.path.startswith("/throttled/"):
                self._throttled(Path(self.directory) / self.path.removeprefix("/throttled/"))
                return
            if self.path.startswith("/delayed/"):
                time.sleep(DELAY_S)
                self.path = "/" + self.path.removeprefix("/delayed/")
            super().do_GET()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _throttled(self, path: Path) -> None:
        send_throttled(self, path.read_bytes(), "video/mp4", CHUNK, lambda: self.server.pause_s)
        self.server.full_bodies[self.path] += 1  # sent to the end: the client did not go away


class SlowServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, pause_s: float):
        super().__init__(("127.0.0.1", 0), partial(SlowHandler, directory=str(root)))
        self.pause_s = pause_s
        self.full_bodies: Counter = Counter()
        self.requests: Counter = Counter()  # GETs per path, the extractor's look at the URL included

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def slow_origin(root: Path, pause_s: float = 0.1):
    with serving(SlowServer(root, pause_s)) as server:
        yield server


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ..."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (zombies count: a child nobody waited for is a leak too)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) and int(fields[1]) == pid:
            found.add(int(entry))
    return found


def group_members(pgrp: int) -> set[int]:
    """Live processes in process group `pgrp`, wherever they were reparented."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) and int(fields[2]) == pgrp and fields[0] != "Z":
            found.add(int(entry))
    return found
