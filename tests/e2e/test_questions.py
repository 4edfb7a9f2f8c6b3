"""Questions about an analysed video (POST /tasks/{id}/ask) on one real stack with the lite models and API
keys on: an answer drawn from the video's subtitles with the time it was said, 409 before the task is
completed, 404 for another key's task, 422 for an empty or oversized question, the key's rate limit, and
`video-analysis ask`."""

import re
import uuid

import httpx
import pytest

from tests.cli.cli_runner import assert_clean_failure, video_analysis
from tests.support.polling import wait_until
from tests.support.stack import running_stack
from tests.support.videos import DEFAULT_CUES
from video_analysis_cli import errors

KEYS = {"alice": "key-of-alice-0001", "bob": "key-of-bob-00001", "carol": "key-of-carol-0001"}
ALICE, BOB, CAROL = ({"Authorization": f"Bearer {KEYS[name]}"} for name in ("alice", "bob", "carol"))
RATE = 15  # requests a minute per key; Carol spends hers, the others stay well under it


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    settings = {"API_KEYS": ",".join(f"{name}:{key}" for name, key in KEYS.items())}
    with running_stack(tmp_path_factory.mktemp("questions"), extra_env=settings,
                       service_env={"gateway": {"RATE_LIMIT": f"{RATE}/minute"}}) as stack:
        yield stack


def task_status(stack, task_id: str, owner: str = "alice") -> str:
    # Read from the orchestrator itself, so that waiting costs nothing of Alice's rate at the gateway.
    answer = httpx.get(f"{stack.url('orchestrator')}/internal/tasks/{task_id}", headers={"X-Task-Owner": owner})
    return answer.json()["status"]


@pytest.fixture(scope="module")
def api(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.url("gateway"), timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def analysed(stack, api, video_site) -> str:
    """A completed task of Alice's: the video site's clip, whose subtitles are DEFAULT_CUES."""
    started = api.post("/analyze", json={"youtube_url": f"{video_site}/watch.html", "max_frames": 2}, headers=ALICE)
    assert started.status_code == 200, started.text
    task_id = started.json()["task_id"]
    wait_until(lambda: task_status(stack, task_id) in ("completed", "failed"), 60, "the task never finished", 0.2)
    assert task_status(stack, task_id) == "completed", api.get(f"/tasks/{task_id}", headers=ALICE).text
    return task_id


def test_an_answer_quotes_what_is_said_and_cites_when(api, analysed):
    start, end, said = DEFAULT_CUES[1]  # "The red square moves slowly across the screen." from 3.0 s to 5.5 s
    response = api.post(f"/tasks/{analysed}/ask", json={"question": "What moves slowly across the screen?"},
                        headers=ALICE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"answer", "citations"}
    assert said in body["answer"] and "[1]" in body["answer"]
    assert "Welcome" not in body["answer"], "the sentence that answers, not the whole passage"
    cited = body["citations"][0]
    assert said in cited["text"]
    assert cited["start"] <= start and cited["end"] >= end, f"{cited} does not cover {start}–{end} s"


def test_a_question_nothing_answers_says_so(api, analysed):
    response = api.post(f"/tasks/{analysed}/ask", json={"question": "Who won the football match?"}, headers=ALICE)
    assert response.status_code == 200, response.text
    assert response.json() == {"answer": "None of the passages answers this question.", "citations": []}


def test_a_running_task_is_not_asked_yet(stack, api, silent_origin):
    started = api.post("/analyze", json={"youtube_url": silent_origin}, headers=ALICE)
    task_id = started.json()["task_id"]
    try:
        response = api.post(f"/tasks/{task_id}/ask", json={"question": "What is said?"}, headers=ALICE)
        assert response.status_code == 409, response.text
        status = task_status(stack, task_id)
        assert status in ("pending", "downloading")
        assert response.json()["detail"] in {
            f"Task {task_id} is {s}: questions can be asked once its status is completed"
            for s in ("pending", "downloading")}
    finally:
        api.delete(f"/tasks/{task_id}", headers=ALICE)


def test_another_keys_task_or_an_unknown_one_is_not_found(api, analysed):
    question = {"question": "What moves across the screen?"}
    for task_id, headers in ((analysed, BOB), (str(uuid.uuid4()), ALICE), ("not-a-task", ALICE)):
        response = api.post(f"/tasks/{task_id}/ask", json=question, headers=headers)
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": f"Task {task_id} not found"}
    assert api.post(f"/tasks/{analysed}/ask", json=question).status_code == 401


@pytest.mark.parametrize("question", ["", "   \n ", "x" * 1001, None], ids=["empty", "blank", "1001-chars", "null"])
def test_an_empty_or_oversized_question_is_refused(api, analysed, question):
    response = api.post(f"/tasks/{analysed}/ask", json={"question": question}, headers=BOB)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "question"]


def test_a_question_of_the_longest_length_is_answered(api, analysed):
    question = ("Does the red square move? " * 40)[:1000]
    response = api.post(f"/tasks/{analysed}/ask", json={"question": question}, headers=ALICE)
    assert response.status_code == 200, response.text
    assert response.json()["citations"]


def test_asking_counts_towards_the_keys_rate_limit(api):
    question = {"question": "What is said?"}
    codes = [api.post(f"/tasks/{uuid.uuid4()}/ask", json=question, headers=CAROL).status_code for _ in range(RATE)]
    assert codes == [404] * RATE
    limited = api.post(f"/tasks/{uuid.uuid4()}/ask", json=question, headers=CAROL)
    assert limited.status_code == 429 and "RATE_LIMIT" in limited.json()["detail"]


def test_the_cli_prints_the_answer_and_its_sources(stack, analysed):
    run = video_analysis("ask", analysed, "What moves slowly across the screen?", url=stack.url("gateway"),
                         key=KEYS["alice"])
    assert run.returncode == 0, run.stderr
    answer, _, sources = run.stdout.partition("\nSources\n")
    assert DEFAULT_CUES[1][2] in answer and "[1]" in answer
    assert re.match(r"  \[1\] 0:0\d–0:(0\d|10)  .*red square moves", sources), run.stdout
    missing = str(uuid.uuid4())
    assert_clean_failure(video_analysis("ask", missing, "Anything?", url=stack.url("gateway"), key=KEYS["bob"]),
                         errors.NOT_FOUND, f"Task {missing} not found")
