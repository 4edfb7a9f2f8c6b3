"""Subtitle tracks inside video files (mov_text in MP4, SubRip and ASS in MKV), made at test time."""

import subprocess
from pathlib import Path

import pytest

from media_service.transcripts.embedded_subtitles import ass_event_text, read_embedded_subtitles
from tests.support.videos import DEFAULT_CUES, FFMPEG, make_video, write_vtt

SRT = (
    "1\n00:00:00,500 --> 00:00:02,500\nBonjour <i>et</i> bienvenue.\n\n"
    "2\n00:00:03,000 --> 00:00:05,250\nUne deuxième ligne\nsur deux lignes.\n"
)
ASS = """[Script Info]
ScriptType: v4.00+
PlayResX: 640
PlayResY: 360

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:03.00,Default,,0,0,0,,{\\i1}Willkommen{\\i0}, sagte sie, {\\pos(10,20)}zum Test.
Dialogue: 0,0:00:04.00,0:00:06.50,Default,,0,0,0,,Zweite Zeile\\Nmit Umbruch.
"""


def mux(video: Path, out: Path, tracks: list[tuple[Path, str]], codec: str) -> Path:
    """`video` with subtitle files as tracks, each tagged with an ISO 639-2 language."""
    args = [FFMPEG, "-y", "-loglevel", "error", "-i", str(video)]
    for path, _ in tracks:
        args += ["-i", str(path)]
    args += ["-map", "0:v"]
    for index, (_, language) in enumerate(tracks):
        args += ["-map", f"{index + 1}:0", f"-metadata:s:s:{index}", f"language={language}"]
    subprocess.run([*args, "-c:v", "copy", "-c:s", codec, str(out)], check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("embedded")
    video = make_video(root / "plain.mp4", seconds=9.0, size="320x180")
    vtt = write_vtt(root / "en.vtt")
    (root / "fr.srt").write_text(SRT, encoding="utf-8")
    (root / "de.ass").write_text(ASS, encoding="utf-8")
    return {
        "plain": video,
        "mov_text": mux(video, root / "mov_text.mp4", [(vtt, "eng")], "mov_text"),
        "srt": mux(video, root / "srt.mkv", [(root / "fr.srt", "fre")], "srt"),
        "ass": mux(video, root / "ass.mkv", [(root / "de.ass", "ger")], "ass"),
        "two": mux(video, root / "two.mkv", [(root / "fr.srt", "fra"), (vtt, "eng")], "srt"),
        "text": _text_file(root / "notes.mkv"),
    }


def _text_file(path: Path) -> Path:
    path.write_text("not a video\n" * 50)
    return path


def cues(transcript) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.text) for s in transcript.segments]


def test_mov_text_in_mp4(files):
    found = read_embedded_subtitles(files["mov_text"], ["en"])
    assert found.language == "en" and found.note is None
    assert cues(found) == [tuple(c) for c in DEFAULT_CUES]


def test_subrip_in_mkv_without_markup_and_with_lines_joined(files):
    found = read_embedded_subtitles(files["srt"], ["en"])
    assert found.language == "fr"
    assert cues(found) == [
        (0.5, 2.5, "Bonjour et bienvenue."),
        (3.0, 5.25, "Une deuxième ligne sur deux lignes."),
    ]


def test_ass_in_mkv_without_override_tags(files):
    found = read_embedded_subtitles(files["ass"], ["de"])
    assert found.language == "de"
    assert cues(found) == [
        (1.0, 3.0, "Willkommen, sagte sie, zum Test."),
        (4.0, 6.5, "Zweite Zeile mit Umbruch."),
    ]


@pytest.mark.parametrize(("wanted", "language"), [(["en"], "en"), (["fr", "en"], "fr"), (["es"], "fr")])
def test_the_track_in_the_wanted_language_is_read(files, wanted, language):
    found = read_embedded_subtitles(files["two"], wanted)
    assert found.language == language
    expected = "Welcome to the colour bar demonstration video." if language == "en" else "Bonjour et bienvenue."
    assert found.segments[0].text == expected


@pytest.mark.parametrize("name", ["plain", "text"])
def test_no_track_is_no_transcript_and_no_note(files, name):
    found = read_embedded_subtitles(files[name], ["en"])
    assert (found.segments, found.language, found.note) == ([], None, None)


def test_ass_event_lines():
    assert ass_event_text("3,0,Default,,0,0,0,,{\\an8}Top {\\b1}bold{\\b0}\\Nnext\\hline") == "Top bold next line"
    assert ass_event_text("Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Old style") == "Old style"
