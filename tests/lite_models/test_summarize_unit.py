"""Pure functions of the text side: reading the material, ranking, the summary and its shapes."""

import json

from lite_models.completions import fit_document, truncate_words
from lite_models.material import parse_material, split_sentences
from lite_models.summarize import EMPTY_SUMMARY, rank, summarise

from .conftest import TRANSCRIPT_MATERIAL

CENTRAL = "Solar panels turn sunlight into electricity using photovoltaic cells made of silicon."


def test_parse_material_sections():
    material = parse_material(TRANSCRIPT_MATERIAL)
    assert material.title == "How solar panels work"
    assert CENTRAL in material.transcript
    assert not any("Duration" in s or "Channel" in s or s.endswith(":") for s in material.transcript)
    assert len(material.frames) == 2 and not material.frames[0].startswith("[")


def test_split_sentences_handles_punctuation_and_abbreviations():
    text = ["Is this working? Yes! It is, e.g. in tests.", "", "A line without an end", "Next line."]
    assert split_sentences(text) == ["Is this working?", "Yes!", "It is, e.g. in tests.",
                                     "A line without an end", "Next line."]


def test_unpunctuated_captions_become_readable_units():
    captions = ["so today we talk about rockets and how they work", "the engine burns fuel and oxidiser",
                "then the rocket climbs into space", "and the payload reaches orbit"] * 5
    units = split_sentences(captions)
    assert len(units) > 3
    assert all(5 <= len(u.split()) <= 45 for u in units)


def test_rank_puts_the_central_sentence_first_and_drops_duplicates():
    sentences = ["Rockets burn fuel to climb.", "The rocket engine burns fuel and oxygen to climb.",
                 "Rockets burn fuel to climb.", "My dog likes cheese."]
    order = rank(sentences)
    assert order[0] in (0, 1)
    assert 2 not in order  # exact duplicate of sentence 0
    assert order[-1] == 3


def test_summary_prefers_central_transcript_sentences():
    summary = summarise(TRANSCRIPT_MATERIAL)
    assert summary.summary.startswith("“How solar panels work” — ")
    assert CENTRAL in summary.summary
    assert "cat" not in summary.summary
    assert 3 <= len(summary.key_points) <= 6
    assert len(set(summary.key_points)) == len(summary.key_points)
    transcript = parse_material(TRANSCRIPT_MATERIAL).transcript
    assert all(point in transcript for point in summary.key_points)


def test_frames_only_material_is_summarised_from_frames():
    summary = summarise("Frames:\n[00:01] A dark frame with a red logo.\n[00:09] A bright slide with text.\n")
    assert "red logo" in summary.summary and "Dominant" not in summary.summary


def test_empty_material():
    for text in ("", "   \n", "Title: Something\nDuration: 00:10\nTranscript:\n"):
        summary = summarise(text)
        assert summary.summary == EMPTY_SUMMARY and summary.key_points == []


def test_text_and_document_shapes():
    summary = summarise(TRANSCRIPT_MATERIAL)
    text = summary.as_text()
    assert text.startswith(summary.summary + "\n\nKey points:\n- ")
    assert json.loads(json.dumps(summary.as_document())) == {"summary": summary.summary,
                                                             "key_points": summary.key_points}


def test_truncation_helpers_keep_json_valid():
    assert truncate_words("one two three four", 2) == ("one two", True)
    assert truncate_words("one two", 5) == ("one two", False)
    content, cut = fit_document({"summary": "word " * 50, "key_points": ["a b c"] * 5}, 20)
    assert cut and len(content.split()) <= 20
    assert set(json.loads(content)) == {"summary", "key_points"}


KOREAN_TRANSCRIPT = """Title: 태양광
Transcript:
[00:05] 안녕하세요. 오늘은 태양광 패널이 작동하는 원리를 이야기합니다.
[00:12] 태양광 패널은 햇빛을 전기로 바꿉니다. 실리콘 셀이 햇빛을 받으면 전자를 방출합니다!
[00:20] 전자는 전선을 따라 직류 전기로 흐릅니다
[00:31] 인버터는 태양광 패널의 직류를 교류 전기로 바꿉니다.
[00:40] 흐린 날에도 태양광 패널은 전기를 조금 만듭니다.
[01:10] 시청해 주셔서 감사합니다.
"""


def test_korean_and_cjk_sentences_split():
    units = split_sentences(["안녕하세요. 오늘은 날씨가 좋네요! 정말 그런가요? 네 그렇습니다",
                             "这是中文。第二句！第三句？"])
    assert units == ["안녕하세요.", "오늘은 날씨가 좋네요!", "정말 그런가요?", "네 그렇습니다",
                     "这是中文。", "第二句！", "第三句？"]


def test_unpunctuated_korean_lines_end_at_verb_endings():
    assert split_sentences(["전자는 전선을 따라 흐릅니다", "인버터가 전기를 바꿔요"]) == [
        "전자는 전선을 따라 흐릅니다", "인버터가 전기를 바꿔요"]


def test_transcript_sentences_keep_their_line_times():
    material = parse_material(KOREAN_TRANSCRIPT)
    times = dict(zip(material.transcript, material.transcript_times, strict=True))
    assert times["실리콘 셀이 햇빛을 받으면 전자를 방출합니다!"] == "00:12"
    assert times["인버터는 태양광 패널의 직류를 교류 전기로 바꿉니다."] == "00:31"


def test_korean_summary_has_timed_points_in_order():
    summary = summarise(KOREAN_TRANSCRIPT)
    assert "태양광 패널" in summary.summary
    stamps = [point[1:6] for point in summary.key_points]
    assert all(point.startswith("[") for point in summary.key_points)
    assert stamps == sorted(stamps)


def test_frame_lines_give_times_to_points_and_untimed_prose_goes_last():
    material = ("Transcript:\n[01:05] The rocket engine burns fuel and oxidiser to climb.\n"
                "[00:10] Rockets climb because the engine burns fuel quickly.\n"
                "Frames:\n[00:30] A launch pad with a rocket and engine smoke.\n")
    points = summarise(material).key_points
    assert [p[:7] for p in points] == ["[00:10]", "[00:30]", "[01:05]"]


def test_part_summaries_headed_with_time_ranges_keep_their_start_and_lose_the_range():
    """A long transcript reaches the text model as part summaries headed "[00:00–05:00]"."""
    material = parse_material("Title: Long talk\n\nTranscript:\n"
                              "[00:00–05:00] The talk opens with the history of the harbour.\n"
                              "[05:00–10:00] Then the speaker explains how the new lighthouse works.\n")
    assert material.transcript_times[:2] == ["00:00", "05:00"]
    assert not any("05:00]" in unit or "–" in unit for unit in material.transcript)
