"""Speech-to-text through the whole stack, with a scripted stand-in speech server: windows heard at
once within the endpoint's bound, words exact across window borders, languages, servers without
timings or without the endpoint, failures, and videos with nothing said."""

import json
import re
import subprocess
import time
from dataclasses import replace

import numpy as np
import pytest
import requests

from tests.support.speech import spoken_timeline, spoken_video
from tests.support.stack import Stack, running, running_stack
from tests.support.standin_speech_server import SpeechScript, noisy_video, soundtrack, standin_speech_server
from tests.support.videos import FFMPEG, make_video

STANDIN_MODEL = "whisper-standin"
CONCURRENCY = 3


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """One stack whose speech-to-text is the stand-in; each test sets the stand-in's script."""
    workdir = tmp_path_factory.mktemp("speech")
    script = SpeechScript()
    with standin_speech_server(script) as base_url:
        stt = {"base_url": base_url, "model": STANDIN_MODEL}
        stack = Stack(database_url=f"sqlite:///{workdir / 'tasks.db'}", workdir=workdir, service_env={"orchestrator": {
            "SPEECH_TO_TEXT": json.dumps(stt), "SPEECH_CHUNK_S": "8", "SPEECH_OVERLAP_S": "2",
            "MODEL_CONCURRENCY": str(CONCURRENCY)}})
        with running(stack):
            yield stack, script, workdir


def use(script: SpeechScript, **behaviour) -> SpeechScript:
    """Give the shared stand-in a fresh script (and an empty call record)."""
    fresh = replace(SpeechScript(), **behaviour)
    for name in ("words", "reference", "mode", "fail_first", "delay_s", "detected_language", "segment_words",
                 "word_timestamps", "calls", "failures"):
        setattr(script, name, getattr(fresh, name))
    return script


def analyse(stack: Stack, video, **request) -> dict:
    api = stack.url("gateway")
    with open(video, "rb") as handle:
        upload = requests.post(f"{api}/uploads", files={"file": (video.name, handle, "video/mp4")}, timeout=60)
    assert upload.status_code == 200, upload.text
    task_id = requests.post(f"{api}/analyze", json={"youtube_url": upload.json()["url"], "max_frames": 2,
                                                   **request}, timeout=30).json()["task_id"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        result = requests.get(f"{api}/tasks/{task_id}", timeout=10).json()
        if result["status"] in ("completed", "failed"):
            assert result["status"] == "completed", result["error"]
            return result
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} did not finish:\n{stack.logs()}")


@pytest.fixture(scope="module")
def talk(speech):
    """30 s of sound, and a word said every 0.45 s of it."""
    _, _, workdir = speech
    video = noisy_video(workdir / "talk.mp4", 30)
    words = [(round(0.2 + 0.45 * i, 3), round(0.2 + 0.45 * i + 0.35, 3), f"word{i}") for i in range(65)]
    return video, soundtrack(video), words


@pytest.mark.parametrize(("segment_words", "word_timestamps"), [(6, True), (1, False)],
                         ids=["sentences-with-word-times", "words-without-word-times"])
def test_windows_are_heard_at_once_and_join_exactly_across_borders(speech, talk, segment_words, word_timestamps):
    stack, script, _ = speech
    video, reference, words = talk
    use(script, words=words, reference=reference, delay_s=1.0, segment_words=segment_words,
        word_timestamps=word_timestamps)
    result = analyse(stack, video)

    assert result["transcript_source"] == "speech_to_text"
    assert result["transcript"] == " ".join(w for _, _, w in words)
    segments = result["transcript_segments"]
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    # Every segment starts at a word's start and ends at a word's end, on the video's clock.
    starts, ends = np.array([w[0] for w in words]), np.array([w[1] for w in words])
    assert all(np.abs(starts - s["start"]).min() < 0.05 and np.abs(ends - s["end"]).min() < 0.05 for s in segments)
    # Windows of 8 s overlapping by 2 s: five of them, at most CONCURRENCY heard at a time, and more than one.
    offsets = sorted(c.offset_s for c in script.calls)
    assert np.allclose(offsets, [0, 6, 12, 18, 24], atol=0.05)
    assert script.most_at_once() == CONCURRENCY
    assert f"transcribed from the audio by {STANDIN_MODEL}" in result["notes"]
    # No language asked for: the model's detection, which it was left to make.
    assert result["transcript_language"] == "english" and {c.language for c in script.calls} == {None}


def test_a_server_without_timings_gives_one_segment_per_window_and_says_so(speech, talk):
    stack, script, _ = speech
    video, reference, words = talk
    use(script, words=words, reference=reference, mode="json_only")
    result = analyse(stack, video, transcript_languages=["de", "en"])
    # The first preferred language is the one the model is told to hear.
    assert {c.language for c in script.calls} == {"de"} and result["transcript_language"] == "de"
    starts = [s["start"] for s in result["transcript_segments"]]
    assert np.allclose(starts, [0, 6, 12, 18, 24], atol=0.01)
    assert {c.response_format for c in script.calls} == {"json"}  # verbose_json was refused each time
    assert any(f"{STANDIN_MODEL} gave no segment timings" in note for note in result["notes"])


