"""The lite server as a real uvicorn process, spoken to over HTTP the way the orchestrator does."""

import json

import cv2
import httpx
import numpy as np
import pytest

from .conftest import (
    BREAD,
    FRAMES_ONLY_MATERIAL,
    ROCKETS,
    TRANSCRIPT_MATERIAL,
    checkerboard,
    half_red_half_blue,
    image_message,
    jpeg_data_url,
    noisy_photo,
    text_slide,
    title_card,
)

CENTRAL = "Solar panels turn sunlight into electricity using photovoltaic cells made of silicon."


@pytest.fixture(scope="module")
def client(lite_server):
    with httpx.Client(base_url=lite_server, timeout=30) as http:
        yield http


def chat(client, **body) -> httpx.Response:
    return client.post("/v1/chat/completions", json=body)


def content_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def summarise_request(**extra) -> dict:
    return {"model": "lite-text", "messages": [
        {"role": "system", "content": "You summarise videos. Answer in three sentences."},
        {"role": "user", "content": TRANSCRIPT_MATERIAL}], **extra}


def assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] == "invalid_request_error"
    return error


def test_health(client):
    assert client.get("/health").json() == {"status": "ok", "gpu_available": False, "gpu_name": None}


def test_models_list_shape(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["lite-vision", "lite-text", "lite-speech"]
    for model in body["data"]:
        assert model["object"] == "model" and model["owned_by"] == "lite-models"
        assert isinstance(model["created"], int)
        assert model["device"] == {"gpu_available": False, "gpu_name": None}
    assert client.get("/v1/models/lite-text").json()["id"] == "lite-text"


def test_completion_shape(client):
    response = chat(client, **summarise_request())
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "lite-text" and isinstance(body["created"], int)
    assert body["choices"][0]["index"] == 0
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 50 and usage["completion_tokens"] > 10
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_vision_names_the_two_halves(client):
    text = content_of(chat(client, model="lite-vision", messages=image_message(jpeg_data_url(half_red_half_blue()))))
    assert "640×360 landscape" in text
    for colour in ("red", "blue"):
        percent = int(text.split(f"{colour} (")[1].split("%")[0])
        assert 45 <= percent <= 55, text


def test_vision_black_frame(client):
    text = content_of(chat(client, model="lite-vision",
                           messages=image_message(jpeg_data_url(np.zeros((240, 320, 3), np.uint8)))))
    assert "black" in text.lower()


def test_vision_sharpness_words_differ(client):
    sharp = content_of(chat(client, model="lite-vision", messages=image_message(jpeg_data_url(checkerboard()))))
    blurred_image = cv2.GaussianBlur(checkerboard(), (0, 0), 8)
    blurred = content_of(chat(client, model="lite-vision", messages=image_message(jpeg_data_url(blurred_image))))
    assert "sharp" in sharp and "blurry" not in sharp
    assert "blurry" in blurred and "sharp" not in blurred


def test_vision_text_slide(client):
    text = content_of(chat(client, model="lite-vision", messages=image_message(jpeg_data_url(text_slide()))))
    assert "text" in text and "white" in text


def test_an_image_goes_to_vision_whatever_the_model(client):
    url = jpeg_data_url(half_red_half_blue())
    assert "Dominant colours" in content_of(chat(client, model="lite-text", messages=image_message(url)))


def test_vision_json(client):
    response = chat(client, model="lite-vision", messages=image_message(jpeg_data_url(half_red_half_blue())),
                    response_format={"type": "json_object"})
    document = json.loads(content_of(response))
    assert {c["name"] for c in document["colors"]} == {"red", "blue"}
    assert isinstance(document["faces"], int) and document["faces"] >= 0
    assert document["brightness"] and document["sharpness"] == "sharp"
    assert "red" in document["description"]


def test_text_summary(client):
    content = content_of(chat(client, **summarise_request()))
    summary, points = content.split("\n\nKey points:\n")
    assert CENTRAL in summary and summary.startswith("“How solar panels work”")
    bullets = [line.removeprefix("- ") for line in points.splitlines()]
    assert 3 <= len(bullets) <= 6 and len(set(bullets)) == len(bullets)
    assert all(b in TRANSCRIPT_MATERIAL for b in bullets)


@pytest.mark.parametrize("response_format", [
    {"type": "json_object"},
    {"type": "json_schema", "json_schema": {"name": "summary", "schema": {"type": "object"}}},
])
def test_text_json(client, response_format):
    document = json.loads(content_of(chat(client, **summarise_request(response_format=response_format))))
    assert set(document) == {"summary", "key_points"}  # an untimed transcript gets no chapters
    assert CENTRAL in document["summary"]
    assert all(isinstance(p, str) and p in TRANSCRIPT_MATERIAL for p in document["key_points"])


def test_deterministic(client):
    first = content_of(chat(client, **summarise_request()))
    assert content_of(chat(client, **summarise_request())) == first
    image = image_message(jpeg_data_url(text_slide()))
    assert content_of(chat(client, model="lite-vision", messages=image)) == \
        content_of(chat(client, model="lite-vision", messages=image))


def test_empty_material(client):
    body = {"model": "lite-text", "messages": [{"role": "user", "content": ""}],
            "response_format": {"type": "json_object"}}
    document = json.loads(content_of(chat(client, **body)))
    assert document["key_points"] == [] and "nothing" in document["summary"].lower()


def test_max_tokens_truncates(client):
    body = chat(client, **summarise_request(max_tokens=7)).json()
    assert len(body["choices"][0]["message"]["content"].split()) == 7
    assert body["choices"][0]["finish_reason"] == "length"
    document = json.loads(content_of(chat(client, **summarise_request(max_tokens=25,
                                                                      response_format={"type": "json_object"}))))
    assert set(document) == {"summary", "key_points"}


def test_streaming(client):
    with client.stream("POST", "/v1/chat/completions",
                       json=summarise_request(stream=True, stream_options={"include_usage": True})) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == content_of(chat(client, **summarise_request()))
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_unknown_model(client):
    error = assert_openai_error(chat(client, model="llama-9000", messages=[{"role": "user", "content": "hi"}]), 404)
    assert error["code"] == "model_not_found" and "llama-9000" in error["message"]


@pytest.mark.parametrize(("url", "fragment"), [
    ("http://127.0.0.1:9/frame.jpg", "data: URL"),
    ("data:image/jpeg;base64,***", "base64"),
    ("data:image/jpeg;base64,aGVsbG8gd29ybGQ=", "decode"),
])
def test_bad_images(client, url, fragment):
    error = assert_openai_error(chat(client, model="lite-vision", messages=image_message(url)), 400)
    assert fragment in error["message"]


@pytest.mark.parametrize("body", [
    b"this is not json", b"[1, 2]", b"{}", b'{"model": "lite-text"}', b'{"model": "lite-text", "messages": []}',
    b'{"model": "lite-text", "messages": [{"role": "user", "content": 5}]}',
    b'{"model": "lite-text", "messages": [{"role": "user", "content": [{"type": "video"}]}]}',
    b'{"model": "lite-text", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}',
    b"\xff\xfe\x00",
])
def test_malformed_bodies_are_400(client, body):
    response = client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert_openai_error(response, 400)


def test_frames_only_json_summary(client):
    body = {"model": "lite-text", "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": "You summarise videos."},
                         {"role": "user", "content": FRAMES_ONLY_MATERIAL}]}
    document = json.loads(content_of(chat(client, **body)))
    assert set(document) == {"summary", "key_points", "chapters"}
    assert document["chapters"][0]["start"] == "00:00"
    assert document["chapters"][0]["title"].startswith("A bright, high-contrast, sharp")
    assert "has no transcript" in document["summary"] and "8 frame descriptions" in document["summary"]
    assert document["summary"].count("No faces detected") == 1
    points = document["key_points"]
    assert len(points) == len(set(points)) and sum("No faces" in p for p in points) == 1
    assert any("00:05 and 00:12" in p for p in points)


