"""An audio track the media service cannot decode (its 422), or a speech server too slow for the stage's
time limit, costs the transcript, not the task."""

import asyncio
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from orchestrator.clients.media import MediaClient
from orchestrator.clients.models import ModelClient
from orchestrator.clients.speech import SpeechClient
from orchestrator.config import ModelEndpoint, OrchestratorSettings
from orchestrator.deployments import Deployments
from orchestrator.pipeline import Pipeline, StageContext
from orchestrator.stage_results import Checkpoints
from tests.support.http_server import send_json, serving
from tests.support.standin_speech_server import SpeechScript, standin_speech_server

UNDECODABLE = "audio failed: the audio track could not be decoded (Invalid data found when processing input)"


class MediaWithBrokenAudio(BaseHTTPRequestHandler):
    """A media service whose video has no subtitles and an audio track that says 20 s but cannot be
    decoded (or, with `wav`, decodes to that)."""

    wav: bytes | None = None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        send_json(self, 200, {"text": None, "segments": [], "source": None, "notes": []})

    def do_GET(self) -> None:
        if self.path.endswith("/audio/info"):
            send_json(self, 200, {"has_audio": True, "duration": 20.0})
        elif self.wav is None:
            send_json(self, 422, {"detail": UNDECODABLE, "retryable": False})
        else:
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(self.wav)))
            self.end_headers()
            self.wfile.write(self.wav)

    def log_message(self, *args) -> None:
        pass


async def _no_progress(_progress: dict) -> None:
    return None


def _transcribe(script: SpeechScript, media_handler, **settings):
    ctx = StageContext("t", {"youtube_url": "upload://x"},
                       Checkpoints.from_stored({"downloading": {"media_id": "m1", "video_info": {}, "subtitles": []}}),
                       _no_progress)

    async def run(media_url: str, speech_url: str):
        async with httpx.AsyncClient() as http:
            models = ModelClient(http, per_endpoint=2, call_timeout_s=10)
            speech = SpeechClient(models, ModelEndpoint(base_url=speech_url, model="whisper-standin"))
            config = OrchestratorSettings(speech_chunk_s=8, **settings)
            pipeline = Pipeline(config, MediaClient(http, media_url), models, speech,
                                deployments=Deployments.from_settings(config))
            return await pipeline.extract_transcript(ctx)

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), media_handler)) as media, \
            standin_speech_server(script) as speech_url:
        return asyncio.run(run(f"http://127.0.0.1:{media.server_address[1]}", speech_url))


def test_an_undecodable_audio_track_gives_a_note_and_no_transcript():
    script = SpeechScript()
    output = _transcribe(script, MediaWithBrokenAudio)
    assert output.results.transcript is None and output.results.transcript_segments is None
    assert output.results.notes == [f"no transcript from the audio: reading the audio failed: {UNDECODABLE}"]
    assert script.calls == []


def test_speech_to_text_slower_than_the_stage_allows_gives_a_note_and_no_transcript(tmp_path):
    silent_second = tmp_path / "second.wav"
    with wave.open(str(silent_second), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(bytes(32_000))
    media = type("MediaWithAudio", (MediaWithBrokenAudio,), {"wav": silent_second.read_bytes()})
    started = time.monotonic()
    output = _transcribe(SpeechScript(delay_s=8.0), media, transcript_timeout_s=2)
    assert time.monotonic() - started < 6
    assert output.results.transcript is None
    assert output.results.notes == [
        "no transcript from the audio: speech-to-text did not finish within the transcript stage's time limit "
        "(2 s, TRANSCRIPT_TIMEOUT_S)"]