def test_failed_calls_are_retried(speech, talk):
    stack, script, _ = speech
    video, reference, words = talk
    use(script, words=words, reference=reference, fail_first=2)
    result = analyse(stack, video)
    assert script.failures == 2 and result["transcript"] == " ".join(w for _, _, w in words)
    assert f"transcribed from the audio by {STANDIN_MODEL}" in result["notes"]


def test_a_server_that_keeps_failing_leaves_a_note_and_the_task_completes(speech, talk):
    stack, script, _ = speech
    video, reference, _ = talk
    use(script, reference=reference, fail_first=10_000)
    result = analyse(stack, video)
    assert result["transcript"] is None and result["transcript_segments"] is None and result["summary"]
    assert script.failures >= 3  # every window's attempts
    assert any(n.startswith("no transcript from the audio: speech-to-text failed") for n in result["notes"])


def test_a_server_without_the_endpoint_leaves_a_note(speech, talk):
    stack, script, _ = speech
    video, _, _ = talk
    use(script, mode="not_served")
    result = analyse(stack, video)
    assert result["transcript"] is None and result["summary"]
    assert f"speech-to-text is not available at the speech server (model {STANDIN_MODEL})" in result["notes"]


def test_a_tone_gives_no_invented_words_and_no_sound_no_call(speech):
    stack, script, workdir = speech
    use(script, mode="over_silence")
    result = analyse(stack, make_video(workdir / "tone.mp4", seconds=10, with_audio=True))
    assert len(script.calls) == 2 and result["transcript"] is None and result["transcript_segments"] is None
    assert f"speech-to-text ({STANDIN_MODEL}) heard no speech" in result["notes"]

    use(script)
    result = analyse(stack, make_video(workdir / "mute.mp4", seconds=4))
    assert script.calls == [] and result["transcript"] is None
    assert "the video has no audio to transcribe" in result["notes"]


def test_by_default_the_lite_server_hears_a_spoken_video(tmp_path):
    """No SPEECH_TO_TEXT: the lite server's own speech model, across a window border (windows of 6 s)."""
    said = ("the river flooded the old town in spring. the bridge was closed for a month. "
            "farmers moved their cattle to the hills. the school reopened in the summer.")
    video = spoken_video(tmp_path / "spoken.mp4", said)
    windows = {"SPEECH_CHUNK_S": "6", "SPEECH_OVERLAP_S": "1.5"}
    with running_stack(tmp_path, service_env={"orchestrator": windows}) as stack:
        result = analyse(stack, video)
    assert result["transcript_source"] == "speech_to_text"
    assert "transcribed from the audio by lite-speech" in result["notes"]
    heard = re.findall(r"[a-z]+", result["transcript"].lower())
    # A tiny CPU model mishears a word or two, but neither doubles nor drops the border's words wholesale.
    for word in ("river", "flooded", "spring", "closed", "month", "farmers", "moved", "hills", "school", "summer"):
        assert heard.count(word) == 1, (word, result["transcript"])
    segments = result["transcript_segments"]
    starts = [s["start"] for s in segments]
    assert len(starts) > 1 and starts == sorted(starts)
    assert segments[-1]["end"] <= result["video_info"]["duration"] + 0.5


TEN_MINUTES = [(4.0, "the harbour opened at dawn."), (151.0, "the ferry carried seven cars."),
               (302.0, "the lighthouse keeper wrote a letter."), (449.0, "the storm broke the northern pier."),
               (588.0, "the museum closed at midnight.")]


def test_a_ten_minute_talk_is_heard_in_windows_with_the_right_times_to_the_end(tmp_path):
    """The lite server's own model over 10 minutes of sound in windows of 2 minutes: each sentence where
    it was said, the last one nearly 10 minutes in."""
    voice = spoken_timeline(tmp_path / "ten-minutes.wav", TEN_MINUTES)
    video = tmp_path / "ten-minutes.mp4"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=1",
                    "-i", str(voice), "-t", "600", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", str(video)], check=True, timeout=300)
    windows = {"SPEECH_CHUNK_S": "120", "SPEECH_OVERLAP_S": "5"}
    with running_stack(tmp_path, service_env={"orchestrator": windows}) as stack:
        result = analyse(stack, video)
    assert result["transcript_source"] == "speech_to_text", result["notes"]
    segments = result["transcript_segments"]
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    for (said_at, _), key in zip(TEN_MINUTES, ("harbo", "carried", "lighthouse", "storm", "museum"), strict=True):
        found = [s for s in segments if key in s["text"].lower()]
        assert len(found) == 1, (key, segments)
        assert abs(found[0]["start"] - said_at) < 1.5, (key, found[0], said_at)
    assert segments[-1]["end"] <= 600.5
    # What was heard, with its times, reaches the text analysis: key points say when, chapters cover the video.
    for point in result["key_points"]:
        stamp = re.match(r"\[(\d+):(\d{2})\] \S", point)
        assert stamp and int(stamp[1]) * 60 + int(stamp[2]) <= 600, point
    chapters = result["chapters"]
    assert chapters and chapters[0]["start"] == 0 and chapters[-1]["end"] == pytest.approx(600, abs=1)
    assert all(a["end"] == b["start"] and a["start"] < a["end"] for a, b in zip(chapters, chapters[1:], strict=False))
    assert all(c["title"] and c["summary"] for c in chapters)
