"""An origin for download policy, progress and cache tests: the counting origin (tests/support/counting_origin.py)
plus /chunked/<file> (no Content-Length), /throttled/<file> (sent slowly, so a download can be
watched half-way) and /redirect/<file> (302 to /<file>). It counts the GETs whose whole body
reached the client: the downloads, as opposed to yt-dlp's look at the first bytes."""

from pathlib import Path

from tests.support.counting_origin import CountingHandler, CountingServer, counting_server
from tests.support.http_server import send_throttled

THROTTLE_CHUNK = 32 * 1024
THROTTLE_PAUSE_S = 0.03  # about 1 MB/s


class PolicyHandler(CountingHandler):
    def do_GET(self) -> None:
        for prefix, serve in (("/chunked/", self._chunked), ("/throttled/", self._throttled)):
            if self.path.startswith(prefix):
                self._count()
                try:
                    serve(Path(self.directory) / self.path[len(prefix) :])
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return
        if self.path.startswith("/redirect/"):
            self._count()
            self.send_response(302)
            self.send_header("Location", "/" + self.path[len("/redirect/") :])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def _sent_whole(self) -> None:
        with self.server.lock:
            self.server.full_sends[self.path] = self.server.full_sends.get(self.path, 0) + 1

    def _chunked(self, path: Path) -> None:
        # HTTP/1.0 without Content-Length: the body ends when the connection closes.
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.end_headers()
        self.wfile.write(path.read_bytes())
        self._sent_whole()

    def _throttled(self, path: Path) -> None:
        send_throttled(self, path.read_bytes(), "video/mp4", THROTTLE_CHUNK, lambda: THROTTLE_PAUSE_S)
        self._sent_whole()


class PolicyServer(CountingServer):
    def __init__(self, root: Path, handler: type[PolicyHandler] = PolicyHandler):
        super().__init__(root, handler=handler)
        self.full_sends: dict[str, int] = {}


def policy_origin(root: Path):
    return counting_server(root, PolicyServer)
