"""An origin on 127.0.0.1 that serves files and answers /to?url=<target> with a 302 to <target>,
counting the requests it gets for each path."""

import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from tests.support.http_server import serving


class RedirectingHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        with self.server.lock:
            self.server.requests[self.path] = self.server.requests.get(self.path, 0) + 1
        if parts.path != "/to":
            super().do_GET()
            return
        self.send_response(302)
        self.send_header("Location", parse_qs(parts.query)["url"][0])
        self.send_header("Content-Length", "0")
        self.end_headers()


class RedirectingOrigin(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), partial(RedirectingHandler, directory=str(root)))
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def redirect_path(self, target: str) -> str:
        return f"/to?url={quote(target, safe='')}"

    def count(self, path: str) -> int:
        with self.lock:
            return self.requests.get(path, 0)


@contextmanager
def redirecting_origin(root: Path):
    with serving(RedirectingOrigin(root)) as server:
        yield server
