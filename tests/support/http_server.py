"""A static file server on 127.0.0.1 in a background thread, for serving test videos to yt-dlp."""

import json
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output readable
        pass


@contextmanager
def serve_directory(root: Path, host: str = "127.0.0.1"):
    """Yields the base URL (no trailing slash) of a server for `root`; stops it on exit."""
    server = ThreadingHTTPServer((host, 0), partial(_QuietHandler, directory=str(root)))
    server.request_counts = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def send_json(handler, status: int, payload: object) -> None:
    """Answer a BaseHTTPRequestHandler request with a JSON body."""
    body = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
