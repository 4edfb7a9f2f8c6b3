"""Fields beyond the original guide: frame strategy, transcript languages, uploaded files."""

import httpx
import pytest

URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def analyze(gateway, **fields):
    return httpx.post(gateway + "/analyze", json={"youtube_url": URL, **fields})


def test_strategy_and_languages_are_forwarded(gateway, orchestrator_stub):
    response = analyze(gateway, frame_strategy="uniform", transcript_languages=["pt-BR", "en"])
    assert response.status_code == 200, response.text
    [sent] = orchestrator_stub.requests_to()
    assert sent.body["frame_strategy"] == "uniform" and sent.body["transcript_languages"] == ["pt-BR", "en"]


@pytest.mark.parametrize("fields", [
    {"frame_strategy": "random"},
    {"frame_strategy": None},
    {"transcript_languages": "en"},
    {"transcript_languages": ["english language"]},
    {"transcript_languages": ["en"] * 11},
    {"transcript_languages": [1]},
    {"language": "e"},
    {"language": "<script>"},
    {"prompt": "x" * 2001},
    {"prompt": 5},
])
def test_bad_additive_fields_are_422(gateway, orchestrator_stub, fields):
    response = analyze(gateway, **fields)
    assert response.status_code == 422, response.text
    assert orchestrator_stub.requests == []


def test_output_language_and_prompt_are_forwarded(gateway, orchestrator_stub):
    response = analyze(gateway, language="Korean", prompt="focus on the prices")
    assert response.status_code == 200, response.text
    [sent] = orchestrator_stub.requests_to()
    assert (sent.body["language"], sent.body["prompt"]) == ("Korean", "focus on the prices")


def test_upload_urls_are_accepted_in_place_of_a_video_url(gateway, orchestrator_stub):
    upload_url = "upload://" + "ab" * 16
    response = httpx.post(gateway + "/analyze", json={"youtube_url": upload_url})
    assert response.status_code == 200, response.text
    assert orchestrator_stub.requests_to()[0].body["youtube_url"] == upload_url
    for bad in ("upload://", "upload://../../etc/passwd", "upload://x"):
        assert httpx.post(gateway + "/analyze", json={"youtube_url": bad}).status_code == 422


def test_upload_needs_multipart(gateway):
    response = httpx.post(gateway + "/uploads", content=b"raw bytes", headers={"content-type": "video/mp4"})
    assert response.status_code == 422 and "multipart/form-data" in response.json()["detail"]


def test_frame_image_of_unknown_task_is_404(gateway):
    assert httpx.get(gateway + "/tasks/not-a-uuid/frames/0.jpg").status_code == 404
