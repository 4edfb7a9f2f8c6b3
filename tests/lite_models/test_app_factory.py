"""Settings reach the served app: a second real server process, configured through the environment."""

import httpx

from lite_models.config import LiteSettings
from tests.support.processes import free_port, run_service


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("VISION_MODEL_NAME", "env-vision")
    monkeypatch.setenv("MAX_IMAGE_BYTES", "1024")
    settings = LiteSettings()
    assert settings.vision_model_name == "env-vision" and settings.max_image_bytes == 1024
    assert settings.text_model_name == "lite-text"


def test_configured_server():
    env = {"VISION_MODEL_NAME": "frames-v1", "TEXT_MODEL_NAME": "notes-v1", "MAX_REQUEST_BYTES": "2000"}
    with (
        run_service("lite_models.app:create_app", free_port(), env=env) as (base, _process),
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["frames-v1", "notes-v1", "lite-speech"]
        ok = client.post("/v1/chat/completions", json={
            "model": "notes-v1", "n": 2,
            "messages": [{"role": "user", "content": "Cats sleep a lot. Dogs bark at night."}]})
        assert ok.status_code == 200 and len(ok.json()["choices"]) == 2
        gone = client.post("/v1/chat/completions", json={
            "model": "lite-text", "messages": [{"role": "user", "content": "hi"}]})
        assert gone.status_code == 404
        too_big = client.post("/v1/chat/completions", content=b"x" * 5000,
                              headers={"content-type": "application/json"})
        assert too_big.status_code == 413 and "larger than" in too_big.json()["error"]["message"]
