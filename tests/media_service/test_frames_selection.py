"""Frame selection at the module level, on videos generated here whose frames show their own number.

Every frame of a "numbered" video carries its frame number as 12 black/white stripes, so a test can
read from the JPEG which frame it is and check the timestamp reported for it.
"""

import os
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from media_service.frames.decoding import NoVideoStream, UnreadableVideo, open_video
from media_service.frames.pictures import scaled_size
from media_service.frames.scenes import Keyframe, Signature, choose
from media_service.frames.selection import extract_frames, probe_video
from tests.support.videos import FFMPEG, make_video

BITS = 12
FPS = 25
FAST_ENCODING = {"libx264": ["-preset", "ultrafast"], "libvpx-vp9": ["-deadline", "realtime", "-cpu-used", "8"],
                 "libsvtav1": ["-preset", "12"]}


def make_numbered_video(path: Path, count: int, codec: str = "libx264", gop: int | None = None,
                        size: tuple[int, int] = (192, 108), extra: tuple[str, ...] = ()) -> Path:
    width, height = size
    frames = np.zeros((count, height, width), np.uint8)
    for n in range(count):
        for bit in range(BITS):
            if n >> bit & 1:
                frames[n, :, bit * width // BITS : (bit + 1) * width // BITS] = 255
    args = [FFMPEG, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}",
            "-r", str(FPS), "-i", "-", "-c:v", codec, "-pix_fmt", "yuv420p", *extra]
    if gop:
        args += ["-g", str(gop)]
    args += FAST_ENCODING.get(codec, [])
    # SVT-AV1 prints its settings unless told to log errors only.
    subprocess.run([*args, str(path)], input=frames.tobytes(), check=True, timeout=120,
                   env={**os.environ, "SVT_LOG": "1"})
    return path


def frame_number(jpeg: Path) -> int:
    grey = cv2.imread(str(jpeg), cv2.IMREAD_GRAYSCALE)
    width = grey.shape[1]
    return sum(1 << bit for bit in range(BITS) if grey[:, int((bit + 0.5) * width / BITS)].mean() > 128)


def make_slides_video(path: Path, parts: list[tuple[str, float]], size: str = "320x180", gop: int = 25) -> Path:
    """Segments of lavfi sources one after another, e.g. a moving pattern, then a still 'slide'."""
    args = [FFMPEG, "-y", "-loglevel", "error"]
    for source, seconds in parts:
        joiner = ":" if "=" in source else "="
        args += ["-f", "lavfi", "-t", str(seconds), "-i", f"{source}{joiner}size={size}:rate={FPS},format=yuv420p"]
    inputs = "".join(f"[{i}:v]" for i in range(len(parts)))
    args += ["-filter_complex", f"{inputs}concat=n={len(parts)}:v=1:a=0[v]", "-map", "[v]"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop)]
    subprocess.run([*args, str(path)], check=True, timeout=120)
    return path


SLIDE = "color=c=0x1e3a8a"
# testsrc2 0-3 s, a still slide 3-13 s, bars 13-16 s, testsrc 16-19 s, the same slide again 19-21 s.
SLIDES_PARTS = [("testsrc2", 3), (SLIDE, 10), ("smptebars", 3), ("testsrc", 3), (SLIDE, 2)]


def run(path: Path, tmp_path: Path, strategy: str, max_frames: int, max_side: int = 1120):
    out = Path(tempfile.mkdtemp(prefix=f"{strategy}-{max_frames}-", dir=tmp_path))
    return extract_frames(path, strategy, max_frames, max_side, out), out


def assert_true_timestamps(result, out: Path) -> None:
    assert [f.index for f in result.frames] == list(range(len(result.frames)))
    stamps = [f.timestamp for f in result.frames]
    assert stamps == sorted(set(stamps))
    for frame in result.frames:
        assert frame_number(out / f"{frame.index}.jpg") == round(frame.timestamp * FPS), frame