def _slide(words: str) -> np.ndarray:
    slide = np.full((720, 1280, 3), 255, np.uint8)
    cv2.putText(slide, words, (80, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (0, 0, 0), 5)
    cv2.putText(slide, "Revenue grew by twelve percent", (80, 350), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (40, 40, 40), 3)
    return slide


def test_vision_reads_on_screen_text(client):
    url = jpeg_data_url(_slide("QUARTERLY RESULTS 2026"))
    response = chat(client, model="lite-vision", messages=image_message(url),
                    response_format={"type": "json_object"})
    document = json.loads(content_of(response))
    assert "QUARTERLY RESULTS 2026" in document["on_screen_text"]
    assert "On-screen text: “QUARTERLY RESULTS 2026" in document["description"]
    assert document["scene_kind"] == "slide"


def test_vision_describes_what_changed_between_frames(client):
    urls = [jpeg_data_url(half_red_half_blue(1280, 720)), jpeg_data_url(_slide("QUARTERLY RESULTS 2026"))]
    content = [{"type": "text", "text": "Describe these frames in order."}]
    content += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    text = content_of(chat(client, model="lite-vision", messages=[{"role": "user", "content": content}]))
    first, second = text.split("\n\nImage 2: ")
    assert "Compared with the previous frame" not in first
    assert "Compared with the previous frame: " in second
    assert "new on-screen text “QUARTERLY RESULTS 2026" in second and "colours shift from" in second


def test_korean_transcript_points_carry_times(client):
    material = ("Transcript:\n[00:05] 태양광 패널은 햇빛을 전기로 바꿉니다. 실리콘 셀이 전자를 방출합니다.\n"
                "[00:31] 인버터는 태양광 패널의 직류를 교류 전기로 바꿉니다.\n"
                "[00:40] 흐린 날에도 태양광 패널은 전기를 조금 만듭니다.\n")
    response = chat(client, model="lite-text", messages=[{"role": "user", "content": material}],
                    response_format={"type": "json_schema", "json_schema": {"name": "summary", "schema": {
                        "type": "object", "properties": {"summary": {"type": "string"},
                                                         "key_points": {"type": "array"}}}}})
    document = json.loads(content_of(response))
    assert "태양광" in document["summary"]
    assert document["key_points"] and all(p.startswith("[00:") for p in document["key_points"])
    assert document["key_points"] == sorted(document["key_points"])


@pytest.mark.parametrize("background", [None, noisy_photo()], ids=["dark", "noisy"])
def test_vision_reads_a_big_title(client, background):
    url = jpeg_data_url(title_card("LANTERN", background))
    response = chat(client, model="lite-vision", messages=image_message(url), response_format={"type": "json_object"})
    document = json.loads(content_of(response))
    assert document["on_screen_text"] == "LANTERN"
    assert "On-screen text: “LANTERN”." in document["description"]


def _timed_lines(lines: list[str], step: int = 20) -> str:
    return "\n".join(f"[{i * step // 60:02d}:{i * step % 60:02d}] {line}" for i, line in enumerate(lines))


TIMED_MATERIAL = ("Title: Rockets and bread\nDuration: 04:00\n\nTranscript:\n" + _timed_lines(ROCKETS + BREAD)
                  + "\n\nFrames:\n[00:10] A launch pad with a rocket.\n[02:10] A kitchen with a loaf of bread.")


def timed_request(system: str = "You summarise videos.") -> dict:
    return {"model": "lite-text", "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": TIMED_MATERIAL}]}


