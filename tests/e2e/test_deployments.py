"""Quantization tiers name deployed model servers: an undeployed tier is refused at submit."""

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests.support.http_server import send_json, serving
from tests.support.stack import Stack, running


def test_undeployed_tier_is_refused_naming_the_deployed_ones(sqlite_url, tmp_path):
    stack = Stack(database_url=sqlite_url, workdir=tmp_path)
    only_int4 = {role: {"int4": {"base_url": stack.url("lite") + "/v1", "model": f"lite-{role}"}}
                 for role in ("vision", "text")}
    stack.extra_env["MODEL_ENDPOINTS"] = json.dumps(only_int4)
    stack.extra_env["RUN_WORKERS"] = "false"  # only the submit path is under test
    with running(stack, "lite", "orchestrator", "gateway"):
        api = stack.url("gateway")
        refused = requests.post(f"{api}/analyze", json={
            "youtube_url": "https://example.com/v.mp4", "vision_quantization": "int8"})
        assert refused.status_code == 422
        assert "int8" in refused.json()["detail"] and "deployed vision tiers: int4" in refused.json()["detail"]
        refused = requests.post(f"{api}/analyze", json={
            "youtube_url": "https://example.com/v.mp4", "text_quantization": "fp16"})
        assert refused.status_code == 422 and "deployed text tiers: int4" in refused.json()["detail"]
        assert requests.get(f"{api}/tasks").json()["total"] == 0  # nothing was created

        accepted = requests.post(f"{api}/analyze", json={"youtube_url": "https://example.com/v.mp4"})
        assert accepted.status_code == 200 and accepted.json()["status"] == "pending"
        health = requests.get(f"{api}/health").json()
        assert health["status"] == "healthy" and health["active_tasks"] == 1
        assert health["gpu_available"] is False and health["gpu_name"] is None


class FakeGpuVllmModels(BaseHTTPRequestHandler):
    """Answers /v1/models the way a vLLM server on a GPU does (no GPU can exist here)."""

    def do_GET(self) -> None:
        cards = [{"id": name, "object": "model", "created": 0, "owned_by": "vllm", "root": name,
                  "max_model_len": 8192} for name in ("llama-vision", "llama-text")]
        send_json(self, 200 if self.path == "/v1/models" else 404, {"object": "list", "data": cards})

    def log_message(self, *args) -> None:
        pass


def test_health_reports_the_gpu_an_endpoint_declares(sqlite_url, tmp_path):
    """vLLM does not say which GPU it runs on over the OpenAI API; the endpoint's gpu_name is reported."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGpuVllmModels)
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    stack = Stack(database_url=sqlite_url, workdir=tmp_path)
    endpoints = {role: {"int4": {"base_url": base, "model": f"llama-{role}", "gpu_name": "NVIDIA H100 80GB HBM3"}}
                 for role in ("vision", "text")}
    stack.extra_env.update(MODEL_ENDPOINTS=json.dumps(endpoints), RUN_WORKERS="false")
    with serving(server), running(stack, "orchestrator", "gateway"):
        health = requests.get(stack.url("gateway") + "/health").json()
        assert health["status"] == "healthy"
        assert health["gpu_available"] is True and health["gpu_name"] == "NVIDIA H100 80GB HBM3"
        server.shutdown()  # the model servers go away: no GPU is claimed for what cannot be reached
        health = requests.get(stack.url("gateway") + "/health").json()
        assert health["status"] == "degraded" and health["gpu_available"] is False