@pytest.fixture(scope="module")
def numbered(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("numbered")
    return {
        "mp4": make_numbered_video(root / "n.mp4", 250, gop=50),
        "webm": make_numbered_video(root / "n.webm", 250, codec="libvpx-vp9", gop=50),
        "mkv": make_numbered_video(root / "n.mkv", 250, gop=50),
        "one-keyframe": make_numbered_video(root / "one.mp4", 250, gop=1000),
    }


@pytest.mark.parametrize("container", ["mp4", "webm", "mkv", "one-keyframe"])
@pytest.mark.parametrize("strategy", ["uniform", "scenes"])
def test_each_frame_is_the_one_its_timestamp_names(numbered, tmp_path, container, strategy):
    for max_frames in (1, 4, 8):
        result, out = run(numbered[container], tmp_path, strategy, max_frames)
        assert 1 <= len(result.frames) <= max_frames
        assert result.strategy == strategy
        assert_true_timestamps(result, out)


def test_uniform_uses_keyframes_near_targets_and_decodes_exactly_where_they_are_sparse(numbered, tmp_path):
    # Keyframes every 2 s; targets 1.25, 3.75, 6.25, 8.75 s, half a slice is 1.25 s. Each target's
    # nearest keyframe, before or after it, is close enough: 2, 4, 6 and 8 s.
    result, out = run(numbered["mp4"], tmp_path, "uniform", 4)
    assert [f.timestamp for f in result.frames] == [2.0, 4.0, 6.0, 8.0]
    assert_true_timestamps(result, out)
    # One keyframe for 10 s: after the first (0.625 s from it, close enough), each frame is decoded
    # exactly at its slice's centre.
    result, out = run(numbered["one-keyframe"], tmp_path, "uniform", 8)
    expected = [0.0] + [(i + 0.5) * 1.25 for i in range(1, 8)]
    assert [f.timestamp for f in result.frames] == pytest.approx(expected, abs=0.05)
    assert_true_timestamps(result, out)


@pytest.fixture(scope="module")
def seek_tricky(tmp_path_factory) -> dict[str, Path]:
    """Formats whose decoders or seeks behave unlike MP4's: AV1 (libdav1d reads `skip_frame` only
    when it opens), and MPEG-TS, which every HLS download is (seeks land a keyframe late, or past the
    end after the last keyframe). Keyframes at least every 2 s."""
    root = tmp_path_factory.mktemp("seek-tricky")
    return {
        "av1": make_numbered_video(root / "n-av1.mp4", 250, codec="libsvtav1", gop=50),
        "h264-ts": make_numbered_video(root / "n.ts", 250, gop=50),
        "mpeg2-ts": make_numbered_video(root / "n-mpeg2.ts", 250, codec="mpeg2video", gop=25),
    }


@pytest.mark.parametrize("kind", ["av1", "h264-ts", "mpeg2-ts"])
def test_av1_and_mpeg_ts_give_every_frame_asked_for_at_the_right_keyframes(seek_tricky, tmp_path, kind):
    path = seek_tricky[kind]
    with open_video(path) as video:
        keyframes = [time for time, _ in video.keyframes()]
        assert keyframes[0] == pytest.approx(0.0, abs=1e-6) and len(keyframes) >= 5
        for moment in (0.0, 0.3, 1.0, 2.0, 2.5, 5.99, 8.0, 9.9, 12.0):
            time, _ = video.keyframe_at_or_before(moment)
            assert time == max(k for k in keyframes if k <= moment + 1e-6), moment
    for max_frames in (4, 8):
        result, out = run(path, tmp_path, "uniform", max_frames)
        assert len(result.frames) == max_frames, result.note
        half_slice = 10 / max_frames / 2
        for frame, target in zip(result.frames, [(i + 0.5) * 10 / max_frames for i in range(max_frames)],
                                 strict=True):
            assert abs(frame.timestamp - target) <= half_slice + 0.04
        assert_true_timestamps(result, out)
    result, out = run(path, tmp_path, "scenes", 8)
    assert result.frames[0].timestamp == 0.0 and len(result.frames) >= 4
    assert_true_timestamps(result, out)


# What the README says frames are read from: (file name, encoder, output options).
FORMATS = [
    ("hevc-10bit.mp4", "libx265",
     ("-pix_fmt", "yuv420p10le", "-preset", "ultrafast", "-x265-params", "log-level=error")),
    ("mpeg4.avi", "mpeg4", ("-q:v", "3")),
    ("mjpeg.avi", "mjpeg", ("-pix_fmt", "yuvj420p")),
    ("prores.mov", "prores_ks", ("-pix_fmt", "yuv422p10le")),
    ("theora.ogv", "libtheora", ("-q:v", "7")),
    ("anim.gif", "gif", ("-pix_fmt", "pal8")),
    ("interlaced.mkv", "libx264", ("-flags", "+ildct+ilme")),
]


@pytest.mark.parametrize(("name", "codec", "options"), FORMATS, ids=[f[0] for f in FORMATS])
def test_other_codecs_and_containers(tmp_path, name, codec, options):
    video = make_numbered_video(tmp_path / name, 100, codec=codec, gop=25, extra=options)
    for strategy in ("uniform", "scenes"):
        result, out = run(video, tmp_path, strategy, 4)
        assert len(result.frames) == 4, result.note
        assert_true_timestamps(result, out)


@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_a_cover_picture_stored_first_is_not_taken_for_the_video(tmp_path, container):
    """Files with cover art put it in a one-frame MJPEG video track, in MKV as a plain track ahead of
    the video: the frames must come from the video all the same."""
    video = make_numbered_video(tmp_path / "n.mp4", 100, gop=25)
    cover = tmp_path / "cover.png"
    cv2.imwrite(str(cover), np.full((300, 300, 3), (0, 0, 255), np.uint8))
    both = tmp_path / f"with-cover.{container}"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(cover), "-i", str(video), "-map", "0", "-map", "1",
                    "-c:v:0", "mjpeg", "-c:v:1", "copy", "-disposition:v:0", "attached_pic", str(both)],
                   check=True, timeout=60)
    assert probe_video(both) == pytest.approx(4.0, abs=0.05)
    for strategy in ("uniform", "scenes"):
        result, out = run(both, tmp_path, strategy, 4)
        assert len(result.frames) == 4 and {(f.width, f.height) for f in result.frames} == {(192, 108)}
        assert_true_timestamps(result, out)


