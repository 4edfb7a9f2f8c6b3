"""Summaries of material that has frame descriptions but no transcript."""

import re

from lite_models.frames import group_observations, signature
from lite_models.material import parse_material
from lite_models.summarize import summarise

from .conftest import FRAMES_ONLY_MATERIAL, TRANSCRIPT_MATERIAL

SLIDE = "Several rows of small high-contrast horizontal strokes: it likely contains text or a slide"


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def test_parse_material_keeps_frame_times_and_duration():
    material = parse_material(FRAMES_ONLY_MATERIAL)
    assert material.duration == "00:20" and material.title == "clip"
    assert material.transcript == [] and material.prose == []
    assert len(material.frames) == len(material.frame_times) == 8
    assert material.frame_times[:3] == ["00:01", "00:03", "00:05"]
    assert parse_material("Frames:\n- A plain line with no time.\n").frame_times == [None]


def test_frames_only_summary_says_each_thing_once():
    summary = summarise(FRAMES_ONLY_MATERIAL)
    text = summary.summary
    assert text.startswith("“clip” (0:20) has no transcript, so this summary comes from 8 frame descriptions.")
    assert text.count("No faces detected") == 1 and text.count("1280×720") == 1
    assert "Dominant colours: purple, cyan, red, yellow." in text and "%" not in text
    assert "In all 8 frames: a bright, high-contrast, sharp 1280×720 landscape frame." in text
    assert "Around 00:05 and 00:12: several rows of small" in text
    sentences = _sentences(text)
    assert len(sentences) == len(set(sentences))


def test_frames_only_key_points_are_distinct_observations():
    points = summarise(FRAMES_ONLY_MATERIAL).key_points
    assert 3 <= len(points) <= 6 and len(set(points)) == len(points)
    assert sum("No faces detected" in p for p in points) == 1
    assert "No faces detected (all 8 frames)." in points
    assert f"{SLIDE} (00:05 and 00:12)." in points
    assert not any("%" in p for p in points)


def test_near_duplicates_are_grouped_whatever_the_wording():
    observations, total = group_observations([
        "A man in a blue shirt stands in a kitchen, talking to the camera. No faces are hidden.",
        "The man in the blue shirt stands in the kitchen talking to the camera. He holds spaghetti.",
        "Close-up of spaghetti dropped into boiling water.",
    ])
    assert total == 3
    assert [o.frames for o in observations] == [[0, 1], [0], [1], [2]]
    assert signature("No faces detected.") != signature("One face detected.")
    assert signature("Two faces detected.") != signature("One face detected.")


def test_frames_only_without_times_counts_frames():
    summary = summarise("Frames:\nA dark frame with a red logo.\nA dark frame with a red logo.\n"
                        "A bright frame. One face detected, in the centre.\n")
    assert summary.summary.startswith("This video has no transcript, so this summary comes from 3 frame")
    assert summary.summary.count("red logo") == 1
    assert "A dark frame with a red logo (most frames)." in summary.key_points
    assert "One face detected, in the centre (one frame)." in summary.key_points


def test_frames_only_is_deterministic_and_a_transcript_still_leads():
    assert summarise(FRAMES_ONLY_MATERIAL) == summarise(FRAMES_ONLY_MATERIAL)
    with_transcript = summarise(TRANSCRIPT_MATERIAL)
    assert "no transcript" not in with_transcript.summary
    assert with_transcript.summary.startswith("“How solar panels work” — ")
