"""Speech to text through the lite server's real /v1/audio/transcriptions, on espeak-ng speech made here."""

import os
import re
import subprocess
import sys

import httpx
import pytest

from tests.support.netguard import breaches, netguard_env
from tests.support.processes import REPO, free_port, run_service
from tests.support.speech import silence, speak, spoken_timeline, spoken_video, tone

MODEL = "lite-speech"
PANGRAM = "Please open the door and close the window."


@pytest.fixture(scope="module")
def client(lite_server):
    with httpx.Client(base_url=lite_server, timeout=120) as http:
        yield http


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def overlap(heard: str, said: str) -> float:
    return len(words(heard) & words(said)) / len(words(said))


def transcribe(client, path, **fields):
    data = {"model": MODEL, **fields}
    return client.post("/v1/audio/transcriptions", files={"file": (path.name, path.read_bytes())}, data=data)


@pytest.fixture(scope="module")
def late_sentence(tmp_path_factory):
    """Silence, then a sentence from second 5 on, then a second sentence from second 12 on."""
    return spoken_timeline(tmp_path_factory.mktemp("speech") / "late.wav",
                           [(5.0, "Hello world. Good morning everyone."), (12.0, PANGRAM)])


def test_speech_model_is_listed(client):
    assert MODEL in [model["id"] for model in client.get("/v1/models").json()["data"]]
    assert client.get(f"/v1/models/{MODEL}").json()["id"] == MODEL


def test_json_transcript_has_the_words(client, tmp_path):
    response = transcribe(client, speak(tmp_path / "door.wav", PANGRAM))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert overlap(response.json()["text"], PANGRAM) >= 0.8


def test_verbose_json_segment_times_follow_the_speech(client, late_sentence):
    body = transcribe(client, late_sentence, response_format="verbose_json").json()
    assert body["task"] == "transcribe" and body["language"] == "en"
    assert body["duration"] == pytest.approx(15, abs=1.5)
    first = body["segments"][0]
    assert first["start"] == pytest.approx(5.0, abs=0.8), body["segments"]
    assert overlap(first["text"], "Hello world good morning everyone") >= 0.6
    assert overlap(body["text"], PANGRAM) >= 0.8
    assert [s["id"] for s in body["segments"]] == list(range(len(body["segments"])))
    assert all(s["start"] < s["end"] <= body["duration"] + 0.5 for s in body["segments"])
    assert body["words"] is None


def test_word_timestamps(client, late_sentence):
    body = transcribe(client, late_sentence, response_format="verbose_json",
                      **{"timestamp_granularities[]": ["word", "segment"]}).json()
    starts = {w["word"].lower().strip(".,"): w for w in body["words"]}
    assert 5.0 <= starts["morning"]["start"] < starts["morning"]["end"] < 9.0, body["words"]
    assert 12.0 <= starts["door"]["start"] < starts["door"]["end"] < 15.0, body["words"]
    assert body["segments"]