def test_scenes_fall_back_to_even_moments_when_keyframes_are_sparse(numbered, tmp_path):
    result, out = run(numbered["one-keyframe"], tmp_path, "scenes", 5)
    assert "sparse" in result.note
    assert [f.timestamp for f in result.frames] == pytest.approx([1.0, 3.0, 5.0, 7.0, 9.0], abs=0.05)
    assert_true_timestamps(result, out)


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    return make_slides_video(tmp_path_factory.mktemp("slides") / "slides.mp4", SLIDES_PARTS)


def in_slide(stamp: float) -> bool:
    return 3 <= stamp < 13 or stamp >= 19


def test_a_still_slide_is_one_frame_and_max_frames_is_never_exceeded(slides, tmp_path):
    for max_frames in (1, 2, 3, 4, 8, 32):
        result, _ = run(slides, tmp_path, "scenes", max_frames)
        stamps = [f.timestamp for f in result.frames]
        assert 1 <= len(stamps) <= max_frames
        assert sum(in_slide(s) for s in stamps) <= 1, stamps
    result, _ = run(slides, tmp_path, "scenes", 4)
    # Four distinct scenes (the slide shown twice is one): one frame from each.
    scenes = [(0, 3), (3, 13), (13, 16), (16, 19)]
    stamps = [f.timestamp for f in result.frames]
    assert sorted(next(i for i, (a, b) in enumerate(scenes) if a <= s < b) for s in stamps) == [0, 1, 2, 3]
    assert result.note.startswith("5 scenes found")
    result, _ = run(slides, tmp_path, "scenes", 32)
    assert len(result.frames) < 32 and "would repeat" in result.note
    # Uniform spends most of its frames on the slide: the reason scenes is the default.
    result, _ = run(slides, tmp_path, "uniform", 8)
    assert sum(in_slide(f.timestamp) for f in result.frames) >= 4


