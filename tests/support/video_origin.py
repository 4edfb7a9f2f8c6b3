"""A video origin on 127.0.0.1: many distinct URLs of one small file, optionally sent slowly, and a count of
what each URL was asked for, so tests can tell a video downloaded once from one downloaded again."""

import re
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .http_server import serving

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass
class OriginCounts:
    full: Counter = field(default_factory=Counter)  # whole bodies sent to the end (from byte 0)
    resumed: Counter = field(default_factory=Counter)  # ranges starting past byte 0, sent to the end
    aborted: Counter = field(default_factory=Counter)  # the client went away before the end
    heads: Counter = field(default_factory=Counter)
    started: Counter = field(default_factory=Counter)  # GETs begun
    sending: Counter = field(default_factory=Counter)  # GETs whose body is being sent right now
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, which: Counter, path: str, n: int = 1) -> None:
        with self.lock:
            which[path] += n


class VideoOrigin:
    """Serves `data` at /v/0.mp4 … /v/{count-1}.mp4; each body takes about `send_s` seconds."""

    def __init__(self, data: bytes, count: int, send_s: float = 0.0, chunks: int = 20):
        self.data = data
        self.paths = [f"/v/{i}.mp4" for i in range(count)]
        self.send_s = send_s
        self.chunks = chunks
        self.counts = OriginCounts()
        self.base_url = ""

    def url(self, i: int) -> str:
        return self.base_url + self.paths[i]

    def path_of(self, url: str) -> str:
        return url[len(self.base_url):]


def _handler(origin: VideoOrigin):
    known = set(origin.paths)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _span(self) -> tuple[int, int] | None:
            """(first, last) byte asked for; None when the Range header cannot be served."""
            size = len(origin.data)
            header = self.headers.get("Range")
            if not header:
                return 0, size - 1
            match = RANGE.match(header.strip())
            if not match or not (match.group(1) or match.group(2)):
                return None
            if not match.group(1):  # suffix range: the last N bytes
                return max(0, size - int(match.group(2))), size - 1
            first = int(match.group(1))
            last = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            return (first, last) if first <= last else None

        def _head(self) -> tuple[int, int] | None:
            if self.path not in known:
                self.send_error(404)
                return None
            span = self._span()
            if span is None:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(origin.data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            first, last = span
            partial = self.headers.get("Range") is not None
            self.send_response(206 if partial else 200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(last - first + 1))
            if partial:
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(origin.data)}")
            self.end_headers()
            return span

        def do_HEAD(self) -> None:
            origin.counts.add(origin.counts.heads, self.path)
            self._head()

        def do_GET(self) -> None:
            span = self._head()
            if span is None:
                return
            first, last = span
            body = origin.data[first:last + 1]
            step = max(1, -(-len(body) // origin.chunks))
            pause = origin.send_s / origin.chunks
            origin.counts.add(origin.counts.started, self.path)
            origin.counts.add(origin.counts.sending, self.path)
            try:
                for offset in range(0, len(body), step):
                    self.wfile.write(body[offset:offset + step])
                    self.wfile.flush()
                    if pause and offset + step < len(body):
                        time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                origin.counts.add(origin.counts.aborted, self.path)
                self.close_connection = True
                return
            finally:
                origin.counts.add(origin.counts.sending, self.path, -1)
            reaches_end = last == len(origin.data) - 1
            if first == 0 and reaches_end:
                origin.counts.add(origin.counts.full, self.path)
            elif reaches_end:
                origin.counts.add(origin.counts.resumed, self.path)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up is expected here
            super().handle_error(request, client_address)


@contextmanager
def serve_videos(video: Path, count: int, send_s: float = 0.0, chunks: int = 20):
    """Yields a running VideoOrigin for `count` copies of the file `video`."""
    origin = VideoOrigin(video.read_bytes(), count, send_s, chunks)
    with serving(_Server(("127.0.0.1", 0), _handler(origin))) as server:
        origin.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        yield origin
