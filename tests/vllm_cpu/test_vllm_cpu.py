"""A real vLLM (CPU build, tiny random-weight models) behind the orchestrator: the serving path, not the answers.

The environment and the models are built once and cached by scripts/vllm_cpu_env.sh (minutes the first time,
a no-op later). Servers run one at a time, each in its own process group, and are stopped with it.
"""

import base64
import io
import json
import time

import pytest
import requests

from tests.support.http_server import serve_directory
from tests.support.stack import Stack, running
from tests.support.videos import write_video_site
from tests.vllm_cpu.server import build_env, tail, vllm_server

# The first run builds the environment (several minutes); every test here may wait for a server to start.
pytestmark = pytest.mark.timeout(1800)

TERMINAL = {"completed", "failed"}


@pytest.fixture(scope="session")
def vllm_home():
    return build_env()


class OneServerAtATime:
    """Starts the server a test asks for, stopping the one before it (2 cores: never two at once)."""

    def __init__(self, home, workdir):
        self.home, self.workdir = home, workdir
        self.current = None  # (model, base, log, context manager)

    def get(self, model: str, served_name: str):
        if self.current and self.current[0] == model:
            return self.current[1], self.current[2]
        self.close()
        log = self.workdir / f"vllm-{model}.log"
        context = vllm_server(self.home, model, served_name, log)
        base = context.__enter__()
        self.current = (model, base, log, context)
        return base, log

    def close(self):
        if self.current:
            current, self.current = self.current, None
            current[3].__exit__(None, None, None)


@pytest.fixture(scope="module")
def servers(vllm_home, tmp_path_factory):
    servers = OneServerAtATime(vllm_home, tmp_path_factory.mktemp("vllm"))
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
def text_server(servers):
    return servers.get("text", "tiny-llama")


@pytest.fixture
def vision_server(servers):
    return servers.get("vision", "tiny-llava")


def _chat_calls(log) -> int:
    return tail(log, 10**8).count('"POST /v1/chat/completions HTTP/1.1" 200')


def jpeg_data_url() -> str:
    from PIL import Image

    image = Image.new("RGB", (96, 64), (200, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"},
                                            "key_points": {"type": "array", "items": {"type": "string"}}},
          "required": ["summary", "key_points"]}


def test_text_server_lists_its_model_and_honours_a_json_schema(text_server):
    base, log = text_server
    models = requests.get(f"{base}/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == ["tiny-llama"]

    response = requests.post(f"{base}/chat/completions", timeout=120, json={
        "model": "tiny-llama", "max_tokens": 64, "temperature": 0,
        "messages": [{"role": "system", "content": "Answer with JSON."},
                     {"role": "user", "content": "Summarise: a red square moves across the screen. 안녕하세요."}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMA}},
    })
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert isinstance(choice["message"]["content"], str)
    if choice["finish_reason"] == "stop":  # a random model may run out of tokens mid-JSON; if not, it's valid
        assert set(json.loads(choice["message"]["content"])) >= {"summary", "key_points"}


def test_vision_server_describes_a_data_url_image(vision_server):
    base, _log = vision_server
    assert [m["id"] for m in requests.get(f"{base}/models", timeout=10).json()["data"]] == ["tiny-llava"]
    started = time.monotonic()
    response = requests.post(f"{base}/chat/completions", timeout=120, json={
        "model": "tiny-llava", "max_tokens": 32, "temperature": 0,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Describe this video frame."},
            {"type": "image_url", "image_url": {"url": jpeg_data_url()}},
        ]}],
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["choices"][0]["message"]["content"], str)
    # The image really reached the model: its placeholder expands to one token per patch.
    text_only = requests.post(f"{base}/chat/completions", timeout=120, json={
        "model": "tiny-llava", "max_tokens": 1, "messages": [{"role": "user", "content": "Describe this video frame."}],
    }).json()
    assert body["usage"]["prompt_tokens"] > text_only["usage"]["prompt_tokens"] + 10
    assert time.monotonic() - started < 60


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    write_video_site(root, seconds=6)
    with serve_directory(root) as base:
        yield base


def test_a_whole_task_through_gateway_orchestrator_and_vllm_ends_cleanly(vision_server, site, tmp_path):
    """One server does both roles (it handles text and images); its answers are gibberish, so the task may
    complete or fail, but it must end, and a failure must read as one clear line."""
    base, log = vision_server
    calls_before = _chat_calls(log)
    endpoint = {"base_url": base, "model": "tiny-llava"}
    endpoints = {role: dict.fromkeys(("int4", "int8", "fp16"), endpoint) for role in ("vision", "text")}
    stack = Stack(database_url=f"sqlite:///{tmp_path / 'tasks.db'}", workdir=tmp_path,
                  extra_env={"MODEL_ENDPOINTS": json.dumps(endpoints), "MODEL_CALL_TIMEOUT_S": "60",
                             # vLLM keeps a core busy; the stack's 3 s lease (for crash tests) can lapse
                             # during a model call on 2 cores and hand the task to a retry.
                             "LEASE_S": "30", "MAX_ATTEMPTS": "1"})
    with running(stack, more_logs=lambda: tail(log)):
        api = stack.url("gateway")
        task_id = requests.post(f"{api}/analyze", json={"youtube_url": f"{site}/watch.html", "max_frames": 3},
                                timeout=30).json()["task_id"]
        deadline = time.monotonic() + 240
        while True:
            result = requests.get(f"{api}/tasks/{task_id}", timeout=10).json()
            if result["status"] in TERMINAL:
                break
            assert time.monotonic() < deadline, f"task still {result['status']}"
            time.sleep(0.5)
        print(f"task {result['status']}: {result['error'] or result['summary'][:80]!r}")
        if result["status"] == "completed":
            assert result["error"] is None
            assert isinstance(result["summary"], str) and result["summary"]
            assert len(result["frame_analyses"]) == 3
        else:
            error = result["error"]
            assert error and "\n" not in error and "Traceback" not in error, error
            # It got as far as the models: download, frames and transcript worked on the real stack.
            assert "model" in error.lower(), error
        assert requests.get(f"{api}/health", timeout=10).status_code == 200
        # Every frame and the summary went to the real server.
        assert _chat_calls(log) - calls_before >= 4, (calls_before, _chat_calls(log))