def test_frames_are_scaled_down_never_up(tmp_path):
    video = make_video(tmp_path / "wide.mp4", seconds=2, size="640x360", gop=10)
    result, out = run(video, tmp_path, "uniform", 2, max_side=320)
    assert {(f.width, f.height) for f in result.frames} == {(320, 180)}
    assert cv2.imread(str(out / "0.jpg")).shape[:2] == (180, 320)
    result, _ = run(video, tmp_path, "scenes", 2, max_side=4000)
    assert {(f.width, f.height) for f in result.frames} == {(640, 360)}
    portrait = make_video(tmp_path / "tall.mp4", seconds=1, size="180x320")
    result, _ = run(portrait, tmp_path, "uniform", 1, max_side=100)
    assert (result.frames[0].width, result.frames[0].height) == (56, 100)
    assert scaled_size(16000, 16000, 1120) == (1120, 1120)


def _still(path: Path, before_input: tuple[str, ...] = (), source: str | None = None) -> Path:
    """A 2 s still 320x180 picture that no turn or mirroring maps onto itself (a big white box in one
    corner, a grey bar near another), or `source` re-encoded or re-muxed."""
    if source is None:
        picture = ("color=black:size=320x180:rate=10,drawbox=x=0:y=0:w=120:h=50:color=white:t=fill,"
                   "drawbox=x=280:y=90:w=20:h=80:color=gray:t=fill")
        inputs = ["-f", "lavfi", "-i", picture, "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "5"]
    else:
        inputs = [*before_input, "-i", str(source), *(["-c", "copy"] if before_input else ["-c:v", "libx264"])]
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", *inputs, str(path)], check=True, timeout=60)
    return path


@pytest.mark.parametrize("degrees", [90, -90, 180])
def test_phone_videos_are_turned_the_way_players_show_them(tmp_path, degrees):
    """A phone stores a portrait video as landscape pictures plus a display matrix; the frames must be
    what a player shows. The reference is ffmpeg's own rendering: it applies the matrix when re-encoding."""
    upright = _still(tmp_path / "upright.mp4")
    stored = _still(tmp_path / "stored.mp4", ("-display_rotation", str(degrees)), upright)
    as_played = _still(tmp_path / "played.mp4", source=stored)
    result, out = run(stored, tmp_path, "uniform", 1, max_side=4000)
    frame = cv2.imread(str(out / "0.jpg"), cv2.IMREAD_GRAYSCALE)
    _, reference_dir = run(as_played, tmp_path, "uniform", 1, max_side=4000)
    reference = cv2.imread(str(reference_dir / "0.jpg"), cv2.IMREAD_GRAYSCALE)
    expected = (180, 320) if degrees == 180 else (320, 180)
    assert reference.shape == frame.shape == expected
    assert (result.frames[0].height, result.frames[0].width) == expected
    assert np.abs(frame.astype(int) - reference).mean() < 4
    # The comparison can tell turns apart: the stored picture turned any other way differs.
    _, stored_dir = run(upright, tmp_path, "uniform", 1, max_side=4000)
    unturned = cv2.imread(str(stored_dir / "0.jpg"), cv2.IMREAD_GRAYSCALE)
    for turns in range(4):
        candidate = np.rot90(unturned, turns)
        if candidate.shape == reference.shape and np.abs(candidate.astype(int) - reference).mean() < 4:
            assert turns == round(degrees / 90) % 4


def test_non_square_pixels_are_stretched_the_way_players_show_them(tmp_path):
    """A widescreen DVD stores 720x480 pixels each 32/27 wide: shown at 853x480. The reference is
    ffmpeg's rendering with square pixels."""
    picture = ("color=black:size=720x480:rate=10,drawbox=x=0:y=0:w=240:h=120:color=white:t=fill,"
               "drawbox=x=600:y=300:w=60:h=150:color=gray:t=fill")
    stored = tmp_path / "dvd.mp4"
    encode = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "5"]
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"{picture},setsar=32/27", "-t", "2",
                    *encode, str(stored)], check=True, timeout=60)
    square = tmp_path / "square.mp4"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-i", str(stored), "-vf", "scale=854:480,setsar=1",
                    *encode, str(square)], check=True, timeout=60)
    result, out = run(stored, tmp_path, "uniform", 1, max_side=4000)
    assert (result.frames[0].width, result.frames[0].height) == (853, 480)
    frame = cv2.imread(str(out / "0.jpg"), cv2.IMREAD_GRAYSCALE)
    _, reference_dir = run(square, tmp_path, "uniform", 1, max_side=4000)
    reference = cv2.resize(cv2.imread(str(reference_dir / "0.jpg"), cv2.IMREAD_GRAYSCALE), (853, 480))
    assert np.abs(frame.astype(int) - reference).mean() < 4
    result, _ = run(stored, tmp_path, "scenes", 1, max_side=640)
    assert (result.frames[0].width, result.frames[0].height) == (640, 360)


