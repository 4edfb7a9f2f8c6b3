"""Model calls are bounded in time, even against a server that accepts and never answers."""

import asyncio
import socket
import threading
import time

import httpx
import pytest

from orchestrator.clients.models import ModelClient
from orchestrator.config import ModelEndpoint
from service_common.errors import TransientError


@pytest.fixture
def silent_server():
    """Accepts connections, reads the request, and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held, stop = [], threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1", held
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_silent_model_server_is_cut_off_at_the_deadline(silent_server):
    base_url, held = silent_server

    async def call() -> None:
        async with httpx.AsyncClient() as http:
            client = ModelClient(http, per_endpoint=2, call_timeout_s=0.5)
            await client.chat(ModelEndpoint(base_url=base_url, model="m"), [{"role": "user", "content": "hi"}],
                              "vision model failed")

    started = time.monotonic()
    with pytest.raises(TransientError, match="vision model failed: no answer"):
        asyncio.run(call())
    elapsed = time.monotonic() - started
    assert len(held) == 3  # three attempts, each cut off
    assert elapsed < 0.5 * 3 + 10  # attempts plus capped backoff, not forever
