"""No task stays in a running status forever: a stage over its time limit fails the task clearly."""

import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests.support.http_server import serving
from tests.support.stack import Stack, running


class TricklingVideoOrigin(BaseHTTPRequestHandler):
    """Promises a 50 MB video and sends it a kilobyte at a time, for at most 30 s."""

    open_responses = 0  # responses still being sent

    def do_GET(self) -> None:
        type(self).open_responses += 1
        try:
            self._trickle()
        finally:
            type(self).open_responses -= 1

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(50 * 2**20))
        self.end_headers()
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                self.wfile.write(b"\0" * 1024)
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the downloader hung up
            pass

    def log_message(self, *args) -> None:
        pass


def test_a_download_over_its_stage_limit_fails_the_task(sqlite_url, tmp_path):
    origin = ThreadingHTTPServer(("127.0.0.1", 0), TricklingVideoOrigin)
    origin.daemon_threads = True
    stack = Stack(database_url=sqlite_url, workdir=tmp_path,
                  service_env={"orchestrator": {"DOWNLOAD_TIMEOUT_S": "3"}, "media": {"DOWNLOAD_TIMEOUT_S": "60"}})
    with serving(origin), running(stack):
        api = stack.url("gateway")
        url = f"http://127.0.0.1:{origin.server_address[1]}/slow.mp4"
        task_id = requests.post(f"{api}/analyze", json={"youtube_url": url}).json()["task_id"]
        started = time.monotonic()
        while (result := requests.get(f"{api}/tasks/{task_id}").json())["status"] not in ("completed", "failed"):
            assert time.monotonic() - started < 30, f"still {result['status']}"
            time.sleep(0.2)
        assert result["status"] == "failed"
        assert result["error"] == "downloading timed out after 3 s"
        # The abandoned download is stopped too, not left to run to the media service's own limit.
        deadline = time.monotonic() + 5
        while TricklingVideoOrigin.open_responses and time.monotonic() < deadline:
            time.sleep(0.1)
        assert TricklingVideoOrigin.open_responses == 0
        assert requests.get(f"{api}/health").json()["status"] == "healthy"
