"""A stand-in for an OpenAI-compatible speech-to-text server (/v1/audio/transcriptions), with no model
behind it: it answers each audio window from a script of timed words, finds where in the video the
window lies by matching its sound against the video's soundtrack, records every call (overlaps
included), and injects faults on request."""

import io
import subprocess
import threading
import time
import wave
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from imageio_ffmpeg import get_ffmpeg_exe

from .http_server import send_json, serving

RATE = 16_000


def noisy_video(path: Path, seconds: float) -> Path:
    """A clip whose sound is seeded noise: every stretch of it is unlike every other, so a window of it
    can be found in the whole by correlation."""
    subprocess.run([get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10",
                    "-f", "lavfi", "-i", f"anoisesrc=color=white:amplitude=0.5:seed=7:sample_rate={RATE}",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "128k", str(path)], check=True, timeout=120)
    return path


def soundtrack(path: Path) -> np.ndarray:
    """The video's sound as 16 kHz mono samples, decoded as the media service decodes windows."""
    raw = subprocess.run([get_ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-vn", "-ac", "1", "-ar",
                          str(RATE), "-f", "s16le", "-"], check=True, capture_output=True, timeout=120).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.float32)


def _locate(window: np.ndarray, reference: np.ndarray) -> float:
    """Where (seconds) the window's first half second lies in the reference."""
    probe = window[: RATE // 2]
    size = 1 << int(np.ceil(np.log2(len(reference) + len(probe))))
    scores = np.fft.irfft(np.fft.rfft(reference, size) * np.conj(np.fft.rfft(probe, size)), size)
    return float(np.argmax(scores[: len(reference)])) / RATE


@dataclass
class Call:
    began: float
    ended: float
    response_format: str
    language: str | None
    offset_s: float | None  # where the window lies on the video's clock, when a soundtrack is known
    length_s: float


@dataclass
class SpeechScript:
    """What the stand-in hears and how it behaves."""

    words: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, word) on the video's clock
    reference: np.ndarray | None = None  # the video's soundtrack, to place each window
    mode: str = "verbose"  # "verbose", "json_only" (400 on verbose_json), "not_served" (404), "over_silence"
    fail_first: int = 0  # this many calls answer 503 before the server works
    delay_s: float = 0.0  # each answer takes this long, so concurrent calls overlap
    detected_language: str = "english"
    segment_words: int = 1  # words per segment
    word_timestamps: bool = True  # answers the words' times when asked for them
    calls: list[Call] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def most_at_once(self) -> int:
        edges = sorted([(c.began, 1) for c in self.calls] + [(c.ended, -1) for c in self.calls])
        level = peak = 0
        for _, step in edges:
            level += step
            peak = max(peak, level)
        return peak

    def heard(self, offset: float, length: float) -> tuple[list[dict], list[dict]]:
        """Segments (of `segment_words` words each) and words of one window, relative to the window;
        a word the window cuts is heard as a fragment that ends (or starts) at the edge, as a real
        model hears it."""
        words = []
        for index, (start, end, word) in enumerate(self.words):
            if end <= offset or start >= offset + length:
                continue
            whole = start >= offset and end <= offset + length
            words.append((index // self.segment_words, {
                "word": word if whole else f"{word[:2]}-", "start": round(max(start, offset) - offset, 3),
                "end": round(min(end, offset + length) - offset, 3)}))
        segments = []
        for group in sorted({g for g, _ in words}):
            members = [w for g, w in words if g == group]
            segments.append({"id": len(segments), "start": members[0]["start"], "end": members[-1]["end"],
                             "text": " " + " ".join(w["word"] for w in members), "no_speech_prob": 0.01})
        return segments, [w for _, w in words]


def _form(content_type: str, body: bytes) -> dict[str, list[bytes]]:
    """The values of each field of a multipart/form-data body, by name."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, list[bytes]] = {}
    for part in message.iter_parts():
        fields.setdefault(part.get_param("name", header="content-disposition"), []).append(
            part.get_payload(decode=True))
    return fields


class _Handler(BaseHTTPRequestHandler):
    script: SpeechScript

    def do_POST(self) -> None:
        began = time.monotonic()
        form = _form(self.headers["content-type"], self.rfile.read(int(self.headers["content-length"])))
        script = self.script
        if script.mode == "not_served" or self.path != "/v1/audio/transcriptions":
            send_json(self, 404, {"detail": "Not Found"})
            return
        with script.lock:
            if script.failures < script.fail_first:
                script.failures += 1
                send_json(self, 503, {"error": {"message": "overloaded"}})
                return
        response_format = form.get("response_format", [b"json"])[0].decode()
        if script.mode == "json_only" and response_format == "verbose_json":
            send_json(self, 400, {"error": {"message": "response_format verbose_json is not supported"}})
            return
        with wave.open(io.BytesIO(form["file"][0])) as wav:
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(np.float32)
        length = len(samples) / RATE
        offset = _locate(samples, script.reference) if script.reference is not None else None
        time.sleep(script.delay_s)
        words = []
        if script.mode == "over_silence":
            segments = [{"id": 0, "start": 0.0, "end": min(length, 2.0), "text": " Thank you for watching.",
                         "no_speech_prob": 0.93}]
        else:
            segments, words = script.heard(offset or 0.0, length)
        wants_words = b"word" in form.get("timestamp_granularities[]", []) and script.word_timestamps
        text = "".join(s["text"] for s in segments).strip()
        with script.lock:
            language = form.get("language", [b""])[0].decode() or None
            script.calls.append(Call(began, time.monotonic(), response_format, language, offset, length))
        if response_format == "verbose_json":
            answer = {"task": "transcribe", "language": script.detected_language, "duration": length, "text": text,
                      "segments": segments}
            send_json(self, 200, {**answer, "words": words} if wants_words else answer)
        else:
            send_json(self, 200, {"text": text})

    def log_message(self, *args) -> None:
        pass


@contextmanager
def standin_speech_server(script: SpeechScript):
    """Yields the stand-in's base URL (ending in /v1) while it serves `script`."""
    handler = type("ScriptedSpeech", (_Handler,), {"script": script})
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
