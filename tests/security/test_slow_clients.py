"""Slow clients cannot hold the gateway's connections: request headers must be in within
HEADER_TIMEOUT_S, and a request body may not stay silent longer than BODY_READ_TIMEOUT_S (an idle
time: a body that keeps coming is read however long it takes). A real gateway process, real sockets."""

import select
import socket
import threading
import time

import httpx
import pytest

from tests.support.processes import free_port, run_service

HEADER_TIMEOUT_S = 2.0
BODY_READ_TIMEOUT_S = 2.0
SLACK_S = 1.5
GIVE_UP_S = 10.0  # a connection still open this long was never going to be cut


@pytest.fixture(scope="module")
def gateway():
    env = {
        "HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "BODY_READ_TIMEOUT_S": str(BODY_READ_TIMEOUT_S),
        "ORCHESTRATOR_URL": f"http://127.0.0.1:{free_port()}",  # nobody there: /analyze answers 503 at once
        "RATE_LIMIT": "0",
    }
    with run_service("gateway.app:create_app", free_port(), env=env, health_path="/") as (base, _):
        yield base


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def answer_or_close(sock: socket.socket, within: float) -> tuple[float | None, bytes]:
    """Seconds until the server answered or hung up (None if it did neither) and what it sent."""
    started = time.monotonic()
    received = b""
    while time.monotonic() - started < within:
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            if not data:
                return time.monotonic() - started, received
            received += data
    return None, received


def slowloris(base: str, outcome: dict, key: int) -> None:
    """Send a request's headers one byte a second, never finishing them."""
    request = b"GET / HTTP/1.1\r\nHost: gateway\r\nUser-Agent: slow\r\nX-Padding: " + b"x" * 64
    with connect(base) as sock:
        started = time.monotonic()
        for byte in request:
            try:
                sock.send(bytes([byte]))
            except OSError:  # hung up on us between two bytes
                outcome[key] = (time.monotonic() - started, b"")
                return
            closed_after, received = answer_or_close(sock, 1.0)
            if closed_after is not None or received:
                outcome[key] = (time.monotonic() - started, received)
                return
            if time.monotonic() - started > GIVE_UP_S:
                break
        outcome[key] = (None, b"")


def test_headers_sent_a_byte_a_second_are_cut_off_and_others_are_served_meanwhile(gateway):
    outcome: dict[int, tuple[float | None, bytes]] = {}
    clients = [threading.Thread(target=slowloris, args=(gateway, outcome, n)) for n in range(6)]
    for client in clients:
        client.start()
    time.sleep(0.5)
    started = time.monotonic()
    assert httpx.get(f"{gateway}/", timeout=5).status_code == 200
    assert time.monotonic() - started < 1.0
    for client in clients:
        client.join()
    for elapsed, received in outcome.values():
        assert elapsed is not None, "a slow client's connection stayed open"
        assert elapsed < HEADER_TIMEOUT_S + SLACK_S, f"closed only after {elapsed:.1f} s"
        assert received.startswith(b"HTTP/1.1 408 "), received
    assert len(outcome) == 6


def body_request(length: int) -> bytes:
    return (b"POST /analyze HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % length)


def test_a_body_that_keeps_coming_is_read_but_one_that_stalls_is_cut(gateway):
    body = b'{"youtube_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "max_frames": 4}'
    # Steady: a piece every half second, for longer than the body timeout in all.
    with connect(gateway) as sock:
        sock.sendall(body_request(len(body)))
        started = time.monotonic()
        for start in range(0, len(body), 8):
            sock.sendall(body[start:start + 8])
            time.sleep(0.5)
        assert time.monotonic() - started > BODY_READ_TIMEOUT_S * 1.5
        _, received = answer_or_close(sock, 5)
        assert received.startswith(b"HTTP/1.1 503 "), received
    # Stalled: half the body, then silence.
    with connect(gateway) as sock:
        sock.sendall(body_request(len(body)) + body[: len(body) // 2])
        closed_after, received = answer_or_close(sock, GIVE_UP_S)
        assert closed_after is not None, "a stalled request body kept its connection open"
        assert BODY_READ_TIMEOUT_S - 0.5 < closed_after < BODY_READ_TIMEOUT_S + SLACK_S
        assert received == b""
