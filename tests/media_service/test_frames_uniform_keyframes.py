"""Uniform frames served by keyframes: each moment by the nearest keyframe within reach that no other
moment took, with only that keyframe's packet decoded. On VP9 and AV1 too, whose decoders are no help
in skipping frames (FFmpeg's VP9 ignores `skip_frame`), and on MPEG-TS, whose seeks land late."""

from pathlib import Path

import pytest

from media_service.decode.budget import DecodeBudget, decode_budget
from media_service.frames.decoding import open_video
from media_service.frames.selection import keyframe_reach

from .test_frames_selection import assert_true_timestamps, make_numbered_video, run

# 20 s at 25 fps with a keyframe every 40 frames (1.6 s): thirteen keyframes.
KEYFRAMES = [round(1.6 * i, 1) for i in range(13)]


@pytest.fixture(scope="module")
def keyframed(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("keyframed")
    return {
        "vp9": make_numbered_video(root / "n.webm", 500, codec="libvpx-vp9", gop=40),
        "av1": make_numbered_video(root / "n-av1.mp4", 500, codec="libsvtav1", gop=40),
        "h264-ts": make_numbered_video(root / "n.ts", 500, gop=40),
    }


def counting_decoded(work):
    """What `work()` returns, and how many frames it decoded."""
    with decode_budget(DecodeBudget(max_frames=10**9, max_pixels=10**15)) as budget:
        result = work()
    return result, budget.frames


@pytest.mark.parametrize("kind", ["vp9", "av1", "h264-ts"])
def test_each_moment_takes_the_nearest_free_keyframe_and_nothing_else_is_decoded(keyframed, tmp_path, kind):
    path = keyframed[kind]
    with open_video(path) as video:
        assert [round(time, 3) for time, _ in video.keyframes()] == KEYFRAMES
    # 8 moments 2.5 s apart (1.25, 3.75, ..., 18.75 s), reach 1.25 s: each its nearest keyframe, after
    # it (1.6 s for 1.25 s, nearer than 0) or before it (3.2 s for 3.75 s).
    (result, out), decoded = counting_decoded(lambda: run(path, tmp_path, "uniform", 8))
    assert [f.timestamp for f in result.frames] == [1.6, 3.2, 6.4, 8.0, 11.2, 14.4, 16.0, 19.2]
    assert decoded == 8 and result.note is None
    assert_true_timestamps(result, out)
    # 16 moments 1.25 s apart, denser than the keyframes; reach a twentieth of the video. 5.625 s
    # takes 6.4 s; 6.875 s then has 6.4 s taken and 8.0 s out of reach, so it gets no frame rather
    # than a decode of 12 frames. Every keyframe shows one moment.
    assert keyframe_reach(20.0, 16) == pytest.approx(1.0)
    (result, out), decoded = counting_decoded(lambda: run(path, tmp_path, "uniform", 16))
    assert [f.timestamp for f in result.frames] == KEYFRAMES
    assert decoded == len(KEYFRAMES)
    assert result.note.startswith("13 of 16 frames: keyframes are further apart than the frames asked for")
    assert_true_timestamps(result, out)
    # The keyframe at or before a moment (how scenes reads the keyframes it chose): it alone is decoded.
    with open_video(path) as video:
        (time, _), decoded = counting_decoded(lambda: video.keyframe_at_or_before(9.5))
    assert time == pytest.approx(8.0) and decoded == 1


def test_only_moments_without_a_keyframe_within_reach_are_decoded_exactly(tmp_path):
    video = make_numbered_video(tmp_path / "n.mp4", 250, gop=50)  # keyframes every 2 s
    # Moments 0.625, 1.875, ..., 9.375 s; reach 0.625 s (half a slice; a twentieth of 10 s is less).
    # 3.125, 6.875 and 9.375 s have no keyframe that near: decoded from the keyframe before them to
    # the frame on screen then (frames 78, 171 and 234).
    (result, out), decoded = counting_decoded(lambda: run(video, tmp_path, "uniform", 8))
    assert [f.timestamp for f in result.frames] == [0.0, 2.0, 3.12, 4.0, 6.0, 6.84, 8.0, 9.36]
    assert_true_timestamps(result, out)
    # Five keyframes, and each exact run up to the first frame past its moment: 50-79, 150-172, 200-235.
    assert decoded == 5 + 30 + 23 + 36
