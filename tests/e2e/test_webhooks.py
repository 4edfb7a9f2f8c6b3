"""Webhooks through the real services: signed (Standard Webhooks), retried with the same webhook-id until
a receiver on 127.0.0.1 takes them, never sent to a refused address, and not lost when the orchestrator
is killed between the task's end and the delivery."""

import base64
import json
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook

from tests.support.processes import free_port
from tests.support.stack import running_stack

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two bytes").decode()


class Receiver:
    """An HTTP receiver that answers the first `failures` deliveries with 500, then 204."""

    def __init__(self, failures: int = 0, host: str = "127.0.0.1", port: int = 0):
        self.failures = failures
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                failing = len(receiver.received) <= receiver.failures
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    settings = {"WEBHOOK_SECRET": SECRET, "WEBHOOK_RETRY_BASE_S": "0.3", "WEBHOOK_RETRY_MAX_S": "1",
                "WEBHOOK_MAX_ATTEMPTS": "30", "WEBHOOK_TIMEOUT_S": "2"}
    with running_stack(tmp_path_factory.mktemp("stack"), extra_env=settings) as stack:
        yield stack


def submit(api: str, url: str, webhook_url: str) -> str:
    response = httpx.post(f"{api}/analyze", json={"youtube_url": url, "max_frames": 2, "webhook_url": webhook_url},
                          timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


def wait_for(check, timeout: float = 60.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def webhook_of(api: str, task_id: str) -> dict:
    return httpx.get(f"{api}/tasks/{task_id}", timeout=10).json()["webhook"]


def test_a_completed_task_is_told_signed_and_retried_with_the_same_id(stack, video_site):
    receiver = Receiver(failures=1)
    api = stack.url("gateway")
    try:
        task_id = submit(api, f"{video_site}/watch.html", receiver.url)
        assert webhook_of(api, task_id)["state"] == "waiting"
        status = wait_for(lambda: webhook_of(api, task_id)["state"] == "delivered" and webhook_of(api, task_id),
                          what="the delivery")
    finally:
        receiver.close()
    assert status["attempts"] == 2 and status["last_status"] == "HTTP 204" and status["delivered_at"]
    first, second = receiver.received
    assert first["headers"]["webhook-id"].startswith("msg_")
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"], "a retry is the same event"
    assert first["body"] == second["body"], "the same event, byte for byte"
    signer = Webhook(SECRET)
    for delivery in receiver.received:
        signer.verify(delivery["body"], delivery["headers"])  # raises on a bad signature or timestamp
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook("whsec_" + base64.b64encode(b"another secret, also 32 bytes!!!").decode()).verify(
            first["body"], first["headers"])
    event = json.loads(first["body"])
    assert event["type"] == "task.completed" and event["timestamp"].endswith("Z")
    metrics = {(sample.name, sample.labels.get("outcome")): sample.value for family in
               text_string_to_metric_families(httpx.get(f"{stack.url('orchestrator')}/metrics").text)
               for sample in family.samples}
    assert metrics[("webhook_deliveries_total", "retried")] >= 1
    assert metrics[("webhook_deliveries_total", "delivered")] >= 1
    assert event["data"] == {"task_id": task_id, "status": "completed", "error": None,
                             "url": f"{video_site}/watch.html"}


def test_a_failed_task_is_told_with_its_error(stack, video_site):
    receiver = Receiver()
    api = stack.url("gateway")
    try:
        task_id = submit(api, f"{video_site}/missing.mp4", receiver.url)
        wait_for(lambda: receiver.received, what="the delivery")
    finally:
        receiver.close()
    event = json.loads(receiver.received[0]["body"])
    task = httpx.get(f"{api}/tasks/{task_id}", timeout=10).json()
    assert event["type"] == "task.failed" and event["data"]["error"] == task["error"] and task["error"]


def test_a_receiver_on_a_refused_address_sees_no_connection(stack, video_site):
    # 127.0.0.2 is loopback but outside EGRESS_ALLOW_CIDRS (127.0.0.1/32): refused before any connect.
    listener = socket.create_server(("127.0.0.2", 0))
    listener.settimeout(0.2)
    api = stack.url("gateway")
    try:
        task_id = submit(api, f"{video_site}/watch.html", f"http://127.0.0.2:{listener.getsockname()[1]}/hook")
        status = wait_for(lambda: webhook_of(api, task_id)["state"] == "given_up" and webhook_of(api, task_id),
                          what="giving up")
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert status["attempts"] == 1, "a refused address is not tried again"
    assert status["last_status"].startswith("refused: destination 127.0.0.2 is a loopback address")


def test_webhook_urls_that_are_not_http_are_refused_at_submit(stack):
    api = stack.url("gateway")
    for bad in ("ftp://127.0.0.1/hook", "file:///etc/passwd", "http://user:pw@127.0.0.1/hook", ""):
        response = httpx.post(f"{api}/analyze", json={"youtube_url": "https://example.com/v.mp4",
                                                      "webhook_url": bad}, timeout=10)
        assert response.status_code == 422, bad
        assert "webhook_url" in json.dumps(response.json())


def test_without_a_secret_webhooks_are_refused_with_how_to_enable_them(tmp_path):
    with running_stack(tmp_path, "orchestrator", "gateway") as stack:
        response = httpx.post(f"{stack.url('gateway')}/analyze", timeout=10, json={
            "youtube_url": "https://example.com/v.mp4", "webhook_url": "https://example.com/hook"})
    assert response.status_code == 422 and "WEBHOOK_SECRET" in response.json()["detail"]


def test_a_kill_between_the_end_and_the_delivery_loses_nothing(stack, video_site):
    port = free_port()  # nothing listens yet: the first attempts are refused connections
    api = stack.url("gateway")
    task_id = submit(api, f"{video_site}/watch.html", f"http://127.0.0.1:{port}/hook")
    wait_for(lambda: (webhook_of(api, task_id) or {}).get("attempts", 0) >= 1, what="a first failed attempt")

    orchestrator = stack.processes["orchestrator"]
    orchestrator.send_signal(signal.SIGKILL)
    orchestrator.wait()
    receiver = Receiver(port=port)
    try:
        stack.start("orchestrator")
        wait_for(lambda: webhook_of(api, task_id)["state"] == "delivered", what="the delivery after the restart")
        time.sleep(1.0)  # nothing more comes
    finally:
        receiver.close()
    assert receiver.received, "delivered after the kill"
    assert {d["headers"]["webhook-id"] for d in receiver.received} == {receiver.received[0]["headers"]["webhook-id"]}
