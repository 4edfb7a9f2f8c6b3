"""A static file server on 127.0.0.1 in a background thread, for serving test videos to yt-dlp."""

import json
import threading
import time
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output readable
        pass


@contextmanager
def serving(server: ThreadingHTTPServer):
    """Runs `server` in a background thread; yields it, and stops and closes it on exit."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_directory(root: Path, host: str = "127.0.0.1"):
    """Yields the base URL (no trailing slash) of a server for `root`; stops it on exit."""
    with serving(ThreadingHTTPServer((host, 0), partial(_QuietHandler, directory=str(root)))) as server:
        yield f"http://{host}:{server.server_address[1]}"


def send_json(handler, status: int, payload: object) -> None:
    """Answer a BaseHTTPRequestHandler request with a JSON body."""
    body = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_throttled(handler, data: bytes, content_type: str, chunk: int, pause_s) -> None:
    """Answer with `data` in `chunk`-byte pieces, sleeping `pause_s()` seconds after each."""
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    for start in range(0, len(data), chunk):
        handler.wfile.write(data[start : start + chunk])
        handler.wfile.flush()
        time.sleep(pause_s())
