"""A fault-injecting OpenAI-compatible model server for tests, run as a real process.

    python -m tests.support.fault_injecting_openai --port 9000 [--delay-s 0.2]

It answers `POST /v1/chat/completions` with a fixed reply after `delay_s`, unless a queued fault says
otherwise, and `GET /v1/models` with one model. It is written on bare asyncio streams rather than a web
framework so that it can misbehave the way real servers do: drop the connection mid-request, or accept
it and never answer.

Control (JSON, same port):
    POST /_control  {"faults": [...], "delay_s": float, "reply": str}   queue faults (appended) / set defaults
    POST /_control/reset                                                drop queued faults, zero the counters
    GET  /_control/stats  {"requests", "answered", "disconnected", "in_flight", "queued_faults"}

A fault applies to the next chat request and is used up by it:
    {"status": 429, "retry_after": "1"}   an error answer (any status), with an optional Retry-After header
    {"reset": true}                       close the connection without answering
    {"hang": true}                        never answer (until the client goes away)
    {"delay_s": 2.0}                      answer normally, late
"""

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

MODEL = "fault-model"
DEFAULT_REPLY = "A frame of a test video."
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 408: "Request Timeout", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass
class FaultState:
    delay_s: float = 0.0
    reply: str = DEFAULT_REPLY
    faults: list[dict] = field(default_factory=list)
    stats: dict = field(default_factory=lambda: dict.fromkeys(
        ("requests", "answered", "disconnected", "in_flight"), 0))

    def snapshot(self) -> dict:
        return {**self.stats, "queued_faults": len(self.faults)}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return method, path.split("?", 1)[0], body


def _response(status: int, payload: object, headers: dict[str, str] | None = None) -> bytes:
    body = json.dumps(payload).encode()
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _completion(reply: str) -> dict:
    return {"id": "chatcmpl-fault", "object": "chat.completion", "created": 0, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


async def _wait_or_disconnect(reader: asyncio.StreamReader, seconds: float | None) -> bool:
    """Sleep `seconds` (None: forever); True if the client went away first."""
    gone = asyncio.ensure_future(reader.read(1))
    try:
        done, _ = await asyncio.wait({gone}, timeout=seconds)
        return bool(done)
    finally:
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone


async def _chat(state: FaultState, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Answer one chat request; False when the connection must not be reused."""
    state.stats["requests"] += 1
    fault = state.faults.pop(0) if state.faults else {}
    if fault.get("reset"):
        writer.transport.abort()
        return False
    state.stats["in_flight"] += 1
    try:
        wait = None if fault.get("hang") else fault.get("delay_s", state.delay_s)
        if await _wait_or_disconnect(reader, wait):
            state.stats["disconnected"] += 1
            return False
    finally:
        state.stats["in_flight"] -= 1
    if "status" in fault:
        headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else None
        error = {"error": {"message": f"injected HTTP {fault['status']}", "type": "injected"}}
        writer.write(_response(int(fault["status"]), error, headers))
    else:
        writer.write(_response(200, _completion(state.reply)))
    state.stats["answered"] += 1
    return True


async def _control(state: FaultState, method: str, path: str, body: bytes) -> bytes:
    if path == "/_control/stats":
        return _response(200, state.snapshot())
    if path == "/_control/reset" and method == "POST":
        state.faults.clear()
        state.stats.update(dict.fromkeys(state.stats, 0))
        return _response(200, state.snapshot())
    if path == "/_control" and method == "POST":
        settings = json.loads(body or b"{}")
        state.faults.extend(settings.get("faults", []))
        state.delay_s = float(settings.get("delay_s", state.delay_s))
        state.reply = settings.get("reply", state.reply)
        return _response(200, state.snapshot())
    return _response(404, {"detail": "not found"})


async def _serve(state: FaultState, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                method, path, body = await _read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                return
            if path == "/v1/chat/completions" and method == "POST":
                if not await _chat(state, reader, writer):
                    return
            elif path == "/v1/models":
                writer.write(_response(200, {"object": "list", "data": [
                    {"id": MODEL, "object": "model", "owned_by": "tests", "max_model_len": 8192}]}))
            elif path == "/health":
                writer.write(_response(200, {"status": "ok"}))
            else:
                writer.write(await _control(state, method, path, body))
            await writer.drain()
    except ConnectionError:
        return
    finally:
        if not writer.transport.is_closing():
            writer.close()


async def main(port: int, delay_s: float) -> None:
    state = FaultState(delay_s=delay_s)
    server = await asyncio.start_server(lambda r, w: _serve(state, r, w), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


class FaultServer:
    """The test side of a running fault-injecting server."""

    def __init__(self, port: int):
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = self.root + "/v1"

    def control(self, **settings) -> dict:
        import httpx

        return httpx.post(self.root + "/_control", json=settings, timeout=5).json()

    def reset(self) -> dict:
        import httpx

        return httpx.post(self.root + "/_control/reset", timeout=5).json()

    def stats(self) -> dict:
        import httpx

        return httpx.get(self.root + "/_control/stats", timeout=5).json()


@contextmanager
def run_fault_server(delay_s: float = 0.0):
    """Start the server as its own process on a free loopback port; yields a FaultServer."""
    from .processes import REPO, free_port, wait_until_up

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.support.fault_injecting_openai", "--port", str(port),
                                "--delay-s", str(delay_s)], cwd=REPO)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process, timeout=20)
        yield FaultServer(port)
    finally:
        process.kill()
        process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-s", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.delay_s))
