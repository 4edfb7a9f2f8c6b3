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


def test_a_model_card_is_the_servers_entry_for_the_endpoints_model():
    listing = {"data": ["not a card", {"id": "other"}, {"id": "llama", "max_model_len": 8192}]}

    async def run() -> tuple:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=listing))
        async with httpx.AsyncClient(transport=transport) as http:
            models = ModelClient(http, per_endpoint=1, call_timeout_s=5)
            served = ModelEndpoint(base_url="http://models/v1", model="llama")
            return (await models.model_card(served),
                    await models.model_card(served.model_copy(update={"model": "absent"})))

    assert asyncio.run(run()) == ({"id": "llama", "max_model_len": 8192}, None)
    one = ModelEndpoint(base_url="http://models/v1", model="llama", api_key="a")
    assert one.server_key == one.model_copy(update={"api_key": "b", "gpu_name": "H100"}).server_key
    assert one.server_key != one.model_copy(update={"model": "other"}).server_key
