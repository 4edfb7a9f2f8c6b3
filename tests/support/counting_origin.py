"""An origin server for download tests that counts what reaches it: GETs by path and connections accepted.

A guard that works shows as counts that stay at 0; a cache that works, as one GET where two were asked for.
"""

import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .http_server import serving


class CountingHandler(SimpleHTTPRequestHandler):
    """Static files, /status/<code>/..., and /slow.mp4 that never finishes; counts requests by path.

    As a proxy (GET of an absolute URL) it serves the URL's path from the same files.
    """

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._count()
        if "://" in self.path:
            self.path = urlsplit(self.path).path
        if self.path.startswith("/status/"):
            self.send_error(int(self.path.split("/")[2]))
            return
        if self.path.startswith("/slow"):
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", "10000000")
            self.end_headers()
            self.wfile.write(b"\0" * 1024)
            self.wfile.flush()
            time.sleep(20)
            return
        super().do_GET()

    def _count(self) -> None:
        with self.server.lock:
            self.server.gets[self.path] = self.server.gets.get(self.path, 0) + 1


class CountingServer(ThreadingHTTPServer):
    """Serves `root` on host:port (a free port when 0) with `handler`, a CountingHandler."""

    daemon_threads = True

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0,
                 handler: type[CountingHandler] = CountingHandler):
        super().__init__((host, port), partial(handler, directory=str(root)))
        self.root, self.host = root, host
        self.lock = threading.Lock()
        self.gets: dict[str, int] = {}
        self.connections = 0

    def verify_request(self, request, client_address) -> bool:
        with self.lock:
            self.connections += 1
        return True

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def counting_server(root: Path, server_class: type[CountingServer] = CountingServer, **options):
    """Runs `server_class(root, **options)` in a background thread; yields it, and stops it on exit."""
    with serving(server_class(root, **options)) as server:
        yield server
