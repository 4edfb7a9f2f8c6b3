"""API keys, per-key isolation, rate limits and task quotas: a real gateway and orchestrator (workers
off, so submitted tasks stay queued) on PostgreSQL."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.support.processes import REPO
from tests.support.stack import Stack, running

ALICE, BOB, CAROL = "alice-key-0001-secret", "bob-key-0002-secret", "carol-key-0003-secret"
KEYS = f"alice:{ALICE},bob:{BOB},carol:{CAROL}"
QUOTA = 3
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def stack(module_postgres_url, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("api-keys")
    stack = Stack(database_url=module_postgres_url, workdir=workdir, extra_env={
        "API_KEYS": KEYS, "RUN_WORKERS": "false", "ACTIVE_TASKS_PER_KEY": str(QUOTA), "RATE_LIMIT": "1000/minute"})
    with running(stack, "orchestrator", "gateway"):
        yield stack


@pytest.fixture(scope="module")
def api(stack):
    with httpx.Client(base_url=stack.url("gateway"), timeout=20) as client:
        yield client


@pytest.fixture
def clean(api):
    """Each test starts with no tasks for any key."""
    for key in (ALICE, BOB, CAROL):
        for task in api.get("/tasks", headers=bearer(key)).json()["tasks"]:
            api.delete(f"/tasks/{task['task_id']}", headers=bearer(key))


PROTECTED = [
    ("POST", "/analyze", {"json": {"youtube_url": VIDEO}}),
    ("GET", "/tasks", {}),
    ("GET", "/tasks/00000000-0000-0000-0000-000000000000", {}),
    ("DELETE", "/tasks/00000000-0000-0000-0000-000000000000", {}),
    ("GET", "/tasks/00000000-0000-0000-0000-000000000000/frames/0.jpg", {}),
    ("POST", "/uploads", {"files": {"file": ("a.mp4", b"0" * 10, "video/mp4")}}),
    ("GET", "/v1/models", {}),
    ("POST", "/v1/chat/completions", {"json": {"model": "lite-text", "messages": []}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
@pytest.mark.parametrize("headers", [{}, bearer("wrong-key-0000-0000"), {"X-API-Key": "wrong-key-0000-0000"},
                                     {"Authorization": f"Basic {ALICE}"}], ids=["none", "bearer", "x-api-key", "basic"])
def test_protected_routes_need_a_valid_key(api, method, path, kwargs, headers):
    response = api.request(method, path, headers=headers, **kwargs)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.json()
    message = body["error"]["message"] if path.startswith("/v1/") else body["detail"]
    assert "API key" in message


@pytest.mark.parametrize("path", ["/health", "/", "/docs", "/openapi.json"])
def test_health_and_docs_stay_open(api, path):
    assert api.get(path).status_code == 200


def test_both_header_styles_work(api, clean):
    assert api.get("/tasks", headers=bearer(ALICE)).status_code == 200
    assert api.get("/tasks", headers={"X-API-Key": BOB}).status_code == 200


def test_openai_sdk_sends_its_key_as_bearer(stack):
    good = openai.OpenAI(base_url=stack.url("gateway") + "/v1", api_key=ALICE, max_retries=0)
    assert {model.id for model in good.models.list()} >= {"lite-vision", "lite-text"}
    bad = openai.OpenAI(base_url=stack.url("gateway") + "/v1", api_key="sk-not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_a_task_is_visible_only_to_its_key(api, clean):
    task_id = api.post("/analyze", json={"youtube_url": VIDEO}, headers=bearer(ALICE)).json()["task_id"]
    assert api.get(f"/tasks/{task_id}", headers=bearer(BOB)).status_code == 404
    assert api.get(f"/tasks/{task_id}/frames/0.jpg", headers=bearer(BOB)).status_code == 404
    assert api.delete(f"/tasks/{task_id}", headers=bearer(BOB)).status_code == 404
    assert api.get("/tasks", headers=bearer(BOB)).json() == {"total": 0, "tasks": []}
    # Bob's attempts changed nothing: the task is still Alice's.
    assert api.get(f"/tasks/{task_id}", headers=bearer(ALICE)).json()["status"] == "pending"
    assert [t["task_id"] for t in api.get("/tasks", headers=bearer(ALICE)).json()["tasks"]] == [task_id]
    assert api.delete(f"/tasks/{task_id}", headers=bearer(ALICE)).status_code == 200


def test_idempotency_keys_are_per_api_key(api, clean):
    headers = {"Idempotency-Key": "order-42"}
    alice = api.post("/analyze", json={"youtube_url": VIDEO}, headers={**headers, **bearer(ALICE)})
    bob = api.post("/analyze", json={"youtube_url": VIDEO, "max_frames": 3}, headers={**headers, **bearer(BOB)})
    assert (alice.status_code, bob.status_code) == (200, 200)
    assert alice.json()["task_id"] != bob.json()["task_id"]
    assert "Idempotent-Replayed" not in bob.headers  # another key's "order-42" is not a replay, nor a conflict
    again = api.post("/analyze", json={"youtube_url": VIDEO}, headers={**headers, **bearer(ALICE)})
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["task_id"] == alice.json()["task_id"]


def test_active_task_quota_is_per_key(api, clean):
    for i in range(QUOTA):
        assert api.post("/analyze", json={"youtube_url": f"{VIDEO}&i={i}"}, headers=bearer(ALICE)).status_code == 200
    refused = api.post("/analyze", json={"youtube_url": VIDEO}, headers=bearer(ALICE))
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert "ACTIVE_TASKS_PER_KEY" in refused.json()["detail"]
    assert api.post("/analyze", json={"youtube_url": VIDEO}, headers=bearer(BOB)).status_code == 200
    # A slot frees when one of the key's tasks goes away.
    first = api.get("/tasks", headers=bearer(ALICE)).json()["tasks"][0]["task_id"]
    api.delete(f"/tasks/{first}", headers=bearer(ALICE))
    assert api.post("/analyze", json={"youtube_url": VIDEO}, headers=bearer(ALICE)).status_code == 200
    assert api.get("/tasks", headers=bearer(ALICE)).json()["total"] == QUOTA


def test_racing_submits_never_exceed_the_quota(api, clean):
    def submit(i: int) -> int:
        return api.post("/analyze", json={"youtube_url": f"{VIDEO}&race={i}"}, headers=bearer(CAROL)).status_code

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(submit, range(12)))
    assert sorted(codes) == [200] * QUOTA + [429] * (12 - QUOTA)
    assert api.get("/tasks", headers=bearer(CAROL)).json()["total"] == QUOTA


def test_request_rate_is_limited_per_key(module_postgres_url, tmp_path):
    stack = Stack(database_url=module_postgres_url, workdir=tmp_path,
                  extra_env={"API_KEYS": KEYS, "RUN_WORKERS": "false", "RATE_LIMIT": "5/minute"})
    with running(stack, "orchestrator", "gateway"), httpx.Client(base_url=stack.url("gateway"), timeout=20) as api:
        codes = [api.get("/tasks", headers=bearer(ALICE)).status_code for _ in range(5)]
        limited = api.get("/tasks", headers=bearer(ALICE))
        others = api.get("/tasks", headers=bearer(BOB))
        health = api.get("/health")
    assert codes == [200] * 5
    assert limited.status_code == 429, limited.text
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "RATE_LIMIT" in limited.json()["detail"]
    assert others.status_code == 200  # Bob has his own budget
    assert health.status_code == 200  # health checks are not rate-limited


def test_without_keys_the_rate_is_limited_per_client_address(module_postgres_url, tmp_path):
    stack = Stack(database_url=module_postgres_url, workdir=tmp_path,
                  extra_env={"RUN_WORKERS": "false", "RATE_LIMIT": "3/minute"})
    with running(stack, "orchestrator", "gateway"), httpx.Client(base_url=stack.url("gateway"), timeout=20) as api:
        codes = [api.get("/tasks").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_keys_never_reach_the_log(stack, api, clean):
    api.post("/analyze", json={"youtube_url": VIDEO}, headers=bearer(ALICE))
    api.get("/tasks", headers={"X-API-Key": BOB})
    api.get("/tasks", headers=bearer("an-unknown-key-1234"))
    logs = stack.logs()
    assert "GET /tasks" in logs  # the access log is there, and it is what we searched
    for secret in (ALICE, BOB, "an-unknown-key-1234"):
        assert secret not in logs


def run_gateway_app(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Build the gateway app the way uvicorn --factory does, without listening anywhere."""
    code = "from gateway.app import create_app; create_app()"
    return subprocess.run([sys.executable, "-c", code], env={"PATH": "/usr/bin:/bin", **env}, cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_without_keys_it_will_not_serve_beyond_loopback():
    refused = run_gateway_app({"HOST": "0.0.0.0"})
    assert refused.returncode != 0
    assert "refusing to serve 0.0.0.0 without API keys" in refused.stderr
    told = run_gateway_app({"HOST": "0.0.0.0", "ALLOW_UNAUTHENTICATED": "true"})
    assert told.returncode == 0, told.stderr
    assert "authentication is off" in told.stderr
    keyed = run_gateway_app({"HOST": "0.0.0.0", "API_KEYS": KEYS})
    assert keyed.returncode == 0, keyed.stderr
    assert "authentication is off" not in keyed.stderr


@pytest.mark.parametrize(("api_keys", "problem"), [
    ("alice", "name:key"), ("alice:short", "at least 12"), (f"alice:{ALICE},alice:{BOB}", "listed twice"),
    (f"al ice:{ALICE}", "letters, digits"),
])
def test_malformed_key_settings_stop_the_gateway(api_keys, problem):
    result = run_gateway_app({"API_KEYS": api_keys})
    assert result.returncode != 0 and problem in result.stderr
    assert ALICE not in result.stderr and BOB not in result.stderr  # a config error does not print the keys


def test_keys_can_come_from_a_file(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text(f"# operators\nalice:{ALICE}\n\nbob:{BOB}\n")
    code = ("from gateway.security import ApiKeys; from gateway.config import GatewaySettings;"
            "k = ApiKeys.from_settings(GatewaySettings());"
            f"print(k.owner_of('{ALICE}'), k.owner_of('{BOB}'), k.owner_of('nope-nope-nope'))")
    result = subprocess.run([sys.executable, "-c", code], env={"PATH": "/usr/bin:/bin", "API_KEYS_FILE": str(keys)},
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["alice", "bob", "None"], result.stderr