def test_timed_transcript_gets_chapters_and_timed_points(client):
    document = json.loads(content_of(chat(client, **timed_request("You summarise videos. Write your answer in en."))))
    assert set(document) == {"summary", "key_points", "chapters"}  # English material asked in English: no note
    starts = [c["start"] for c in document["chapters"]]
    assert starts == ["00:00", "02:00"]
    assert all(set(c) == {"start", "title", "summary"} and c["title"] and c["summary"]
               for c in document["chapters"])
    assert "bread" in json.dumps(document["chapters"][1]).lower()
    # Each point is a line of the transcript (or a frame) with that line's own time in front.
    timed = dict(line[1:].split("] ", 1)[::-1] for line in TIMED_MATERIAL.splitlines() if line.startswith("["))
    assert document["key_points"]
    for point in document["key_points"]:
        stamp, text = point[1:].split("] ", 1)
        assert timed[text] == stamp


@pytest.mark.parametrize(("language", "name"), [("ko", "Korean"), ("Korean", "Korean"), ("de", "German")])
def test_a_language_the_lite_model_cannot_write_is_noted(client, language, name):
    system = f"You summarise videos. Write the summary, the key points and the chapters in {language}."
    document = json.loads(content_of(chat(client, **timed_request(system))))
    assert document["notes"] == [f"the lite text model cannot write {name}: the summary, key points and chapters "
                                 "are in the transcript's language (English)"]
    assert document["chapters"] and "rocket" in document["summary"].lower()