def test_a_video_shorter_than_max_frames_gives_what_it_has(tmp_path):
    video = make_numbered_video(tmp_path / "three.mp4", 3)
    result, out = run(video, tmp_path, "uniform", 8)
    assert [f.timestamp for f in result.frames] == [0.0, 0.04, 0.08]
    assert result.note.startswith("3 of 8 frames")
    assert_true_timestamps(result, out)
    result, out = run(video, tmp_path, "scenes", 8)
    assert 1 <= len(result.frames) <= 3 and result.note
    assert_true_timestamps(result, out)


def test_a_16k_frame_is_scaled_down_without_a_full_size_copy(tmp_path):
    # A grey JPEG of 16000x16000 wrapped in Matroska: an encoder would take far longer to make one.
    image = np.full((16000, 16000), 200, np.uint8)
    image[:8000] = 40
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 50])
    del image
    (tmp_path / "huge.jpg").write_bytes(jpeg.tobytes())
    video = tmp_path / "huge.mkv"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-framerate", "1", "-i", str(tmp_path / "huge.jpg"),
                    "-c:v", "copy", str(video)], check=True, timeout=60)
    result, out = run(video, tmp_path, "scenes", 8)
    assert [(f.width, f.height) for f in result.frames] == [(1120, 1120)]
    top, bottom = cv2.imread(str(out / "0.jpg"), cv2.IMREAD_GRAYSCALE)[[100, -100]].mean(axis=1)
    assert top < 60 and bottom > 180


def test_bad_files_are_refused_with_a_reason(tmp_path):
    text = tmp_path / "text.mp4"
    text.write_text("this is not a video\n" * 100)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    audio = tmp_path / "tone.m4a"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
                    "-c:a", "aac", str(audio)], check=True, timeout=60)
    for path in (text, empty, audio):
        with pytest.raises(UnreadableVideo):
            probe_video(path)
        with pytest.raises(UnreadableVideo) as raised:
            run(path, tmp_path, "scenes", 3)
        assert "\n" not in str(raised.value)
    with pytest.raises(NoVideoStream, match="has no video stream"):
        run(audio, tmp_path, "uniform", 3)


