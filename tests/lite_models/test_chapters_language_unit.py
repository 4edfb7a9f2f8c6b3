"""Chapters from timed material, and the note when the asked language cannot be written."""

import json
from dataclasses import replace

import pytest

from lite_models.chapters import MAX_CHAPTERS, chapters_of
from lite_models.completions import fit_document
from lite_models.language import asked_language, detect_language, language_code, language_note
from lite_models.material import parse_material
from lite_models.summarize import seconds_of, summarise, summarise_material

from .conftest import BREAD, ROCKETS, TRANSCRIPT_MATERIAL


def clock(seconds: int) -> str:
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def timed_material(lines: list[str], step: int = 20, start: int = 0, duration: str = "04:00") -> str:
    timed = [f"[{clock(start + i * step)}] {line}" for i, line in enumerate(lines)]
    return "\n".join([f"Title: Rockets and bread\nDuration: {duration}", "", "Transcript:", *timed])


TWO_TOPICS = timed_material(ROCKETS + BREAD)  # the talk turns to bread at 02:00


def test_two_topics_make_two_chapters_cut_at_the_change():
    chapters = chapters_of(parse_material(TWO_TOPICS))
    assert [c["start"] for c in chapters][0] == "00:00" and len(chapters) == 2
    assert abs(seconds_of(chapters[1]["start"]) - 120) <= 20
    assert "rocket" in (chapters[0]["title"] + chapters[0]["summary"]).lower()
    assert "bread" in (chapters[1]["title"] + chapters[1]["summary"]).lower()
    assert chapters[0]["summary"] in " ".join(ROCKETS) and chapters[1]["summary"] in " ".join(BREAD)


def test_one_topic_is_one_chapter_from_the_start():
    chapters = chapters_of(parse_material(timed_material(ROCKETS, start=5, duration="02:00")))
    assert len(chapters) == 1 and chapters[0]["start"] == "00:00"
    assert chapters[0]["title"] and chapters[0]["summary"]


def test_a_long_talk_of_many_topics_gets_a_bounded_ordered_list():
    topics = [[f"The {word} matters here because every {word} shows {word} {other} and {word} detail."
               for other in ("colour", "shape", "size", "weight")]
              for word in (f"topic{chr(97 + i)}{chr(97 + j)}" for i in range(5) for j in range(6))]
    material = timed_material([line for topic in topics for line in topic], step=30, duration="60:00")
    chapters = chapters_of(parse_material(material))
    starts = [seconds_of(c["start"]) for c in chapters]
    assert 2 <= len(chapters) <= MAX_CHAPTERS
    assert starts[0] == 0 and starts == sorted(starts) and len(set(starts)) == len(starts)


def test_hour_long_times_are_kept():
    material = "Transcript:\n" + "\n".join(f"[1:{i:02d}:00] {line}" for i, line in enumerate(ROCKETS + BREAD))
    chapters = chapters_of(parse_material(material))
    assert chapters[0]["start"] == "00:00" and all(c["start"].startswith("1:") for c in chapters[1:])
    assert all(p.startswith("[1:") for p in summarise(material).key_points)


def test_untimed_transcript_has_no_chapters_and_the_old_document_shape():
    material = parse_material(TRANSCRIPT_MATERIAL)
    assert chapters_of(material) == []
    assert set(summarise_material(material).as_document()) == {"summary", "key_points"}


def test_frames_alone_are_cut_where_the_scene_changes():
    material = ("Frames:\n[00:00] A dark frame. On-screen text: “LANTERN”.\n"
                "[00:30] A dark frame. On-screen text: “LANTERN”.\n"
                "[01:00] A bright green field with trees and a river under a blue sky.\n"
                "[01:30] A bright green field with trees and a river under a blue sky.\n")
    chapters = chapters_of(parse_material(material))
    assert [c["start"] for c in chapters] == ["00:00", "01:00"]
    assert chapters[0]["title"] == "LANTERN"


def test_fit_document_trims_chapters_and_keeps_the_note_last():
    material = parse_material(TWO_TOPICS)
    note = "the lite text model cannot write Korean: the summary is in English"
    document = summarise_material(material).as_document() | {"chapters": chapters_of(material), "notes": [note]}
    # Room for a shortened summary and the note only: every other list item has to go.
    smallest = {"summary": " ".join(["word"] * 12), "key_points": [], "chapters": [], "notes": [note]}
    limit = len(json.dumps(smallest).split()) + 2
    content, cut = fit_document(document, limit)
    assert cut and len(content.split()) <= limit
    trimmed = json.loads(content)
    assert trimmed["notes"] == [note] and trimmed["chapters"] == [] and trimmed["key_points"] == []


@pytest.mark.parametrize(("name", "code"), [("ko", "ko"), ("Korean", "ko"), ("de", "de"), ("German", "de"),
                                            ("Deutsch", "de"), ("en-GB", "en"), ("English", "en"),
                                            ("Klingon", None)])
def test_language_codes_and_names(name, code):
    assert language_code(name) == code


def test_detects_the_material_language():
    assert detect_language(" ".join(ROCKETS)) == "en"
    assert detect_language("태양광 패널은 햇빛을 전기로 바꿉니다.") == "ko"
    assert detect_language("Die Rakete ist schnell und sie fliegt mit dem Treibstoff in den Himmel.") == "de"


@pytest.mark.parametrize("asked", ["ko", "Korean", "de"])
def test_a_language_the_material_is_not_in_gets_a_note(asked):
    note = language_note(asked_language(f"You summarise videos. Write in {asked}."), " ".join(ROCKETS))
    assert note.startswith("the lite text model cannot write ")
    assert ("Korean" if asked in ("ko", "Korean") else "German") in note and "transcript's language" in note


@pytest.mark.parametrize("asked", ["en", "English", None])
def test_no_note_when_the_language_matches_or_none_is_asked(asked):
    instructions = f"You summarise videos. Write in {asked}." if asked else "You summarise videos."
    assert language_note(asked_language(instructions), " ".join(ROCKETS)) is None


def test_korean_material_asked_for_korean_gets_no_note():
    assert language_note("Korean", "태양광 패널은 햇빛을 전기로 바꿉니다.") is None


def test_plain_text_answers_end_with_their_notes():
    summary = replace(summarise(TWO_TOPICS), notes=["the lite text model cannot write Korean"])
    assert summary.as_text().endswith("\n\nNotes:\n- the lite text model cannot write Korean")
    assert summary.as_document()["notes"] == ["the lite text model cannot write Korean"]


@pytest.mark.parametrize(("instructions", "asked"), [
    ("You summarise videos. Write in Korean.", "Korean"),
    ("Answer with JSON. Write the summary, the key points and the chapters in ko-KR.", "ko-KR"),
    ("Answer with JSON. Write your answer in de.\nThe user asks you to keep this in mind: be brief", "de"),
    ("Answer with JSON in the shape given.", None),
    ("Write each key point in one sentence.", None),
    ("Write in Brazilian Portuguese.", "Brazilian Portuguese"),
])
def test_the_asked_language_is_read_from_the_instructions(instructions, asked):
    assert asked_language(instructions) == asked
