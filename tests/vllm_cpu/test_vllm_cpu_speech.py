"""A real vLLM (CPU build) serving a tiny random-weight Whisper on /v1/audio/transcriptions, sent the form the
orchestrator sends (model, response_format verbose_json or json, temperature, language, a WAV file). The model's
words are gibberish (often none): what is checked is the serving path, that the audio reached the model (its
duration comes back), and the answers' shapes."""

import io
import json
import math
import struct
import time
import wave

import pytest
import requests

from model_registry import load_registry
from tests.support.stack import running_stack
from tests.support.videos import make_video
from tests.vllm_cpu.server import build_env, vllm_server

pytestmark = pytest.mark.timeout(1800)  # the first run builds the environment

SECONDS = 3
SAMPLE_RATE = 16000
SERVED = "tiny-whisper"


def tone_wav(seconds: int = SECONDS, hertz: float = 440.0) -> bytes:
    """A mono 16 kHz PCM WAV of a sine tone, as the media service cuts audio for speech-to-text."""
    frames = b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * hertz * i / SAMPLE_RATE)))
                      for i in range(seconds * SAMPLE_RATE))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(frames)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    """(base URL, log file) of the server."""
    home = build_env()
    log = tmp_path_factory.mktemp("vllm-speech") / "vllm-speech.log"
    # The registry's own flags for the deployed Whisper, so a flag this vLLM would refuse fails here; all but
    # --dtype (the CPU build runs float32).
    flags = list(load_registry().entry("speech-fp16").flags)
    del flags[flags.index("--dtype"):flags.index("--dtype") + 2]
    with vllm_server(home, "speech", SERVED, log, max_model_len=448, extra_args=tuple(flags)) as base:
        yield base, log


@pytest.fixture(scope="module")
def whisper_server(whisper):
    return whisper[0]


def transcription_requests(log) -> int:
    return log.read_text(errors="replace").count("/v1/audio/transcriptions")


def transcribe(base: str, response_format: str) -> requests.Response:
    return requests.post(f"{base}/audio/transcriptions", timeout=120,
                         data={"model": SERVED, "response_format": response_format, "temperature": "0",
                               "language": "en"},
                         files={"file": ("audio.wav", tone_wav(), "audio/wav")})


def test_json_and_verbose_json_transcriptions(whisper_server):
    assert [m["id"] for m in requests.get(f"{whisper_server}/models", timeout=10).json()["data"]] == [SERVED]
    plain = transcribe(whisper_server, "json")
    assert plain.status_code == 200, plain.text
    body = plain.json()
    assert isinstance(body["text"], str)
    assert body["usage"]["seconds"] == SECONDS  # the decoded audio, as the server measured it
    verbose = transcribe(whisper_server, "verbose_json")
    assert verbose.status_code == 200, verbose.text
    body = verbose.json()
    assert body["duration"] == pytest.approx(SECONDS) and body["language"] == "en"
    assert isinstance(body["segments"], list)
    # Times come from the timestamp tokens the model writes; vLLM does not bound them by the audio's length,
    # and a random model writes any, so only their types are checked.
    for segment in body["segments"]:
        assert isinstance(segment["start"], float) and isinstance(segment["end"], float)
        assert isinstance(segment["text"], str)


def test_bad_audio_is_a_clear_client_error(whisper_server):
    response = requests.post(f"{whisper_server}/audio/transcriptions", timeout=60,
                             data={"model": SERVED, "response_format": "json"},
                             files={"file": ("audio.wav", b"not audio at all", "audio/wav")})
    assert response.status_code == 400, response.text



def test_a_tasks_speech_stage_through_vllms_whisper(whisper, tmp_path):
    """SPEECH_TO_TEXT names the vLLM Whisper; a video with sound and no subtitles is sent to it window by
    window, and the task completes from what it heard (a random model may hear nothing: then it says so)."""
    base, log = whisper
    video = make_video(tmp_path / "hum.mp4", seconds=6, size="160x90", with_audio=True)
    before = transcription_requests(log)
    speech = {"base_url": base, "model": SERVED}
    with running_stack(tmp_path, service_env={"orchestrator": {
            "SPEECH_TO_TEXT": json.dumps(speech), "SPEECH_CHUNK_S": "4", "SPEECH_OVERLAP_S": "1"}}) as stack:
        api = stack.url("gateway")
        with open(video, "rb") as handle:
            upload = requests.post(f"{api}/uploads", files={"file": ("hum.mp4", handle, "video/mp4")}, timeout=60)
        body = {"youtube_url": upload.json()["url"], "max_frames": 2}
        task_id = requests.post(f"{api}/analyze", json=body, timeout=30).json()["task_id"]
        deadline = time.monotonic() + 300
        while (task := requests.get(f"{api}/tasks/{task_id}", timeout=10).json())["status"] not in (
                "completed", "failed"):
            assert time.monotonic() < deadline, task["status"]
            time.sleep(0.5)
    assert task["status"] == "completed", task["error"]
    heard = [n for n in task["notes"] if n in (f"transcribed from the audio by {SERVED}",
                                                 f"speech-to-text ({SERVED}) heard no speech")]
    assert heard, task["notes"]
    failed = ("no transcript from the audio", "speech-to-text is not available")
    assert not any(n.startswith(failed) for n in task["notes"]), task["notes"]
    assert transcription_requests(log) >= before + 2  # 6 s in windows of 4 s