def test_a_truncated_file_gives_frames_from_its_readable_part_or_is_refused(tmp_path):
    # The index (moov) at the end, as ffmpeg writes by default: half a file has none, so nothing reads.
    whole = make_numbered_video(tmp_path / "whole.mp4", 250, gop=25)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(UnreadableVideo):
        probe_video(cut)
    # The index first (faststart, as streamed files are): the first half decodes, the rest is missing.
    fast = make_numbered_video(tmp_path / "fast.mp4", 250, gop=25, extra=("-movflags", "+faststart"))
    cut.write_bytes(fast.read_bytes()[: fast.stat().st_size // 2])
    assert probe_video(cut) == pytest.approx(10.0, abs=0.1)  # the index still claims the whole length
    for strategy in ("uniform", "scenes"):
        result, out = run(cut, tmp_path, strategy, 8)
        assert 1 <= len(result.frames) < 8 and result.note
        assert max(f.timestamp for f in result.frames) < 6.0  # well into the second half: nothing
        assert_true_timestamps(result, out)
    result, _ = run(cut, tmp_path, "uniform", 8)
    assert "can be decoded (damaged or cut short?)" in result.note
    assert f"no frame after {result.frames[-1].timestamp:.1f} s of 10.0 s" in result.note


def signature_of(value: float, pattern: int = 0) -> Signature:
    histogram = np.zeros(32, np.float32)
    histogram[[int(value * 15), 16 + pattern % 8, 24]] = 1.0
    thumbnail = np.full((9, 16), value, np.float32)
    thumbnail[:, pattern % 16] = 1 - value
    return Signature(histogram, thumbnail)


def test_choice_keeps_the_strongest_cuts_and_the_longest_scenes():
    # 0-60 s one scene, 60-62 s a short flash, 62-120 s another scene, 120-300 s a static slide.
    keyframes = [Keyframe(float(t), signature_of(0.1)) for t in range(0, 60, 5)]
    keyframes += [Keyframe(60.0, signature_of(0.5, 3))]
    keyframes += [Keyframe(float(t), signature_of(0.9, 5)) for t in range(62, 120, 5)]
    keyframes += [Keyframe(float(t), signature_of(0.3, 9)) for t in range(120, 300, 5)]
    chosen, scenes = choose(keyframes, 300.0, 8)
    assert scenes == 4 and len(chosen) == 4  # every other keyframe repeats one of these
    assert [k.time for k in choose(keyframes, 300.0, 3)[0]] == [30.0, 92.0, 210.0]  # the flash goes first
    assert len(choose(keyframes, 300.0, 1)[0]) == 1
    assert choose([], 10.0, 4) == ([], 0)


TITLES = ["BRIDGE", "TRAFFIC", "SPAN", "PAINT"]


def title_cards(tmp_path: Path, seconds_each: float = 2.0) -> Path:
    """One-word title cards on one background, one after another: alike in colour and on average."""
    listing = []
    for index, word in enumerate(TITLES):
        image = np.full((720, 1280, 3), (40, 60, 90), np.uint8)
        cv2.putText(image, word, (200, 420), cv2.FONT_HERSHEY_SIMPLEX, 6, (255, 255, 255), 14, cv2.LINE_AA)
        cv2.imwrite(str(tmp_path / f"title{index}.png"), image)
        listing.append(f"file 'title{index}.png'\nduration {seconds_each}\n")
    (tmp_path / "titles.txt").write_text("".join(listing) + f"file 'title{len(TITLES) - 1}.png'\n")
    path = tmp_path / "titles.mp4"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-f", "concat", "-safe", "0",
                    "-i", str(tmp_path / "titles.txt"), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-r", "10",
                    "-t", str(seconds_each * len(TITLES)), str(path)], check=True, timeout=60)
    return path


def test_title_cards_that_differ_only_in_their_words_are_not_near_duplicates(tmp_path):
    video = title_cards(tmp_path)
    for strategy in ("uniform", "scenes"):
        result, _ = run(video, tmp_path, strategy, 8)
        starts = sorted({int(f.timestamp // 2) for f in result.frames})
        assert starts == [0, 1, 2, 3], (strategy, [f.timestamp for f in result.frames], result.note)