@pytest.mark.parametrize("response_format", ["text", "srt", "vtt"])
def test_text_formats(client, late_sentence, response_format):
    response = transcribe(client, late_sentence, response_format=response_format)
    assert response.status_code == 200
    body = response.text
    assert overlap(body, PANGRAM) >= 0.6
    if response_format == "srt":
        assert body.startswith("1\n00:00:0") and re.search(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:1\d,\d{3}", body)
    if response_format == "vtt":
        assert body.startswith("WEBVTT\n") and re.search(r"\d\d:\d\d:\d\d\.\d{3} --> ", body)
    if response_format == "text":
        assert response.headers["content-type"].startswith("text/plain") and "-->" not in body


def test_speech_in_a_video(client, tmp_path):
    said = "Welcome to the garden. The children are playing football in the park."
    response = transcribe(client, spoken_video(tmp_path / "talk.mp4", said))
    assert response.status_code == 200 and overlap(response.json()["text"], said) >= 0.7


def test_language_and_prompt_are_passed_through(client, tmp_path):
    audio = speak(tmp_path / "door.wav", PANGRAM)
    english = transcribe(client, audio, language="EN", prompt="Household instructions.",
                         response_format="verbose_json")
    assert english.status_code == 200 and english.json()["language"] == "en"
    # The packaged tiny.en knows English alone: it hears a French request as English, and says so.
    french = transcribe(client, audio, language="fr", response_format="verbose_json")
    assert french.status_code == 200 and french.json()["language"] == "en"
    assert overlap(french.json()["text"], PANGRAM) >= 0.8
    not_a_code = transcribe(client, audio, language="french!")
    assert not_a_code.status_code == 400 and not_a_code.json()["error"]["param"] == "language"


@pytest.mark.parametrize("make_audio", [silence, tone], ids=["silence", "tone"])
def test_non_speech_gives_no_words(client, tmp_path, make_audio):
    audio = make_audio(tmp_path / "quiet.wav", 12)
    body = transcribe(client, audio, response_format="verbose_json").json()
    assert body["segments"] == [] and body["text"] == ""
    assert transcribe(client, audio, response_format="srt").text == ""


@pytest.mark.parametrize("payload", [b"\x00garbage bytes " * 200, b"", b"RIFF\x10\x00\x00\x00WAVEfmt "],
                         ids=["garbage", "empty", "truncated-wav"])
def test_undecodable_file_is_a_400(client, payload):
    response = client.post("/v1/audio/transcriptions", files={"file": ("clip.wav", payload)}, data={"model": MODEL})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_audio" and response.json()["error"]["param"] == "file"


def test_request_errors(client, tmp_path):
    audio = speak(tmp_path / "hi.wav", "Hello world.")
    assert transcribe(client, audio, model="whisper-9").status_code == 404
    bad_format = transcribe(client, audio, response_format="xml")
    assert bad_format.status_code == 400 and bad_format.json()["error"]["param"] == "response_format"
    words_as_json = transcribe(client, audio, **{"timestamp_granularities[]": "word"})
    assert words_as_json.status_code == 400
    no_file = client.post("/v1/audio/transcriptions", data={"model": MODEL},
                          files={"attachment": ("hi.wav", audio.read_bytes())})
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    as_json = client.post("/v1/audio/transcriptions", json={"model": MODEL})
    assert as_json.status_code == 400 and "multipart" in as_json.json()["error"]["message"]


def test_upload_size_and_audio_length_are_bounded(tmp_path, late_sentence):
    limit = 600_000
    big = speak(tmp_path / "door.wav", " ".join([PANGRAM] * 8))
    small = speak(tmp_path / "hi.wav", "Hi.")
    assert big.stat().st_size > limit > late_sentence.stat().st_size > small.stat().st_size
    env = {"SPEECH_MAX_UPLOAD_BYTES": str(limit), "SPEECH_MAX_AUDIO_SECONDS": "10"}
    with (
        run_service("lite_models.app:create_app", free_port(), env=env) as (base, _),
        httpx.Client(base_url=base, timeout=60) as http,
    ):
        too_big = transcribe(http, big)
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "request_too_large"
        too_long = transcribe(http, late_sentence)  # 15 s of audio, under the byte limit
        assert too_long.status_code == 413 and too_long.json()["error"]["code"] == "audio_too_long"
        assert transcribe(http, small).status_code == 200


def test_default_model_needs_no_network(tmp_path):
    """The packaged model loads with no hub cache, and the server sends nothing off loopback."""
    breach_log, hub_home = tmp_path / "breaches.log", tmp_path / "hf-home"
    env = {**netguard_env(breach_log), "HF_HOME": str(hub_home), "SPEECH_MODEL_NAME": "ears"}
    with (
        run_service("lite_models.app:create_app", free_port(), env=env) as (base, _),
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        response = http.post("/v1/audio/transcriptions", data={"model": "ears"},
                             files={"file": ("door.wav", speak(tmp_path / "door.wav", PANGRAM).read_bytes())})
        assert response.status_code == 200 and overlap(response.json()["text"], PANGRAM) >= 0.8
    assert breaches(breach_log) == [] and not hub_home.exists()


def test_unavailable_model_stops_start_up(tmp_path):
    env = {"SPEECH_MODEL": "tiny", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hub")}
    started = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "lite_models.app:create_app", "--port", str(free_port())],
        env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert started.returncode == 3
    errors = [line for line in started.stderr.splitlines() if "cannot start" in line]
    assert len(errors) == 1 and "'tiny'" in errors[0] and "SPEECH_MODEL" in errors[0]
    assert "Traceback" not in started.stderr
