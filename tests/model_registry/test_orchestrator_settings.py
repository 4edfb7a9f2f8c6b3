"""The orchestrator's deployments: MODEL_ENDPOINTS, else the registry with MODEL_BACKEND=vllm, else lite."""

import json

import pytest

from orchestrator.config import ModelEndpoint, OrchestratorSettings
from orchestrator.deployments import Deployments


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("MODEL_ENDPOINTS", "MODEL_BACKEND", "MODEL_PROFILE", "MODEL_DEPLOYED", "MODEL_BASE_URLS",
                 "MODEL_REGISTRY", "MODEL_HOST", "VLLM_API_KEY", "MODEL_GPU_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_lite_by_default():
    found = Deployments.from_settings(OrchestratorSettings())
    assert set(found) == {"vision", "text"} and set(found["vision"]) == {"int4", "int8", "fp16"}
    assert found["text"]["fp16"].model == "lite-text"


def test_vllm_backend_reads_the_registry(monkeypatch):
    monkeypatch.setenv("MODEL_BACKEND", "vllm")
    monkeypatch.setenv("MODEL_BASE_URLS", json.dumps({"vision-int4": "http://vllm-vision:8000/v1"}))
    monkeypatch.setenv("VLLM_API_KEY", "sk-local")
    monkeypatch.setenv("MODEL_GPU_NAME", "NVIDIA H100 80GB HBM3")
    found = Deployments.from_settings(OrchestratorSettings())
    assert {role: sorted(tiers) for role, tiers in found.items()} == {"vision": ["int4"], "text": ["int4"]}
    vision, text = found["vision"]["int4"], found["text"]["int4"]
    assert (vision.base_url, vision.model) == ("http://vllm-vision:8000/v1", "llama-3.2-11b-vision-int4")
    assert (text.base_url, text.model) == ("http://127.0.0.1:8111/v1", "llama-3.1-8b-int4")
    assert vision.api_key == text.api_key == "sk-local" and text.gpu_name == "NVIDIA H100 80GB HBM3"


def test_vllm_backend_with_another_profile_and_tiers(monkeypatch):
    monkeypatch.setenv("MODEL_BACKEND", "vllm")
    monkeypatch.setenv("MODEL_PROFILE", "llama4")
    monkeypatch.setenv("MODEL_DEPLOYED", "vision-int4,vision-fp16,text-int8")
    monkeypatch.setenv("MODEL_HOST", "gpu-box")
    found = Deployments.from_settings(OrchestratorSettings())
    assert found["vision"]["int4"].model == "llama-4-scout-17b-16e-int4"
    assert found["vision"]["fp16"].base_url == "http://gpu-box:8123/v1"
    assert list(found["text"]) == ["int8"]


def test_explicit_endpoints_override_the_registry(monkeypatch):
    monkeypatch.setenv("MODEL_BACKEND", "vllm")
    monkeypatch.setenv("MODEL_ENDPOINTS", json.dumps({"text": {"fp16": {"base_url": "http://x/v1", "model": "m"}}}))
    assert list(Deployments.from_settings(OrchestratorSettings())) == ["text"]


def test_endpoints_are_looked_up_by_role_and_tier():
    text = ModelEndpoint(base_url="http://t/v1", model="m")
    deployed = Deployments({"text": {"int8": text}})
    assert deployed.endpoint("text", "int8") == text and deployed.tiers("text") == {"int8": text}
    assert deployed.endpoint("text", "int4") is None and deployed.endpoint("text", None) is None
    assert deployed.endpoint("vision", "int8") is None and deployed.tiers("vision") == {}
    assert dict(deployed) == {"text": {"int8": text}} and deployed.speech is None
