"""Model calls are timed and their failures counted per attempt, by endpoint (model name), role and reason,
through the client's retries (the model server is a stand-in: httpx.MockTransport)."""

import asyncio
import uuid

import httpx
import pytest
from prometheus_client import REGISTRY

from orchestrator.clients.models import ModelClient
from orchestrator.config import ModelEndpoint
from service_common.errors import PermanentError

COMPLETION = {"choices": [{"message": {"role": "assistant", "content": "a frame"}}]}
SLOW = "slow"  # an answer that comes after the call's time limit


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr("service_common.http.BACKOFF_FIRST_S", 0.01)
    monkeypatch.setattr("service_common.http.BACKOFF_JITTER_S", 0.01)


@pytest.fixture
def model() -> str:
    return f"metrics-test-{uuid.uuid4().hex[:8]}"  # a label value of this test's own


def sample(model: str, name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, {"endpoint": model, **labels}) or 0.0


def call(model: str, answers: list, role: str, timeout_s: float = 5.0) -> str:
    """One ModelClient.chat; the server answers each attempt with the next of `answers`."""

    async def answer(request: httpx.Request) -> httpx.Response:
        outcome = answers.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == SLOW:
            await asyncio.sleep(timeout_s * 5)
            outcome = 200
        return httpx.Response(outcome, json=COMPLETION if outcome == 200 else {"detail": "busy"})

    async def run() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            client = ModelClient(http, per_endpoint=2, call_timeout_s=timeout_s)
            return await client.chat(ModelEndpoint(base_url="http://models.test/v1", model=model),
                                     [{"role": "user", "content": "hi"}], "model failed", role=role)

    return asyncio.run(run())


def test_each_attempt_is_timed_and_each_failure_counted_by_reason(model):
    assert call(model, [503, httpx.ConnectError("refused"), 200], "vision") == "a frame"
    assert sample(model, "orchestrator_model_call_errors_total", role="vision", reason="http_503") == 1
    assert sample(model, "orchestrator_model_call_errors_total", role="vision", reason="unreachable") == 1
    assert sample(model, "orchestrator_model_call_duration_seconds_count", role="vision") == 3
    assert sample(model, "orchestrator_model_call_duration_seconds_count", role="text") == 0


def test_a_refused_call_is_counted_once(model):
    with pytest.raises(PermanentError):
        call(model, [400], "text")
    assert sample(model, "orchestrator_model_call_errors_total", role="text", reason="http_400") == 1
    assert sample(model, "orchestrator_model_call_duration_seconds_count", role="text") == 1


def test_calls_past_their_time_limit_are_timeouts(model):
    assert call(model, [httpx.ReadTimeout("no answer"), SLOW, 200], "speech", timeout_s=0.2) == "a frame"
    assert sample(model, "orchestrator_model_call_errors_total", role="speech", reason="timeout") == 2
    assert sample(model, "orchestrator_model_call_duration_seconds_count", role="speech") == 3
