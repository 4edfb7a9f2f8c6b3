"""Sound for speech-to-text: windows of a video's audio as 16 kHz mono 16-bit WAV."""

import io
import subprocess
import wave
from pathlib import Path

import httpx
import numpy as np
import pytest

from media_service.transcripts import audio
from media_service.transcripts.audio import NoAudio, StartPastEnd, WindowTooLong, audio_info, write_wav
from tests.support.videos import FFMPEG, make_video

from .conftest import counting_server

SECONDS = 8.0
BEEP = (3.0, 3.5)  # the only loud moment of the sound track: a 1 kHz tone
TIMEOUT = 60


def make_beeping_video(path: Path) -> Path:
    """A clip whose stereo 44.1 kHz AAC track is silent but for a tone at BEEP (left channel only)."""
    tone = f"if(between(t,{BEEP[0]},{BEEP[1]}),0.8*sin(2*PI*1000*t),0)"
    args = [FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25"]
    args += ["-f", "lavfi", "-i", f"aevalsrc='{tone}|0':s=44100", "-t", str(SECONDS)]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)]
    subprocess.run(args, check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audio")
    make_beeping_video(root / "beep.mp4")
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(root / "beep.mp4"), "-c", "copy",
                    str(root / "beep.mkv")], check=True, timeout=60)  # fmt: skip
    # MPEG-TS (what an HLS download is): its clock starts at 1.4 s, not 0.
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(root / "beep.mp4"), "-c", "copy",
                    str(root / "beep.ts")], check=True, timeout=60)  # fmt: skip
    make_video(root / "silent.mp4", seconds=3.0, size="320x180")
    return root


def read_wav(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


def loud_span(samples: np.ndarray) -> tuple[float, float]:
    loud = np.nonzero(np.abs(samples) > 3000)[0]
    return loud[0] / 16000, loud[-1] / 16000


def window(path: Path, tmp_path: Path, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    out = tmp_path / "out.wav"
    write_wav(path, out, start, duration)
    return read_wav(out.read_bytes())


@pytest.mark.parametrize("name", ["beep.mp4", "beep.mkv", "beep.ts"])
def test_whole_track_and_windows_keep_their_timing(clips, tmp_path, name):
    whole = window(clips / name, tmp_path)
    assert len(whole) / 16000 == pytest.approx(SECONDS, abs=0.05)
    assert loud_span(whole) == pytest.approx(BEEP, abs=0.02)

    part = window(clips / name, tmp_path, start=2.5, duration=2.0)
    assert len(part) == 32000
    assert loud_span(part) == pytest.approx((BEEP[0] - 2.5, BEEP[1] - 2.5), abs=0.02)

    after = window(clips / name, tmp_path, start=5.0)
    assert len(after) / 16000 == pytest.approx(SECONDS - 5.0, abs=0.05)
    assert np.abs(after).max() < 3000


def test_info(clips):
    info = audio_info(clips / "beep.mp4")
    assert info.has_audio and info.duration == pytest.approx(SECONDS, abs=0.05)
    assert audio_info(clips / "silent.mp4") == audio.AudioInfo(False, None)


def test_refusals(clips, tmp_path, monkeypatch):
    with pytest.raises(NoAudio, match="the video has no audio track"):
        write_wav(clips / "silent.mp4", tmp_path / "a.wav")
    with pytest.raises(StartPastEnd):
        write_wav(clips / "beep.mp4", tmp_path / "a.wav", start=60)
    with pytest.raises(WindowTooLong):
        write_wav(clips / "beep.mp4", tmp_path / "a.wav", duration=audio.MAX_WINDOW_S + 1)
    monkeypatch.setattr(audio, "MAX_WINDOW_S", 2.0)
    with pytest.raises(WindowTooLong, match="ask for windows"):
        write_wav(clips / "beep.mp4", tmp_path / "a.wav", start=1.0)  # 7 s to the end, 2 s allowed
    assert len(window(clips / "beep.mp4", tmp_path, start=1.0, duration=2.0)) == 32000


@pytest.fixture(scope="module")
def downloaded(service, clips) -> dict[str, str]:
    with counting_server(clips) as origin:
        ids = {}
        for name in ("beep.mp4", "silent.mp4"):
            response = httpx.post(f"{service}/downloads", json={"url": f"{origin.base}/{name}"}, timeout=TIMEOUT)
            assert response.status_code == 200, response.text
            ids[name] = response.json()["media_id"]
        return ids


def test_audio_routes(service, downloaded):
    media = f"{service}/media/{downloaded['beep.mp4']}"
    assert httpx.get(f"{media}/audio/info").json() == {"has_audio": True, "duration": pytest.approx(SECONDS, abs=0.05)}
    response = httpx.get(f"{media}/audio", params={"start": 2.5, "duration": 2}, timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    assert loud_span(read_wav(response.content)) == pytest.approx((0.5, 1.0), abs=0.02)
    whole = read_wav(httpx.get(f"{media}/audio", timeout=TIMEOUT).content)
    assert len(whole) / 16000 == pytest.approx(SECONDS, abs=0.05)


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        ("silent.mp4", {}, 422, "audio failed: the video has no audio track"),
        ("beep.mp4", {"duration": 1201}, 422, "audio failed: duration is at most 1200 s per request"),
        ("beep.mp4", {"start": 30}, 422, "audio failed: start 30 s is past the end of the audio (8 s)"),
        ("beep.mp4", {"start": -1}, 422, None),
        ("beep.mp4", {"duration": "nan"}, 422, None),
        (None, {}, 404, None),
    ],
)
def test_audio_refusals(service, downloaded, path, params, status, detail):
    media_id = downloaded[path] if path else "0" * 32
    response = httpx.get(f"{service}/media/{media_id}/audio", params=params, timeout=TIMEOUT)
    assert response.status_code == status, response.text
    if detail:
        assert response.json()["detail"] == detail
    if path is None:
        assert httpx.get(f"{service}/media/{media_id}/audio/info").status_code == 404
    if path == "silent.mp4":
        info = httpx.get(f"{service}/media/{media_id}/audio/info").json()
        assert info == {"has_audio": False, "duration": None}
