"""A client that polls every 5 s, as the API guide's clients do, keeps its connection (KEEP_ALIVE_S, 9 s);
an unused kept-alive connection is closed quietly once that time is up."""

import socket
import time

from tests.support.processes import free_port, run_service

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def ask(sock: socket.socket) -> bytes:
    sock.sendall(REQUEST)
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            return answer
        answer += chunk
    return answer


def test_a_client_polling_every_five_seconds_keeps_its_connection(tmp_path):
    env = {"ORCHESTRATOR_URL": "http://127.0.0.1:9"}
    with run_service("gateway.app:create_app", free_port(), env=env, health_path="/",
                     log=tmp_path / "gateway.log") as (base, _):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            assert ask(sock).startswith(b"HTTP/1.1 200")
            time.sleep(5.5)  # uvicorn's own keep-alive (5 s) would have closed it by now
            assert ask(sock).startswith(b"HTTP/1.1 200")


def test_an_unused_connection_is_closed_quietly_after_keep_alive_s(tmp_path):
    log = tmp_path / "gateway.log"
    env = {"ORCHESTRATOR_URL": "http://127.0.0.1:9", "KEEP_ALIVE_S": "1.5", "HEADER_TIMEOUT_S": "1.5"}
    with run_service("gateway.app:create_app", free_port(), env=env, health_path="/", log=log) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            assert ask(sock).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            assert sock.recv(1) == b""  # closed by the server
            assert 1.0 < time.monotonic() - started < 4.0
    assert "closed the connection" not in log.read_text()
